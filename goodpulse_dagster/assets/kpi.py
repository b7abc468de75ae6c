"""KPI: the tables behind the executive report, in the warehouse (schema ``kpi``), per METRICS.md.

Each materialization carries its headline numbers as numeric metadata (so the UI plots them across
runs), a Markdown preview and, where the report has one, the table's chart.
"""

import math

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    MetadataValue,
    Output,
    multi_asset,
)

from goodpulse_dagster.assets.common import DUCKDB_POOL, frame_to_markdown, warehouse_asset_out
from goodpulse_dagster.report import (
    kpi_chart_markdown,
    prediction_chart_markdown,
    prediction_section_markdown,
)
from goodpulse_dagster.resources.parquet_io import DATASET_INPUT
from goodpulse_dagster.resources.storage import AnalyticsSettings, ReportsResource
from goodpulse_dagster.resources.warehouse import ARROW_INPUT
from goodpulse_dagster.retries import STEP_RETRY_POLICY, user_errors_fail_fast
from goodpulse_dagster.run_trust import guard_upstream_checks
from goodpulse_dagster.schema import (
    GOLD,
    KPI,
    KPI_TABLES,
    PREDICTION_KPI_TABLES,
    SILVER,
)
from goodpulse_dagster.transforms.kpi import (
    KPI_CUSTOMER_360_COLUMNS,
    KPI_INPUTS,
    build_kpi,
    headline_metrics,
)
from goodpulse_dagster.transforms.predictions import (
    EARLY_WARNING_CUSTOMER_360_COLUMNS,
    build_churn_risk_monitor,
    build_early_warning,
    build_prediction_backtest,
    high_risk_revenue_rise,
)
from goodpulse_dagster.transforms.sql import decimals_to_float

CODE_VERSION = "2"  # 2: is_complete, complete periods only (issue 20)

# Where each transform input comes from.
INPUT_ASSETS = {
    "customer_360": AssetKey([GOLD, "customer_360"]),
    "lifecycle": AssetKey([SILVER, "unified_user_lifecycle"]),
    "cohort_retention": AssetKey([GOLD, "cohort_retention"]),
}
# How each is loaded: gold tables as Arrow (customer_360 only the columns the KPI queries read),
# the silver lifecycle as a Parquet dataset that DuckDB scans in place (the transforms query all
# of them with DuckDB).
INPUT_METADATA = {
    "customer_360": {**ARROW_INPUT, "columns": list(KPI_CUSTOMER_360_COLUMNS)},
    "lifecycle": DATASET_INPUT,
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
    customer_360,
    lifecycle,
    cohort_retention,
):
    with user_errors_fail_fast():
        guard_upstream_checks(context, reports.directory)
        loaded = {
            "customer_360": customer_360,
            "lifecycle": lifecycle,
            "cohort_retention": cohort_retention,
            "params": analytics.params(),
        }
        frames = {
            name: build_kpi(name, **{arg: loaded[arg] for arg in KPI_INPUTS[name]})
            for name in KPI_TABLES
            if AssetKey([KPI, name]) in context.selected_asset_keys
        }
    for name, frame in frames.items():
        yield _kpi_output(name, frame)


# --- Predictions (issue 19) ----------------------------------------------------------------------

PREDICTION_INPUTS = {
    "customer_predictions": AssetIn(
        key=AssetKey([GOLD, "customer_predictions"]), metadata=ARROW_INPUT
    ),
    "customer_360": AssetIn(
        key=INPUT_ASSETS["customer_360"],
        metadata={**ARROW_INPUT, "columns": list(EARLY_WARNING_CUSTOMER_360_COLUMNS)},
    ),
    "lifecycle": AssetIn(key=INPUT_ASSETS["lifecycle"], metadata=DATASET_INPUT),
}
PREDICTION_TABLE_INPUTS = {
    "churn_risk_monitor": ("lifecycle",),
    "early_warning": ("customer_predictions", "customer_360"),
    "prediction_backtest": ("lifecycle",),
}
PREDICTION_KPI_OP = "kpi__predictions"


