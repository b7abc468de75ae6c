"""KPI: the tables behind the executive report, in the warehouse (schema ``kpi``), per METRICS.md.

Each materialization carries its headline numbers as numeric metadata (so the UI plots them across
runs), a Markdown preview and, where the report has one, the table's chart.
"""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    MetadataValue,
    Output,
    ResourceParam,
    multi_asset,
)

from goodpulse_dagster.asset_conventions import DUCKDB_POOL, frame_to_markdown, warehouse_asset_out
from goodpulse_dagster.kpi.transforms import (
    KPI_CUSTOMER_360_COLUMNS,
    KPI_INPUTS,
    build_kpi,
    headline_metrics,
)
from goodpulse_dagster.report import (
    kpi_chart_markdown,
)
from goodpulse_dagster.resources.storage import AnalyticsSettings, ReportsResource
from goodpulse_dagster.resources.warehouse import (
    ARROW_INPUT,
    RELATION_INPUT,
    WarehouseResource,
)
from goodpulse_dagster.retries import STEP_RETRY_POLICY, user_errors_fail_fast
from goodpulse_dagster.run_trust import DependencyGraph, guard_upstream_checks
from goodpulse_dagster.schema import (
    GOLD,
    KPI,
    KPI_TABLES,
    SILVER,
)
from goodpulse_dagster.sql_helpers import decimals_to_float

CODE_VERSION = "2"  # 2: is_complete, complete periods only (issue 20)

# Where each transform input comes from.
INPUT_ASSETS = {
    "customer_360": AssetKey([GOLD, "customer_360"]),
    "lifecycle": AssetKey([SILVER, "unified_user_lifecycle"]),
    "cohort_retention": AssetKey([GOLD, "cohort_retention"]),
}
# How each is loaded: customer_360 left in the warehouse (the columns the KPI queries read), the
# small cohort table as Arrow, the silver lifecycle as a lake dataset that DuckDB scans in
# place; the step runs its queries in the warehouse (``WarehouseResource.engine``).
INPUT_METADATA = {
    "customer_360": {**RELATION_INPUT, "columns": list(KPI_CUSTOMER_360_COLUMNS)},
    "lifecycle": {},
    "cohort_retention": ARROW_INPUT,
}


KPI_OP = "kpi__tables"


def _kpi_out(name: str) -> AssetOut:
    return warehouse_asset_out(KPI, CODE_VERSION)


def _kpi_output(name: str, frame: pd.DataFrame) -> Output:
    # The stored frame keeps exact money (DECIMAL); its headlines, preview and chart are drawn
    # from a float copy (presentation only).
    shown = decimals_to_float(frame)
    metadata = {
        key: MetadataValue.float(float(value))
        for key, value in headline_metrics(name, shown).items()
    }
    metadata["dagster/row_count"] = len(frame)
    metadata["preview"] = MetadataValue.md(frame_to_markdown(shown))
    chart = kpi_chart_markdown(name, shown)
    if chart:
        metadata["chart"] = MetadataValue.md(chart)
    return Output(frame, output_name=name, metadata=metadata)


@multi_asset(
    name=KPI_OP,
    outs={name: _kpi_out(name) for name in KPI_TABLES},
    ins={arg: AssetIn(key=key, metadata=INPUT_METADATA[arg]) for arg, key in INPUT_ASSETS.items()},
    # The lineage of each table: only the inputs its transform reads.
    internal_asset_deps={
        name: {INPUT_ASSETS[arg] for arg in KPI_INPUTS[name] if arg != "params"}
        for name in KPI_TABLES
    },
    # Each KPI table is its own asset (materialized, checked and shown on its own); a run of
    # several computes them in one step that loads customer_360 and the cohorts once. As twelve
    # steps, each loaded its inputs again: ~0.3 s per load of customer_360 at 1M customers, plus
    # Dagster's per-step cost (docs/performance.md).
    can_subset=True,
    pool=DUCKDB_POOL,
    retry_policy=STEP_RETRY_POLICY,
    group_name=KPI,
)
def kpi_tables(
    context: AssetExecutionContext,
    analytics: AnalyticsSettings,
    reports: ReportsResource,
    dependency_graph: ResourceParam[DependencyGraph],
    warehouse: WarehouseResource,
    customer_360,
    lifecycle,
    cohort_retention,
):
    with user_errors_fail_fast():
        guard_upstream_checks(context, reports.directory, dependency_graph)
        loaded = {
            "customer_360": customer_360,
            "lifecycle": lifecycle,
            "cohort_retention": cohort_retention,
            "params": analytics.params(),
        }
        with warehouse.engine():
            frames = {
                name: build_kpi(name, **{arg: loaded[arg] for arg in KPI_INPUTS[name]})
                for name in KPI_TABLES
                if AssetKey([KPI, name]) in context.selected_asset_keys
            }
    for name, frame in frames.items():
        yield _kpi_output(name, frame)


kpi_assets = [kpi_tables]
