"""Charts of the customer segments: frequency tiers, value segments, lifecycle stages and their
combinations (the top segments, the recency x value grid, the lifecycle mix of each value
segment)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from goodpulse_dagster.charts.data import (
    drawn_from_finite_rows,
    floats,
    ordered,
    pivot_grid,
)
from goodpulse_dagster.charts.format import money_short
from goodpulse_dagster.charts.style import (
    FREQUENCY_COLORS,
    HEALTH_SIZE,
    LIFECYCLE_COLORS,
    SIZE,
    TOP_SEGMENTS,
    TOP_SEGMENTS_SIZE,
    VALUE_COLORS,
    category_color,
)
from goodpulse_dagster.charts.svg import (
    LABEL_SIZE,
    LIGHT,
    MUTED,
    PRIMARY,
    SMALL_SIZE,
    TEXT,
    Key,
    Series,
    bar_panel,
    canvas,
    column_panel,
    count_label,
    heatmap_panel,
    legend,
    pct_tick,
    percent,
)
from goodpulse_dagster.schema import FREQUENCY_TIERS, LIFECYCLE_STAGES, VALUE_SEGMENTS


@drawn_from_finite_rows("customers")
def frequency_tier_chart(d: pd.DataFrame) -> str | None:
    """Customers per frequency tier, bars labelled with revenue share and revenue per customer."""
    d = d.set_index("frequency_tier")
    tiers = ordered(d.index, FREQUENCY_TIERS)
    labels = [
        f"{d.at[t, 'customers']:,.0f} customers\n"
        f"{percent(d.at[t, 'revenue_share'])} of revenue · "
        f"{money_short(d.at[t, 'revenue_per_customer'])}/customer"
        for t in tiers
    ]
    svg, area = canvas(SIZE, "Customers by frequency tier")
    bars = Series(
        floats(d.loc[tiers, "customers"]),
        [category_color(FREQUENCY_COLORS, t) for t in tiers],
        labels,
    )
    column_panel(svg, area, tiers, [bars], value_fmt=count_label, min_step=1, y_title="customers")
    return svg.render()


@drawn_from_finite_rows("revenue_per_customer")
def value_segment_rpc_chart(d: pd.DataFrame) -> str | None:
    """Revenue per customer by value segment."""
    d = d.set_index("value_segment")
    segs = ordered(d.index, VALUE_SEGMENTS)
    vals = floats(d.loc[segs, "revenue_per_customer"])
    svg, area = canvas(SIZE, "Revenue per customer by value segment")
    bars = Series(
        vals, [category_color(VALUE_COLORS, s) for s in segs], [money_short(v) for v in vals]
    )
    column_panel(
        svg,
        area,
        segs,
        [bars],
        value_fmt=money_short,
        min_step=1,
        y_title="revenue per customer",
    )
    return svg.render()


def _share_pairs_chart(d: pd.DataFrame, order: Sequence[str], title: str, x_title: str) -> str:
    """Grouped bars: share of customers (light) vs share of revenue (dark) per category."""
    cats = ordered(d.index, order)
    cust = [0.0 if np.isnan(v) else v for v in floats(d.loc[cats, "customer_share"])]
    rev = [0.0 if np.isnan(v) else v for v in floats(d.loc[cats, "revenue_share"])]
    svg, area = canvas(SIZE, title)
    area = legend(svg, [Key("share of customers", LIGHT), Key("share of revenue", PRIMARY)], area)
    pairs = [
        Series(cust, [LIGHT] * len(cats), [percent(v) for v in cust], MUTED, SMALL_SIZE),
        Series(rev, [PRIMARY] * len(cats), [percent(v) for v in rev], TEXT, SMALL_SIZE),
    ]
    column_panel(
        svg,
        area,
        cats,
        pairs,
        value_fmt=pct_tick,
        min_step=0.001,
        x_title=x_title,
        group_width=0.76,
    )
    return svg.render()


@drawn_from_finite_rows("customer_share", "revenue_share")
def value_concentration_chart(d: pd.DataFrame) -> str | None:
    """KPI 4: share of customers vs share of revenue per value segment."""
    return _share_pairs_chart(
        d.set_index("value_segment"),
        VALUE_SEGMENTS,
        "Revenue concentration by value segment",
        "value segment",
    )


@drawn_from_finite_rows("customer_share", "revenue_share")
def lifecycle_revenue_chart(d: pd.DataFrame) -> str | None:
    """KPI 3: share of customers vs share of revenue per lifecycle stage."""
    return _share_pairs_chart(
        d.set_index("lifecycle_stage"),
        LIFECYCLE_STAGES,
        "Revenue and customers by lifecycle stage",
        "lifecycle stage",
    )


@drawn_from_finite_rows("revenue")
def recency_value_heatmap(d: pd.DataFrame) -> str | None:
    """Revenue by value segment (rows) x lifecycle stage (columns), for the KPI asset's metadata."""
    grid = pivot_grid(d, "value_segment", "lifecycle_stage", "revenue")
    rows = ordered(grid.index, VALUE_SEGMENTS)
    cols = ordered(grid.columns, LIFECYCLE_STAGES)
    values = grid.reindex(index=rows, columns=cols).to_numpy(dtype=float)
    if not np.isfinite(values).any():
        return None
    top = float(np.nanmax(values))
    svg, area = canvas(SIZE, "Revenue by value segment and lifecycle stage")
    heatmap_panel(
        svg,
        area,
        values,
        rows,
        cols,
        cell_fmt=money_short,
        scale_fmt=money_short,
        vmax=top if top > 0 else 1.0,
        min_step=1,
        x_title="lifecycle stage",
    )
    return svg.render()


