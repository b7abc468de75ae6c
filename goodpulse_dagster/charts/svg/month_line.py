"""The line panel over months: a value per month, partial months marked, month labels below."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from goodpulse_dagster.charts.svg.document import Svg
from goodpulse_dagster.charts.svg.layout import (
    Box,
    reference_line,
    spines,
    y_value_axis,
)
from goodpulse_dagster.charts.svg.scales import Scale, value_ticks
from goodpulse_dagster.charts.svg.text import widest
from goodpulse_dagster.charts.svg.theme import (
    AXIS,
    BACKGROUND,
    FONT_SIZE,
    LINE_HEIGHT,
    MONTH_NAMES,
    PRIMARY,
    TICK_GAP,
)


def _month_index(ts: pd.Timestamp) -> int:
    return ts.year * 12 + ts.month - 1


def _month_ticks(first: int, last: int, month_px: float, label_px: float) -> list[int]:
    """Months to label: every 1, 2, 3, 4, 6 or 12 months (Jan, Apr, Jul, Oct for 3), or every
    few years, the shortest step whose labels stay apart and number at most 12."""
    for step in (1, 2, 3, 4, 6, 12, 24, 36, 60, 120, 240):
        months = [m for m in range(first, last + 1) if m % step == 0]
        if step * month_px >= label_px + 16 and len(months) <= 12:
            return months
    return [first]


def month_line_panel(
    svg: Svg,
    area: Box,
    months: Sequence[pd.Timestamp],
    values: Sequence[float],
    *,
    value_fmt: Callable[[float], str],
    reference: float | None = None,
    partial: Sequence[bool] | None = None,
) -> Box:
    """A line with dots over months, a light fill under it, an optional dashed reference line,
    the value axis from zero. Months flagged ``partial`` get a hollow marker and the line to and
    from them is dashed, so a partial last month does not read as a collapse. Returns the plot
    box."""
    bottom = area.bottom - TICK_GAP - 2 * FONT_SIZE * LINE_HEIGHT
    lo = min(0.0, *values)
    hi = max([*values, reference or 0.0]) * 1.05
    ticks = value_ticks(lo, hi, value_fmt, bottom - area.top, min_step=1.0)
    plot = Box(area.left + widest(ticks.labels, FONT_SIZE) + TICK_GAP, area.top, area.right, bottom)
    index = [_month_index(ts) for ts in months]
    first, last = min(index), max(index)
    x = Scale(first - 0.5, last + 0.5, plot.left, plot.right)
    y = Scale(ticks.values[0], ticks.values[-1], plot.bottom, plot.top)
    y_value_axis(svg, plot, y, ticks)
    points = [(x(m), y(v)) for m, v in zip(index, values, strict=True)]
    with svg.group("area"):
        base = y(max(lo, 0.0))
        svg.path(
            [(points[0][0], base), *points, (points[-1][0], base)],
            close=True,
            fill=PRIMARY,
            fill_opacity="0.08",
        )
    spines(svg, plot)
    if reference is not None:
        reference_line(svg, plot, y(reference))
    partial = list(partial) if partial is not None else [False] * len(points)
    # Runs of segments: solid between two complete months, dashed when either end is partial.
    runs: list[tuple[bool, list[tuple[float, float]]]] = []
    for i in range(len(points) - 1):
        dashed = partial[i] or partial[i + 1]
        if runs and runs[-1][0] == dashed:
            runs[-1][1].append(points[i + 1])
        else:
            runs.append((dashed, [points[i], points[i + 1]]))
    with svg.group("line"):
        for dashed, run in runs:
            svg.path(
                run,
                close=False,
                fill="none",
                stroke=PRIMARY,
                stroke_width=2,
                stroke_linejoin="round",
                **({"stroke_dasharray": "5 4"} if dashed else {}),
            )
        for (px, py), is_partial in zip(points, partial, strict=True):
            if is_partial:
                svg.circle(px, py, 3.4, BACKGROUND, stroke=PRIMARY, stroke_width=1.6)
            else:
                svg.circle(px, py, 2.6, PRIMARY)
    month_px = plot.width / (last - first + 1)
    shown = _month_ticks(first, last, month_px, widest(["Sep", "2018"], FONT_SIZE))
    with svg.group("axis-x"):
        for m in shown:
            svg.line(x(m), plot.bottom, x(m), plot.bottom + 4, AXIS, stroke_width=1)
            label = f"{MONTH_NAMES[m % 12]}\n{m // 12}"
            svg.text(x(m), plot.bottom + TICK_GAP, label, anchor="middle", valign="top")
    return plot
