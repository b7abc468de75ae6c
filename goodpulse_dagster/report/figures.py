"""The charts of the report and of the KPI assets: which chart draws which table, under which
title, and the drawn charts as ``Chart`` blocks or Markdown images for the Dagster UI."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd

from goodpulse_dagster import charts
from goodpulse_dagster.report.blocks import Chart
from goodpulse_dagster.report.inputs import normalise_table
from goodpulse_dagster.report.render_markdown import chart_image


@dataclass(frozen=True)
class ChartSpec:
    key: str
    title: str
    table: str
    render: Callable[[pd.DataFrame], str | None]  # the SVG, or None when nothing to draw
    in_report: bool = True  # False: only for the KPI asset's metadata


CHART_SPECS: dict[str, ChartSpec] = {
    s.key: s
    for s in (
        ChartSpec(
            "frequency_tiers",
            "Customers by frequency tier",
            "frequency_distribution",
            charts.frequency_tier_chart,
        ),
        ChartSpec(
            "value_segment_rpc",
            "Revenue per customer by value segment",
            "value_concentration",
            charts.value_segment_rpc_chart,
        ),
        ChartSpec(
            "recency_value",
            "Revenue by value segment and lifecycle stage",
            "recency_value_pivot",
            charts.recency_value_heatmap,
            in_report=False,  # the report shows the pivot as heat-shaded tables instead
        ),
        ChartSpec(
            "monthly_revenue", "Monthly revenue", "monthly_revenue", charts.monthly_revenue_chart
        ),
        ChartSpec(
            "delivery_review",
            "Review score by delivery time",
            "delivery_vs_review",
            charts.delivery_review_chart,
        ),
        ChartSpec(
            "top_segments",
            "Top segments by customers",
            "customer_segmentation",
            charts.top_segments_chart,
        ),
        ChartSpec(
            "channel_value",
            "Revenue by acquisition channel and value segment",
            "channel_revenue",
            charts.channel_value_chart,
        ),
        ChartSpec(
            "cohort_quarter",
            "Quarterly cohort retention",
            "cohort_retention",
            charts.cohort_quarter_chart,
        ),
        ChartSpec(
            "cohort_month",
            "Monthly cohort retention",
            "cohort_retention",
            charts.cohort_month_chart,
        ),
        ChartSpec(
            "channel_revenue",
            "Revenue by acquisition channel",
            "channel_revenue",
            charts.channel_revenue_chart,
        ),
        ChartSpec(
            "lifecycle_revenue",
            "Revenue and customers by lifecycle stage",
            "lifecycle_revenue",
            charts.lifecycle_revenue_chart,
        ),
        ChartSpec(
            "period1_retention",
            "Period-1 retention by cohort",
            "period1_retention",
            charts.period1_retention_chart,
        ),
        ChartSpec(
            "repeat_funnel",
            "Repeat funnel (log scale)",
            "repeat_funnel",
            charts.repeat_funnel_chart,
        ),
        ChartSpec(
            "value_concentration",
            "Revenue concentration by value segment",
            "value_concentration",
            charts.value_concentration_chart,
        ),
        ChartSpec(
            "city_concentration",
            "Revenue share of the largest cities",
            "city_concentration",
            charts.city_concentration_chart,
        ),
        ChartSpec(
            "health_by_value",
            "Lifecycle stage mix by value segment",
            "health_by_value",
            charts.health_by_value_chart,
        ),
    )
}
REPORT_CHART_KEYS = tuple(k for k, s in CHART_SPECS.items() if s.in_report)


def draw_chart(spec: ChartSpec, df: pd.DataFrame) -> Chart | None:
    """The chart of ``spec`` drawn from its normalised table, or None when it has no data.

    Drawing is cheap (a few milliseconds a chart), so charts are drawn where they are needed and
    not cached: the KPI assets draw theirs for the UI and the report draws its own.
    """
    svg = spec.render(df)
    if svg is None:
        return None
    width, height = charts.svg_size(svg)
    return Chart(spec.key, spec.title, svg, spec.table, width, height)


def render_charts(
    tables: dict[str, pd.DataFrame], keys: Iterable[str] = REPORT_CHART_KEYS
) -> dict[str, Chart]:
    """The charts ``keys`` drawn from normalised ``tables``; charts without data are left out."""
    out = {}
    for key in keys:
        spec = CHART_SPECS[key]
        chart = draw_chart(spec, tables[spec.table])
        if chart is not None:
            out[key] = chart
    return out


def kpi_chart_markdown(table_name: str, df: pd.DataFrame) -> str | None:
    """The chart(s) of one KPI (or gold) table as Markdown with embedded images, for the metadata
    of that table's asset. None when the table has no chart (northstar) or no data to draw.
    """
    specs = [s for s in CHART_SPECS.values() if s.table == table_name]
    if not specs:
        return None
    norm = normalise_table(table_name, df)
    drawn = [c for c in (draw_chart(s, norm) for s in specs) if c is not None]
    if not drawn:
        return None
    return "\n\n".join(chart_image(c) for c in drawn)


# The prediction tables and their charts, in the order the report's section shows them.
PREDICTION_TABLES = tuple(charts.PREDICTION_CHARTS)


def draw_prediction_chart(table: str, df: pd.DataFrame, title: str | None = None) -> Chart | None:
    """The chart of one prediction KPI table, or None when it has nothing to draw. ``title``
    defaults to the table's name as a sentence ("Churn risk monitor")."""
    svg = charts.PREDICTION_CHARTS[table](df)
    if svg is None:
        return None
    width, height = charts.svg_size(svg)
    title = table.replace("_", " ").capitalize() if title is None else title
    return Chart(table, title, svg, table, width, height)


def prediction_chart_markdown(table_name: str, frame: pd.DataFrame) -> str | None:
    """The chart of one prediction KPI table as Markdown, or None when there is nothing to draw."""
    chart = draw_prediction_chart(table_name, frame, title=table_name.replace("_", " "))
    return None if chart is None else chart_image(chart)
