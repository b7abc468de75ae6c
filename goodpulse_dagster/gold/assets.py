"""Gold: customer-level tables in the DuckDB warehouse (schema ``gold``), per METRICS.md.

Thin wrappers: load silver (every quarter) and gold inputs, call the pure transforms in
``gold/transforms.py`` with the ``analytics`` settings, attach schema and row-count metadata.
"""

from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    MetadataValue,
    Output,
    ResourceParam,
    asset,
    multi_asset,
)

from goodpulse_dagster.asset_conventions import (
    DUCKDB_POOL,
    PREVIEW_ROWS,
    frame_to_markdown,
    warehouse_asset_args,
    warehouse_asset_out,
    warehouse_output,
)
from goodpulse_dagster.gold.transforms import (
    SEGMENTATION_INPUT_COLUMNS,
    build_cohort_retention,
    build_customer_segmentation,
    create_customer_tables,
)
from goodpulse_dagster.resources.lake_data import LakeDataset
from goodpulse_dagster.resources.storage import AnalyticsSettings, ReportsResource
from goodpulse_dagster.resources.warehouse import (
    RELATION_INPUT,
    InPlace,
    WarehouseResource,
)
from goodpulse_dagster.retries import STEP_RETRY_POLICY, user_errors_fail_fast
from goodpulse_dagster.run_trust import DependencyGraph, guard_upstream_checks
from goodpulse_dagster.schema import (
    GOLD,
    SILVER,
)
from goodpulse_dagster.sql_helpers import decimals_to_float

CODE_VERSION = "2"  # 2: cohort_retention.is_complete (issue 20)
# A lake dataset scanned by DuckDB in place: the transforms read a few of its columns
# (resources/parquet_io.py).
LIFECYCLE = AssetIn(key=AssetKey([SILVER, "unified_user_lifecycle"]))
CUSTOMER_360_KEY = AssetKey([GOLD, "customer_360"])


def _gold_asset(name: str, ins: dict[str, AssetIn], build):
    @asset(
        name=name,
        ins=ins,
        code_version=CODE_VERSION,
        **warehouse_asset_args(GOLD),
    )
    def _gold(
        context: AssetExecutionContext,
        analytics: AnalyticsSettings,
        reports: ReportsResource,
        dependency_graph: ResourceParam[DependencyGraph],
        warehouse: WarehouseResource,
        **inputs,
    ) -> Output:
        with user_errors_fail_fast():
            guard_upstream_checks(context, reports.directory, dependency_graph)
            with warehouse.engine():
                return warehouse_output(build(analytics.params(), **inputs))

    return _gold


CUSTOMER_TABLES_OP = "gold__customer_tables"
CUSTOMER_TABLES = ("customer_360", "customer_unified_lifecycle")
CUSTOMER_TABLE_INPUTS = {
    "lifecycle": LIFECYCLE,
    "closed_deals": AssetIn(key=AssetKey([SILVER, "closed_deals"])),
    "leads": AssetIn(key=AssetKey([SILVER, "marketing_qualified_leads"])),
    "sellers": AssetIn(key=AssetKey([SILVER, "sellers"])),
}


def _customer_table_out(name: str) -> AssetOut:
    return warehouse_asset_out(GOLD, CODE_VERSION)


@multi_asset(
    name=CUSTOMER_TABLES_OP,
    outs={name: _customer_table_out(name) for name in CUSTOMER_TABLES},
    ins=CUSTOMER_TABLE_INPUTS,
    # The lineage METRICS.md gives: customer_unified_lifecycle is customer_360 joined with the
    # first-order context (sellers for the first seller's state).
    internal_asset_deps={
        "customer_360": {
            CUSTOMER_TABLE_INPUTS[arg].key for arg in ("lifecycle", "closed_deals", "leads")
        },
        "customer_unified_lifecycle": {
            CUSTOMER_360_KEY,
            LIFECYCLE.key,
            CUSTOMER_TABLE_INPUTS["sellers"].key,
        },
    },
    # Each table is its own asset (materialized, checked and shown on its own), but one query
    # computes both (gold/transforms.build_customer_tables): as two steps, the second recomputed
    # every customer's first order and loaded customer_360 back from the warehouse.
    can_subset=True,
    pool=DUCKDB_POOL,
    retry_policy=STEP_RETRY_POLICY,
    group_name=GOLD,
)
def customer_tables(
    context: AssetExecutionContext,
    analytics: AnalyticsSettings,
    reports: ReportsResource,
    dependency_graph: ResourceParam[DependencyGraph],
    warehouse: WarehouseResource,
    lifecycle,
    closed_deals: LakeDataset,
    leads: LakeDataset,
    sellers: LakeDataset,
):
    with user_errors_fail_fast():
        guard_upstream_checks(context, reports.directory, dependency_graph)
        # Written in the warehouse itself: a customer-grain table never passes through Python.
        with warehouse.engine():
            rows = create_customer_tables(
                lifecycle, closed_deals, leads, sellers, analytics.params()
            )
            previews = {
                name: decimals_to_float(warehouse.first_customers(f"{GOLD}.{name}", PREVIEW_ROWS))
                for name in CUSTOMER_TABLES
            }
    for name in CUSTOMER_TABLES:
        if AssetKey([GOLD, name]) in context.selected_asset_keys:
            yield Output(
                InPlace(rows[name]),
                output_name=name,
                metadata={
                    "dagster/row_count": rows[name],
                    "preview": MetadataValue.md(
                        frame_to_markdown(previews[name], total_rows=rows[name])
                    ),
                },
            )


gold_assets = [
    customer_tables,
    _gold_asset(
        "customer_segmentation",
        {
            # Read in the warehouse, only the columns it uses (docs/performance.md).
            "customer_360": AssetIn(
                key=CUSTOMER_360_KEY,
                metadata={**RELATION_INPUT, "columns": list(SEGMENTATION_INPUT_COLUMNS)},
            )
        },
        lambda params, customer_360: build_customer_segmentation(customer_360),
    ),
    _gold_asset(
        "cohort_retention",
        {"lifecycle": LIFECYCLE},
        lambda params, lifecycle: build_cohort_retention(lifecycle, params),
    ),
]
