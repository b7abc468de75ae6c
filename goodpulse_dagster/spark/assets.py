"""The Spark implementations of the assets GOODPULSE_ENGINE=spark swaps in (docs/scale-out.md).

Same keys, groups, partitions, descriptions and column schemas as the DuckDB assets: each spec is
taken from the DuckDB asset (``spark_specs``), with the kind ``spark`` added, so a table is
described in one place (schema/ and asset_conventions.document_table_assets). The assets depend
on their upstream keys with ``deps``: Spark reads the lake paths itself, no IO manager loads
anything into Python.

- ``unified_user_lifecycle``: partitioned by quarter; reads the DuckDB-written silver objects of
  the run's quarters, runs ``models/silver/unified_user_lifecycle.sql`` on Spark, writes Hive
  folders ``_partition=<quarter>/`` with dynamic partition overwrite (a re-run of a quarter
  replaces that quarter only: spark/runner.write_parquet).
- gold, KPI and prediction tables: ``layers.SparkBuild``'s steps, one Dagster step per layer,
  each table a Parquet dataset ``<lake>/<layer>/<table>/`` (overwritten) and then a view in the
  DuckDB warehouse over it (spark/views.py), which the report, ``goodpulse kpis``, the UI and the
  IO manager's loads (the report, the churn monitor's check) read as a table.

``as_of`` stays DuckDB: its two-column SQL (gold/as_of.py, with the mistyped-date guard) runs over
the Spark-written lifecycle's Hive layout (``spark.lake.lifecycle_relation``).
"""

from collections.abc import Iterable, Iterator, Sequence

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    multi_asset,
)

from goodpulse_dagster.asset_conventions import (
    DUCKDB_POOL,
    LAKE_IO_MANAGER,
    WAREHOUSE_IO_MANAGER,
    single_run_backfills_allowed,
)
from goodpulse_dagster.gold.assets import gold_assets
from goodpulse_dagster.kpi.assets import kpi_assets
from goodpulse_dagster.predictions.assets import prediction_assets
from goodpulse_dagster.resources.storage import AnalyticsSettings, LakeResource, ReportsResource
from goodpulse_dagster.resources.warehouse import WarehouseResource, shared_connection
from goodpulse_dagster.retries import STEP_RETRY_POLICY, user_errors_fail_fast
from goodpulse_dagster.run_trust import DependencyGraph, guard_upstream_checks
from goodpulse_dagster.schema import (
    GOLD,
    LIFECYCLE,
    PARTITION_COLUMN,
    SILVER,
    silver_table_columns,
)
from goodpulse_dagster.silver.assets import silver_assets
from goodpulse_dagster.silver.cleaning import LIFECYCLE_INPUTS, LIFECYCLE_STEPS
from goodpulse_dagster.spark.lake import (
    lake_root,
    lifecycle_folder,
    lifecycle_relation,
    silver_objects,
)
from goodpulse_dagster.spark.layers import SILVER_INPUTS, SparkBuild
from goodpulse_dagster.spark.runner import run_model_on_spark
from goodpulse_dagster.spark.session import SparkConnectResource
from goodpulse_dagster.spark.views import create_view

SPARK_KIND = "spark"
# The resource key of the Spark Connect session (definitions.py registers it with engine=spark).
SPARK_RESOURCE = "spark"
LIFECYCLE_KEY = AssetKey([SILVER, LIFECYCLE])


def spark_specs(assets_defs: Iterable, io_manager_key: str) -> list[AssetSpec]:
    """The specs of the DuckDB assets ``assets_defs``, kind ``spark`` added; ``io_manager_key``
    is the one downstream loads go through (the warehouse's views, or the lake)."""
    return [
        spec.merge_attributes(kinds={SPARK_KIND}).with_io_manager_key(io_manager_key)
        for assets_def in assets_defs
        for spec in assets_def.specs
    ]


# --- silver unified_user_lifecycle ---------------------------------------------------------------

_DUCKDB_LIFECYCLE = [a for a in silver_assets if LIFECYCLE_KEY in a.keys]

