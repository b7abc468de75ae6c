"""Predictions: gold ``customer_predictions`` and the three prediction KPI tables (issue 19).

Thin wrappers around predictions/transforms.py (the SQL steps of models/gold/customer_predictions*
and models/kpi/{churn_risk_monitor,early_warning,prediction_backtest}.sql, fitted in between by
predictions/clv_model.py); docs/predictions.md says what the numbers mean.
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
)
from goodpulse_dagster.predictions.transforms import (
    EARLY_WARNING_CUSTOMER_360_COLUMNS,
    PREDICTIONS_CUSTOMER_360_COLUMNS,
    build_churn_risk_monitor,
    build_early_warning,
    build_prediction_backtest,
    create_customer_predictions,
    high_risk_revenue_rise,
)
from goodpulse_dagster.report import prediction_chart_markdown, prediction_section_markdown
from goodpulse_dagster.resources.storage import AnalyticsSettings, ReportsResource
from goodpulse_dagster.resources.warehouse import (
    RELATION_INPUT,
    InPlace,
    WarehouseResource,
)
from goodpulse_dagster.run_trust import DependencyGraph, guard_upstream_checks
from goodpulse_dagster.schema import (
    CHURN_RISK_BANDS,
    GOLD,
    KPI,
    LIFECYCLE,
    PREDICTION_KPI_TABLES,
    SILVER,
)
from goodpulse_dagster.sql_helpers import decimals_to_float

CODE_VERSION = "2"  # 2: is_complete, complete periods only (issue 20)
LIFECYCLE_KEY = AssetKey([SILVER, LIFECYCLE])
CUSTOMER_360_KEY = AssetKey([GOLD, "customer_360"])


@asset(
    name="customer_predictions",
    ins={
        "lifecycle": AssetIn(key=LIFECYCLE_KEY),
        # Read in the warehouse, only the columns the model uses.
        "customer_360": AssetIn(
            key=CUSTOMER_360_KEY,
            metadata={**RELATION_INPUT, "columns": list(PREDICTIONS_CUSTOMER_360_COLUMNS)},
        ),
    },
    code_version=CODE_VERSION,
    **warehouse_asset_args(GOLD),
)
def customer_predictions(
    context: AssetExecutionContext,
    analytics: AnalyticsSettings,
    reports: ReportsResource,
    dependency_graph: ResourceParam[DependencyGraph],
    warehouse: WarehouseResource,
    lifecycle,
    customer_360,
) -> Output:
    guard_upstream_checks(context, reports.directory, dependency_graph)
    table = f"{GOLD}.customer_predictions"
    # Scored and written in the warehouse: the customer-grain table never passes through Python.
    with warehouse.engine():
        rows, fit = create_customer_predictions(lifecycle, customer_360, analytics.params())
        bands = warehouse.query(
            f"SELECT churn_risk, count(*) AS customers FROM {table} GROUP BY churn_risk"
        ).to_pylist()
        preview = decimals_to_float(warehouse.first_customers(table, PREVIEW_ROWS))
    counts = {row["churn_risk"]: row["customers"] for row in bands}
    # The fit (parameters, log-likelihood, convergence; predictions/checks.py reads it) and the
    # customers per band, plotted across runs in the UI.
    metadata = {
        "dagster/row_count": rows,
        "preview": MetadataValue.md(frame_to_markdown(preview, total_rows=rows)),
        **fit.metadata(),
        **{f"{band.lower()}_risk_customers": counts.get(band, 0) for band in CHURN_RISK_BANDS},
        "model_as_of": fit.cut.isoformat(),
    }
    return Output(InPlace(rows), metadata=metadata)


# The customer-grain inputs stay in the warehouse, where the step runs its queries.
PREDICTION_INPUTS = {
    "customer_predictions": AssetIn(
        key=AssetKey([GOLD, "customer_predictions"]), metadata=RELATION_INPUT
    ),
    "customer_360": AssetIn(
        key=CUSTOMER_360_KEY,
        metadata={**RELATION_INPUT, "columns": list(EARLY_WARNING_CUSTOMER_360_COLUMNS)},
    ),
    "lifecycle": AssetIn(key=LIFECYCLE_KEY),
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
    dependency_graph: ResourceParam[DependencyGraph],
    warehouse: WarehouseResource,
    customer_predictions,
    customer_360,
    lifecycle,
):
    guard_upstream_checks(context, reports.directory, dependency_graph)
    params = analytics.params()
    selected = {
        n for n in PREDICTION_KPI_TABLES if AssetKey([KPI, n]) in context.selected_asset_keys
    }
    with warehouse.engine():
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
        # The report section's Markdown, as the report will show it (report/sections_predictions).
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


prediction_assets = [customer_predictions, prediction_kpi_tables]
