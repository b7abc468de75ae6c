"""Charts of repeat buying: the cohort retention heatmaps, period-1 retention (KPI 1) and the
repeat funnel (KPI 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from goodpulse_dagster.charts.data import (
    drawn_from_finite_rows,
    finite_rows,
    floats,
    pivot_grid,
)
from goodpulse_dagster.charts.format import period_label
from goodpulse_dagster.charts.style import (
    ANNOTATE_MAX_COLUMNS,
    COHORT_BASE_PX,
    COHORT_MAX_PX,
    COHORT_MIN_PX,
    COHORT_ROW_PX,
    FUNNEL_SIZE,
    SIZE,
    WIDE_SIZE,
)
from goodpulse_dagster.charts.svg import (
    CELL_SIZE,
    FONT_SIZE,
    LIGHT,
    MID_BLUE,
    PRIMARY,
    Series,
    bar_panel,
    canvas,
    column_panel,
    heatmap_panel,
    pct_tick,
    percent,
    subtitle,
)


def _retention_label(v: float) -> str:
    return f"{v * 100:.0f}%" if v >= 0.995 else f"{v * 100:.1f}%"


def cohort_heatmap_chart(df: pd.DataFrame, grain: str) -> str | None:
    """Retention rate by cohort (rows) and period index (columns) for one grain of cohort_retention.

    Index 0 is always 100% and would flatten the colour scale, so it is greyed out and the scale
    runs from 0 to the highest retention at index 1 or later. Cells of periods the data does not
    cover in full (``is_complete`` false) are left blank, like periods not reached yet: a 0.0%
    there would read as churn.
    """
    d = finite_rows(df, "retention_rate", "period_index")
    d = d[d["grain"] == grain]
    if d.empty:
        return None
    d = d.assign(cohort=pd.to_datetime(d["cohort"], errors="coerce")).dropna(subset=["cohort"])
    if d.empty:
        return None
    complete = d["is_complete"].fillna(False).astype(bool)
    # The grid is built from every row, then incomplete cells are blanked: each cohort keeps its
    # row (a cohort of a partial last period is a blank row, not a missing one).
    grid = pivot_grid(d, "cohort", "period_index", "retention_rate", "mean")
    grid = grid.sort_index().reindex(columns=sorted(grid.columns))
    flags = d.assign(is_complete=complete.astype(float))
    kept = pivot_grid(flags, "cohort", "period_index", "is_complete", "min")
    kept = kept.reindex(index=grid.index, columns=grid.columns)
    grid = grid.where(kept.to_numpy(dtype=float) == 1.0)
    values = grid.to_numpy(dtype=float)
    col_idx = np.array(grid.columns, dtype=int)
    mask = np.broadcast_to(col_idx == 0, values.shape) & np.isfinite(values)
    later = values[:, col_idx > 0]
    later = later[np.isfinite(later)]
    vmax = float(later.max()) if later.size and later.max() > 0 else 1.0
    rows = [period_label(c, grain) for c in grid.index]
    cols = [str(c) for c in col_idx]
    height = min(COHORT_MAX_PX, max(COHORT_MIN_PX, COHORT_ROW_PX * len(rows) + COHORT_BASE_PX))
    annotate = len(cols) <= ANNOTATE_MAX_COLUMNS
    svg, area = canvas(
        (SIZE[0], height), f"{grain.capitalize()}ly cohort retention (blank: period not complete)"
    )
    heatmap_panel(
        svg,
        area,
        values,
        rows,
        cols,
        cell_fmt=_retention_label if annotate else None,
        scale_fmt=pct_tick,
        vmax=vmax,
        min_step=0.001,
        mask=mask,
        x_title=f"{grain}s since first purchase (period index)",
        y_title=f"cohort ({grain} of first purchase)",
        tick_size=FONT_SIZE if annotate else CELL_SIZE,
    )
    return svg.render()


def cohort_quarter_chart(df: pd.DataFrame) -> str | None:
    """Quarterly cohort retention heatmap."""
    return cohort_heatmap_chart(df, "quarter")


def cohort_month_chart(df: pd.DataFrame) -> str | None:
    """Monthly cohort retention heatmap."""
    return cohort_heatmap_chart(df, "month")


@drawn_from_finite_rows("period1_retention")
def period1_retention_chart(d: pd.DataFrame) -> str | None:
    """KPI 1: per-cohort period-1 retention, one panel per grain, headline as a dashed line."""
    grains = [g for g in ("quarter", "month") if (d["grain"] == g).any()]
    if not grains:
        return None
    svg, area = canvas(
        WIDE_SIZE, "Period-1 retention, cohorts with a complete period 1 (dashed: pooled)"
    )
    # Twice as many months as quarters: the month panel gets twice the width.
    panels = area.split((1, 2)[: len(grains)], gap=24)
    for panel, grain in zip(panels, grains, strict=True):
        g = d[d["grain"] == grain]
        headline = g["is_headline"].fillna(False).astype(bool)
        # The cohorts the headline pools: period 1 complete (a partial next period is no rate).
        per = g[~headline & g["is_complete"].fillna(False).astype(bool)]
        per = per.assign(cohort=lambda x: pd.to_datetime(x["cohort"], errors="coerce"))
        per = per.dropna(subset=["cohort"]).sort_values("cohort")
        title = f"{grain.capitalize()}ly cohorts"
        pooled = None
        if headline.any():
            pooled = float(g.loc[headline, "period1_retention"].iloc[0])
            title += f" · pooled {percent(pooled)}"
        color = PRIMARY if grain == "quarter" else MID_BLUE
        values = floats(per["period1_retention"])
        column_panel(
            svg,
            subtitle(svg, title, panel),
            [period_label(c, grain) for c in per["cohort"]],
            [Series(values, [color] * len(values))],
            value_fmt=pct_tick,
            min_step=0.001,
            reference=pooled,
            tick_size=CELL_SIZE,
        )
    return svg.render()


def repeat_funnel_chart(df: pd.DataFrame) -> str | None:
    """KPI 2: customers with 1+, 2+ and 5+ completed orders (log scale) and the conversions."""
    if df is None or df.empty:
        return None
    row = df.iloc[0]
    steps = ["1+ orders", "2+ orders", "5+ orders"]
    counts = floats(
        pd.Series(
            [row.get("customers_1_plus"), row.get("customers_2_plus"), row.get("customers_5_plus")]
        )
    )
    if not np.isfinite(counts).any():
        return None
    counts = [v if np.isfinite(v) else 0.0 for v in counts]
    convs = floats(
        pd.Series([None, row.get("conversion_1_to_2_plus"), row.get("conversion_2_plus_to_5_plus")])
    )
    labels = [
        f"{v:,.0f}" + (f" ({percent(c)} of the previous step)" if np.isfinite(c) else "")
        for v, c in zip(counts, convs, strict=True)
    ]
    svg, area = canvas(FUNNEL_SIZE, "Repeat funnel (log scale)")
    bar_panel(
        svg,
        area,
        steps,
        [Series(counts, [LIGHT, MID_BLUE, PRIMARY])],  # a log scale: zero draws no bar
        axis="log",
        x_title="customers (log scale)",
        end_labels=labels,
    )
    return svg.render()
