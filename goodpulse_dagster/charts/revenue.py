"""Charts of where revenue comes from: over the months, by acquisition channel, by city."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from goodpulse_dagster.charts.data import (
    drawn_from_finite_rows,
    finite_rows,
    floats,
    ordered,
    pivot_grid,
)
from goodpulse_dagster.charts.format import money_short
from goodpulse_dagster.charts.style import (
    CITY_BASE_PX,
    CITY_MIN_PX,
    CITY_ROW_PX,
    QUALITATIVE,
    SIZE,
    TOP_CITIES_SHOWN,
    VALUE_COLORS,
    WIDE_SIZE,
    category_color,
)
from goodpulse_dagster.charts.svg import (
    ACCENT,
    FONT_SIZE,
    LABEL_SIZE,
    MAX_LABEL_SHARE,
    NEUTRAL,
    PRIMARY,
    TICK_GAP,
    Box,
    Key,
    Series,
    bar_panel,
    canvas,
    legend,
    month_line_panel,
    pct_tick,
    percent,
    widest,
)
from goodpulse_dagster.schema import VALUE_SEGMENTS


@drawn_from_finite_rows("revenue")
def monthly_revenue_chart(d: pd.DataFrame) -> str | None:
    """Revenue per month as a line, with the mean monthly revenue as a dashed line."""
    d = d.assign(month=pd.to_datetime(d["month"], errors="coerce")).dropna(subset=["month"])
    if d.empty:
        return None
    d = d.sort_values("month")
    partial = ~d["is_complete"].fillna(False).astype(bool)
    # The table's mean is over complete months only; with none complete there is no mean.
    mean = pd.to_numeric(d.loc[~partial, "mean_monthly_revenue"], errors="coerce").dropna()
    mean_value = float(mean.iloc[0]) if len(mean) else None
    svg, area = canvas(SIZE, "Monthly revenue")
    keys = [Key("revenue", PRIMARY, "dot-line")]
    if partial.any():
        keys.append(Key("partial month", PRIMARY, "hollow-dash"))
    if mean_value is not None:
        keys.append(Key(f"mean of complete months {money_short(mean_value)}", ACCENT, "dash"))
    area = legend(svg, keys, area)
    month_line_panel(
        svg,
        area,
        list(d["month"]),
        floats(d["revenue"]),
        value_fmt=money_short,
        reference=mean_value,
        partial=partial.tolist(),
    )
    return svg.render()


def _channel_totals(df: pd.DataFrame) -> pd.DataFrame:
    """Channel total rows of channel_revenue (value_segment NULL), largest revenue first."""
    d = finite_rows(df, "revenue")
    d = d[d["value_segment"].isna()] if "value_segment" in d else d
    return d.sort_values(["revenue", "acquisition_channel"], ascending=[False, True])


def channel_value_chart(df: pd.DataFrame) -> str | None:
    """Revenue by acquisition channel stacked by value segment: absolute (left) and mix (right)."""
    d = finite_rows(df, "revenue")
    d = d[d["value_segment"].notna()]
    if d.empty:
        return None
    grid = pivot_grid(d, "acquisition_channel", "value_segment", "revenue").fillna(0.0)
    totals = grid.sum(axis=1)
    order = sorted(grid.index, key=lambda c: (-totals[c], str(c)))  # largest at the top
    segs = ordered(grid.columns, VALUE_SEGMENTS)
    grid = grid.reindex(index=order, columns=segs)
    mix = grid.div(totals[order].replace(0, np.nan), axis=0).fillna(0.0)
    channels = [str(c) for c in order]
    svg, area = canvas(WIDE_SIZE, "Revenue by acquisition channel and value segment")
    area = legend(svg, [Key(s, category_color(VALUE_COLORS, s)) for s in segs], area)
    # The channel names belong to the left panel; the plots get 3:2 of the width left over.
    names = widest(channels, FONT_SIZE) + TICK_GAP + 2
    names = min(names, area.width * MAX_LABEL_SHARE + TICK_GAP + 2)
    plots = Box(area.left + names, area.top, area.right, area.bottom).split((3, 2), gap=36)
    money = [Series(floats(grid[s]), [category_color(VALUE_COLORS, s)] * len(order)) for s in segs]
    shares = [Series(floats(mix[s]), [category_color(VALUE_COLORS, s)] * len(order)) for s in segs]
    bar_panel(
        svg,
        replace(plots[0], left=area.left),
        channels,
        money,
        value_fmt=money_short,
        min_step=1,
        x_title="revenue",
    )
    bar_panel(
        svg,
        plots[1],
        channels,
        shares,
        value_fmt=pct_tick,
        axis="share",
        x_title="mix within channel",
        show_categories=False,
    )
    return svg.render()


def channel_revenue_chart(df: pd.DataFrame) -> str | None:
    """Revenue per acquisition channel (channel totals), labelled with revenue share."""
    d = _channel_totals(df)
    if d.empty:
        return None
    revenue = floats(d["revenue"])
    labels = [
        f"{money_short(r)} · {percent(s)}"
        for r, s in zip(revenue, floats(d["revenue_share"]), strict=True)
    ]
    colors = [QUALITATIVE[i % len(QUALITATIVE)] for i in range(len(d))]
    svg, area = canvas(SIZE, "Revenue by acquisition channel")
    bar_panel(
        svg,
        area,
        [str(c) for c in d["acquisition_channel"]],
        [Series(revenue, colors)],
        value_fmt=money_short,
        min_step=1,
        x_title="revenue",
        end_labels=labels,
    )
    return svg.render()


@drawn_from_finite_rows("revenue_share")
def city_concentration_chart(d: pd.DataFrame, shown: int = TOP_CITIES_SHOWN) -> str | None:
    """Revenue share of the largest cities; the top-N cities of the KPI headline highlighted."""
    d = d.assign(rank=pd.to_numeric(d["rank"], errors="coerce")).sort_values(
        ["rank", "customer_city"]
    )
    top_mask = d["is_top_n"].fillna(False).astype(bool)
    n_top = int(top_mask.sum())
    share = pd.to_numeric(d["top_n_revenue_share"], errors="coerce").dropna()
    head = float(share.iloc[0]) if len(share) else float(d.loc[top_mask, "revenue_share"].sum())
    d = d.head(max(shown, n_top))
    shares = floats(d["revenue_share"])
    labels = [f"{c}, {s}" for c, s in zip(d["customer_city"], d["customer_state"], strict=True)]
    colors = [PRIMARY if t else NEUTRAL for t in d["is_top_n"].fillna(False).astype(bool)]
    height = max(CITY_MIN_PX, CITY_ROW_PX * len(d) + CITY_BASE_PX)
    svg, area = canvas((SIZE[0], height), f"Top {n_top} cities generate {percent(head)} of revenue")
    bar_panel(
        svg,
        area,
        labels,
        [Series(shares, colors)],
        value_fmt=pct_tick,
        min_step=0.001,
        x_title="share of revenue",
        end_labels=[percent(v) for v in shares],
        category_size=LABEL_SIZE,
    )
    return svg.render()