@drawn_from_finite_rows("customers")
def top_segments_chart(d: pd.DataFrame, top: int = TOP_SEGMENTS) -> str | None:
    """The ``top`` segments by customers (gold customer_segmentation), coloured by stage."""
    d = d.sort_values(["customers", "segment_label"], ascending=[False, True]).head(top)
    customers = floats(d["customers"])
    labels = [
        f"{c:,.0f} · {percent(s)} of revenue"
        for c, s in zip(customers, floats(d["revenue_share"]), strict=True)
    ]
    svg, area = canvas(TOP_SEGMENTS_SIZE, f"Top {len(d)} segments by customers")
    stages = ordered(d["lifecycle_stage"], LIFECYCLE_STAGES)
    keys = [Key(s, category_color(LIFECYCLE_COLORS, s)) for s in stages]
    area = legend(svg, keys, area, title="lifecycle stage")
    colors = [category_color(LIFECYCLE_COLORS, s) for s in d["lifecycle_stage"]]
    bar_panel(
        svg,
        area,
        [str(s) for s in d["segment_label"]],
        [Series(customers, colors)],
        min_step=1,
        x_title="customers",
        end_labels=labels,
        category_size=LABEL_SIZE,
    )
    return svg.render()


@drawn_from_finite_rows("share_within_segment")
def health_by_value_chart(d: pd.DataFrame) -> str | None:
    """Lifecycle-stage mix within each value segment, as 100% stacked horizontal bars."""
    grid = pivot_grid(d, "value_segment", "lifecycle_stage", "share_within_segment").fillna(0.0)
    rows = ordered(grid.index, VALUE_SEGMENTS)  # top to bottom, as in the table under it
    stages = ordered(grid.columns, LIFECYCLE_STAGES)
    grid = grid.reindex(index=rows, columns=stages).fillna(0.0)
    svg, area = canvas(HEALTH_SIZE, "Lifecycle stage mix by value segment")
    area = legend(svg, [Key(s, category_color(LIFECYCLE_COLORS, s)) for s in stages], area)
    pieces = [
        Series(floats(grid[s]), [category_color(LIFECYCLE_COLORS, s)] * len(rows)) for s in stages
    ]
    # Shares under 6% are too thin to carry a label.
    texts = [[percent(v, 0) if v >= 0.06 else "" for v in p.values] for p in pieces]
    bar_panel(
        svg,
        area,
        rows,
        pieces,
        value_fmt=pct_tick,
        axis="share",
        x_title="share of the segment's customers",
        inner_labels=texts,
    )
    return svg.render()