with single_run_backfills_allowed():

    @multi_asset(
        name="silver__unified_user_lifecycle",
        specs=spark_specs(_DUCKDB_LIFECYCLE, LAKE_IO_MANAGER),
        backfill_policy=BackfillPolicy.single_run(),
        retry_policy=STEP_RETRY_POLICY,
    )
    def spark_unified_user_lifecycle(
        context: AssetExecutionContext, lake: LakeResource, spark: SparkConnectResource
    ) -> MaterializeResult:
        keys = sorted(context.partition_keys)
        inputs = {
            view: silver_objects(lake, table, keys) for view, table in LIFECYCLE_INPUTS.items()
        }
        folder = lifecycle_folder(lake)
        written = run_model_on_spark(
            spark.session,
            "silver/unified_user_lifecycle",
            inputs,
            output_path=folder,
            partition_by=[PARTITION_COLUMN],
            columns=silver_table_columns(LIFECYCLE),
            steps=LIFECYCLE_STEPS,
        )
        quarters = ", ".join(f"DATE '{k}'" for k in keys)
        rows = written.where(f"{PARTITION_COLUMN} IN ({quarters})").count()
        return MaterializeResult(
            metadata={"dagster/row_count": rows, "lake_uri": MetadataValue.path(folder)}
        )


# --- gold, KPI and predictions -------------------------------------------------------------------


def _open_build(spark, lake: LakeResource, analytics: AnalyticsSettings) -> SparkBuild:
    """A SparkBuild over the lake: the Spark-written lifecycle, the DuckDB-written dimensions."""
    silver = {
        table: lifecycle_folder(lake) if table == LIFECYCLE else silver_objects(lake, table, [])
        for table in SILVER_INPUTS.values()
    }
    return SparkBuild(
        spark, silver, lake_root(lake), analytics.params(), as_of_input=lifecycle_relation(lake)
    )


def _results(
    build: SparkBuild, warehouse: WarehouseResource, keys: Sequence[AssetKey]
) -> Iterator[MaterializeResult]:
    """A view in the warehouse over each table ``build`` wrote, and its materialization."""
    connection = shared_connection(warehouse.database)
    for key in keys:
        layer, table = key.path
        path = build.written[(layer, table)]
        create_view(connection, layer, table, path)
        metadata = {
            "dagster/row_count": build.rows[(layer, table)],
            "dagster/table_name": f"{layer}.{table}",
            "lake_uri": MetadataValue.path(path),
        }
        if table == "customer_predictions" and build.fit is not None:
            # What predictions/checks.py's fit_converged reads, as on DuckDB.
            metadata.update({**build.fit.metadata(), "model_as_of": build.fit.cut.isoformat()})
        yield MaterializeResult(asset_key=key, metadata=metadata)


def _spark_layer(name: str, assets_defs: Iterable, run, reads: Sequence[tuple[str, str]] = ()):
    """One Dagster step that runs ``run(build)`` (a SparkBuild method) for the tables of
    ``assets_defs``, after reading the tables ``reads`` an earlier step wrote."""
    specs = spark_specs(assets_defs, WAREHOUSE_IO_MANAGER)

    @multi_asset(name=name, specs=specs, pool=DUCKDB_POOL, retry_policy=STEP_RETRY_POLICY)
    def _layer(
        context: AssetExecutionContext,
        analytics: AnalyticsSettings,
        reports: ReportsResource,
        dependency_graph: ResourceParam[DependencyGraph],
        warehouse: WarehouseResource,
        lake: LakeResource,
        spark: SparkConnectResource,
    ):
        with user_errors_fail_fast():
            guard_upstream_checks(context, reports.directory, dependency_graph)
            build = _open_build(spark.session, lake, analytics)
        try:
            for layer, table in reads:
                build.use_written(layer, table)
            run(build)
        finally:
            build.close()
        yield from _results(build, warehouse, [spec.key for spec in specs])

    return _layer


spark_gold = _spark_layer("gold__spark", gold_assets, SparkBuild.gold)
spark_kpis = _spark_layer(
    "kpi__spark", kpi_assets, SparkBuild.kpis, [(GOLD, "customer_360"), (GOLD, "cohort_retention")]
)
spark_predictions = _spark_layer(
    "predictions__spark", prediction_assets, SparkBuild.predictions, [(GOLD, "customer_360")]
)

# The DuckDB assets these replace, by key, and their replacements.
SPARK_ASSETS = [spark_unified_user_lifecycle, spark_gold, spark_kpis, spark_predictions]
SPARK_KEYS = {key for assets_def in SPARK_ASSETS for key in assets_def.keys}


def with_spark_assets(assets: Sequence) -> list:
    """``assets`` with every DuckDB asset Spark implements replaced, in the same place."""
    out: list = []
    for assets_def in assets:
        # An AssetSpec (the raw files) has one key, an AssetsDefinition several.
        keys = {assets_def.key} if isinstance(assets_def, AssetSpec) else set(assets_def.keys)
        if not keys & SPARK_KEYS:
            out.append(assets_def)
            continue
        # The first DuckDB asset of a Spark step stands for it; the others are dropped.
        for spark_def in SPARK_ASSETS:
            if set(spark_def.keys) & keys and spark_def not in out:
                out.append(spark_def)
    return out