def _prediction_out(name: str) -> AssetOut:
    return warehouse_asset_out(KPI, CODE_VERSION)


def _prediction_headline(name: str, frame: pd.DataFrame) -> dict[str, float]:
    """Numbers plotted across runs in the UI."""
    if name == "prediction_backtest":
        return {
            f"{row['model'].lower().replace('/', '_').replace(' ', '_')}_{col}": float(row[col])
            for _, row in frame.iterrows()
            for col in ("mae", "rmse", "aggregate_error", "expected_repeat_orders")
        } | {
            "actual_repeat_orders": float(frame["actual_repeat_orders"].iloc[0])
            if len(frame)
            else 0.0
        }
    if name == "early_warning":
        return {
            "customers": float(len(frame)),
            "predicted_clv_365d": float(frame["predicted_clv_365d"].sum()),
        }
    rise = high_risk_revenue_rise(frame)
    return {
        "dates": float(frame["as_of"].nunique()),
        "top_segments_high_risk_revenue": rise.latest,
        "top_segments_high_risk_revenue_rise": rise.rise
        if rise.rise is not None and math.isfinite(rise.rise)
        else float("nan"),
    }


@multi_asset(
    name=PREDICTION_KPI_OP,
    outs={name: _prediction_out(name) for name in PREDICTION_KPI_TABLES},
    ins=PREDICTION_INPUTS,
    internal_asset_deps={
        name: {PREDICTION_INPUTS[arg].key for arg in args}
        for name, args in PREDICTION_TABLE_INPUTS.items()
    },
    # One step for the three tables (they share the lifecycle scan); each is its own asset.
    can_subset=True,
    pool=DUCKDB_POOL,
    group_name=KPI,
)
def prediction_kpi_tables(
    context: AssetExecutionContext,
    analytics: AnalyticsSettings,
    reports: ReportsResource,
    customer_predictions,
    customer_360,
    lifecycle,
):
    guard_upstream_checks(context, reports.directory)
    params = analytics.params()
    selected = {
        n for n in PREDICTION_KPI_TABLES if AssetKey([KPI, n]) in context.selected_asset_keys
    }
    frames: dict[str, pd.DataFrame] = {}
    extra: dict[str, dict] = {name: {} for name in PREDICTION_KPI_TABLES}
    if "prediction_backtest" in selected:
        backtest = build_prediction_backtest(lifecycle, params)
        frames["prediction_backtest"] = backtest.table
        extra["prediction_backtest"] = backtest.fit.metadata()
    if "churn_risk_monitor" in selected:
        monitor = build_churn_risk_monitor(lifecycle, params)
        frames["churn_risk_monitor"] = monitor.table
        extra["churn_risk_monitor"] = {
            "skipped_dates": ", ".join(map(str, monitor.skipped)) or "none",
            "fits_converged": sum(f.purchases.converged for f in monitor.fits),
        }
    if "early_warning" in selected:
        frames["early_warning"] = build_early_warning(customer_predictions, customer_360)
    shown = {name: decimals_to_float(frame) for name, frame in frames.items()}
    if len(shown) == len(PREDICTION_KPI_TABLES):
        # The report section's Markdown, as the report will show it (transforms/report_predictions).
        section = prediction_section_markdown(
            shown["prediction_backtest"],
            shown["churn_risk_monitor"],
            shown["early_warning"],
            params.backtest_tie_share,
        )
        for name in extra:
            extra[name]["findings"] = MetadataValue.md(section)
    for name, frame in frames.items():
        metadata = {
            k: MetadataValue.float(v) for k, v in _prediction_headline(name, shown[name]).items()
        }
        metadata.update(extra[name])
        metadata["dagster/row_count"] = len(frame)
        metadata["preview"] = MetadataValue.md(frame_to_markdown(shown[name]))
        chart = prediction_chart_markdown(name, shown[name])
        if chart:
            metadata["chart"] = MetadataValue.md(chart)
        yield Output(frame, output_name=name, metadata=metadata)


kpi_assets = [kpi_tables, prediction_kpi_tables]
