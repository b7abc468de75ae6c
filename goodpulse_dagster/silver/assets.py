"""Silver: cleaned, deduplicated, standardised tables and ``unified_user_lifecycle``.

Each asset gets its bronze table (and the silver dimensions it checks references against) as
lake datasets, calls a pure transform from ``silver/cleaning.py`` that DuckDB runs from those
files to Parquet files (``LakeOutput``), publishes what it rejected to the quarantine, and
attaches the counts that reconcile it with bronze. No table is read into Python.
"""

from collections.abc import Callable
from datetime import datetime

from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    BackfillPolicy,
    Output,
    asset,
)

from goodpulse_dagster.asset_conventions import (
    LAKE_IO_MANAGER,
    LAKE_KIND,
    OWNERS,
    profile_metadata,
    single_run_backfills_allowed,
)
from goodpulse_dagster.partitions import quarterly_partitions
from goodpulse_dagster.resources.lake_data import LakeDataset
from goodpulse_dagster.resources.storage import AnalyticsSettings, LakeResource
from goodpulse_dagster.retries import STEP_RETRY_POLICY, user_errors_fail_fast
from goodpulse_dagster.schema import (
    BRONZE,
    SILVER,
    SOURCE_TABLES,
    silver_inputs,
    silver_references,
)
from goodpulse_dagster.silver.cleaning import (
    LIFECYCLE_INPUTS,
    CleanResult,
    clean_geolocation,
    clean_order_reviews,
    clean_products,
    clean_source,
    write_unified_user_lifecycle,
)

CODE_VERSION = "1"

# (bronze rows, parents by name, now, params, output: the Cleaner's folder and partition keys).
Transform = Callable[..., CleanResult]


def _generic(table_name: str) -> Transform:
    def transform(bronze_rows, parents, now, params, **output):
        refs = {
            col: (parent, parents[parent]) for col, parent in silver_references(table_name).items()
        }
        return clean_source(table_name, bronze_rows, now, refs, params, **output)

    return transform


TRANSFORMS: dict[str, tuple[Transform, tuple[str, ...]]] = {
    name: (_generic(name), silver_inputs(name)) for name in SOURCE_TABLES
}
TRANSFORMS["order_reviews"] = (
    lambda b, _p, now, _params, **out: clean_order_reviews(b, now, **out),
    (),
)
TRANSFORMS["geolocation"] = (
    lambda b, _p, now, _params, **out: clean_geolocation(b, now, **out),
    (),
)
TRANSFORMS["products"] = (
    lambda b, p, now, params, **out: clean_products(
        b, p["category_translation"], now, params, **out
    ),
    silver_inputs("products"),
)


def _output_target(context: AssetExecutionContext, lake: LakeResource, table_name: str) -> dict:
    """Where a silver step's files go: its scratch folder, one file per partition key of the run
    (none for a dimension)."""
    partitioned = context.assets_def.partitions_def is not None
    return {
        "folder": lake.output_folder(context.run.run_id, SILVER, table_name),
        "partition_keys": sorted(context.partition_keys) if partitioned else None,
    }


def _silver_lake_asset(name: str, ins: dict[str, AssetIn], partitioned: bool):
    """The ``@asset`` decorator of a silver table: stored in the lake, one run per backfill when
    it is partitioned by quarter."""
    return asset(
        name=name,
        key_prefix=[SILVER],
        group_name=SILVER,
        ins=ins,
        partitions_def=quarterly_partitions if partitioned else None,
        backfill_policy=BackfillPolicy.single_run() if partitioned else None,
        io_manager_key=LAKE_IO_MANAGER,
        kinds={"duckdb", LAKE_KIND},
        owners=OWNERS,
        code_version=CODE_VERSION,
        tags={"layer": SILVER},
        # It reads and writes the lake: transient S3 errors are retried.
        retry_policy=STEP_RETRY_POLICY,
    )


def build_silver_asset(table_name: str):
    table = SOURCE_TABLES[table_name]
    transform, parents = TRANSFORMS[table_name]
    ins = {"bronze_rows": AssetIn(key=AssetKey([BRONZE, table_name]))}
    # Parent tables are only looked up: DuckDB reads just their key column.
    ins.update({parent: AssetIn(key=AssetKey([SILVER, parent])) for parent in parents})

    @_silver_lake_asset(table_name, ins, table.partitioned)
    def _silver(
        context: AssetExecutionContext,
        lake: LakeResource,
        analytics: AnalyticsSettings,
        **inputs,
    ):
        bronze_rows = inputs.pop("bronze_rows")
        now = datetime.now().replace(microsecond=0)
        with user_errors_fail_fast():
            result = transform(
                bronze_rows,
                inputs,
                now,
                analytics.params(),
                **_output_target(context, lake, table_name),
            )
        # One quarantine object per partition (or one for a dimension), replaced on every run.
        quarantine_uri = lake.publish_quarantine(table_name, SILVER, result.quarantine_output)
        metadata = profile_metadata(result.output, context.asset_key)
        metadata.update({f"rows_{k}": int(v) for k, v in result.counts.items()})
        metadata["quarantine_uri"] = quarantine_uri
        return Output(result.output, metadata=metadata)

    return _silver


def build_unified_user_lifecycle_asset():
    # Lake datasets that the one DuckDB query scans in place (only the columns it uses are
    # read) and COPYs to Parquet: none of the six tables is held in Python.
    ins = {arg: AssetIn(key=AssetKey([SILVER, t])) for arg, t in LIFECYCLE_INPUTS.items()}

    @_silver_lake_asset("unified_user_lifecycle", ins, partitioned=True)
    def unified_user_lifecycle(
        context: AssetExecutionContext,
        lake: LakeResource,
        orders: LakeDataset,
        customers: LakeDataset,
        items: LakeDataset,
        payments: LakeDataset,
        reviews: LakeDataset,
        products: LakeDataset,
    ):
        # Out of the memory budget is a setting to change, not a transient error to retry.
        with user_errors_fail_fast():
            output = write_unified_user_lifecycle(
                orders,
                customers,
                items,
                payments,
                reviews,
                products,
                **_output_target(context, lake, "unified_user_lifecycle"),
            )
        return Output(output, metadata=profile_metadata(output, context.asset_key))

    return unified_user_lifecycle


with single_run_backfills_allowed():
    silver_assets = [build_silver_asset(name) for name in SOURCE_TABLES]
    silver_assets.append(build_unified_user_lifecycle_asset())
