"""The predictive-health section (docs/predictions.md): the holdout backtest (and whether the
model beats the naive baseline, said either way), the churn-risk trend over quarter ends and the
early-warning list, each a paragraph of findings and a chart from its KPI table."""

from __future__ import annotations

from goodpulse_dagster.params import MetricParams
from goodpulse_dagster.report.blocks import Figure, Section, Text
from goodpulse_dagster.report.figures import PREDICTION_TABLES, draw_prediction_chart
from goodpulse_dagster.report.findings_predictions import (
    backtest_findings,
    early_warning_findings,
    monitor_findings,
)
from goodpulse_dagster.report.names import NO_DATA, SECTIONS


def predictions_section(t, params: MetricParams | None) -> Section:
    """The section; "No data" when all three prediction tables are empty."""
    if all(t[name].empty for name in PREDICTION_TABLES):
        empty = Text(
            f"{NO_DATA}: the prediction tables ({', '.join(PREDICTION_TABLES)}) are empty.",
            css="nodata",
        )
        return Section("predictions", SECTIONS["predictions"], [empty])
    tie_share = (params or MetricParams()).backtest_tie_share
    backtest, monitor, early = (t[name] for name in PREDICTION_TABLES)
    paragraphs = (
        ("Holdout backtest", backtest_findings(backtest, tie_share)),
        ("Churn risk over time", monitor_findings(monitor)),
        ("Early warning", early_warning_findings(early)),
    )
    blocks: list = []
    for (label, sentences), table in zip(paragraphs, PREDICTION_TABLES, strict=True):
        blocks.append(Text(f"{label}. " + " ".join(sentences)))
        blocks.append(Figure(draw_prediction_chart(table, t[table])))
    return Section("predictions", SECTIONS["predictions"], blocks)
