"""The heatmap panel: one shaded cell per value on the Blues ramp, and its colour bar."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from goodpulse_dagster.charts.svg.colors import heat_color, heat_stops
from goodpulse_dagster.charts.svg.document import Svg
from goodpulse_dagster.charts.svg.layout import Box, axis_titles, title_room, x_category_labels
from goodpulse_dagster.charts.svg.scales import Ticks, nice_ticks
from goodpulse_dagster.charts.svg.text import fit_size, widest
from goodpulse_dagster.charts.svg.theme import (
    BACKGROUND,
    CELL_SIZE,
    COLORBAR_WIDTH,
    FONT_SIZE,
    HEATMAP_DARK,
    LINE_HEIGHT,
    MASKED,
    MIN_FONT_SIZE,
    MUTED,
    SMALL_SIZE,
    TEXT,
    TICK_GAP,
)


def _colorbar_ticks(
    vmax: float, fmt: Callable[[float], str], length: float, min_step: float
) -> Ticks:
    """Ticks of a colour bar that runs from 0 to exactly ``vmax``: round values inside it."""
    most = max(2, min(9, int(length // 40) + 1))
    for n in range(most, 1, -1):
        values = [t for t in nice_ticks(0.0, vmax, n, min_step) if t <= vmax * (1 + 1e-9)]
        labels = [fmt(v) for v in values]
        if len(set(labels)) == len(labels):
            break
    return Ticks(values, labels)


def _colorbar(svg: Svg, x: float, top: float, bottom: float, vmax: float, ticks: Ticks) -> None:
    """The heatmap's colour scale: a vertical gradient from 0 (bottom) to ``vmax``, ticks right."""
    fill = svg.vertical_gradient("heat-scale", heat_stops())
    with svg.group("colorbar"):
        svg.rect(x, top, x + COLORBAR_WIDTH, bottom, fill)
        for v, label in zip(ticks.values, ticks.labels, strict=True):
            y = bottom - v / vmax * (bottom - top)
            svg.line(x + COLORBAR_WIDTH, y, x + COLORBAR_WIDTH + 4, y, MUTED, stroke_width=1)
            svg.text(x + COLORBAR_WIDTH + TICK_GAP + 2, y, label, size=SMALL_SIZE, valign="middle")


def heatmap_panel(
    svg: Svg,
    area: Box,
    values: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    cell_fmt: Callable[[float], str] | None,
    scale_fmt: Callable[[float], str],
    vmax: float,
    min_step: float = 0.0,
    mask: np.ndarray | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    tick_size: float = FONT_SIZE,
) -> Box:
    """A heatmap in ``area``: one cell per finite value, coloured from 0 to ``vmax`` on the Blues
    ramp; ``mask`` cells grey (outside the scale); NaN cells left blank. Cells carry their value
    (``cell_fmt``) when it fits. A colour bar on the right. Returns the plot box."""
    n_rows, n_cols = values.shape
    bottom = area.bottom - title_room(x_title) - TICK_GAP - tick_size * LINE_HEIGHT
    cell_h = (bottom - area.top) / n_rows
    row_size = min(tick_size, max(MIN_FONT_SIZE, cell_h * 0.85))
    row_stride = max(1, math.ceil(row_size * 1.1 / cell_h))
    left = area.left + title_room(y_title) + widest(rows, row_size) + TICK_GAP
    bar_top = area.top + (bottom - area.top) * 0.1
    bar_bottom = bottom - (bottom - area.top) * 0.1
    ticks = _colorbar_ticks(vmax, scale_fmt, bar_bottom - bar_top, min_step)
    bar_x = area.right - widest(ticks.labels, SMALL_SIZE) - TICK_GAP - 2 - COLORBAR_WIDTH
    plot = Box(left, area.top, bar_x - 14, bottom)
    cell_w = plot.width / n_cols
    col_stride = 1
    while widest(cols, tick_size) + 6 > cell_w * col_stride and col_stride < n_cols:
        col_stride += 1
    # Plain Python numbers from here: arithmetic and round() on numpy scalars cost ten times more.
    grid = values.tolist()
    masked = mask.tolist() if mask is not None else [[False] * n_cols for _ in range(n_rows)]
    filled = list(zip(*(ix.tolist() for ix in np.nonzero(np.isfinite(values))), strict=True))
    # One rect per cell, 1 px of white between cells; blank (NaN) cells get none.
    with svg.group("cells"):
        for i, j in filled:
            color = MASKED if masked[i][j] else heat_color(grid[i][j] / vmax)
            x0, y0 = plot.left + j * cell_w, plot.top + i * cell_h
            svg.rect(x0 + 0.5, y0 + 0.5, x0 + cell_w - 0.5, y0 + cell_h - 0.5, color)
    if cell_fmt is not None and filled:
        texts = {(i, j): cell_fmt(grid[i][j]) for i, j in filled}
        size = fit_size(texts.values(), cell_w - 4, CELL_SIZE)
        if size * 1.15 <= cell_h and widest(texts.values(), size) <= cell_w - 2:
            with svg.group("cell-labels"):
                for (i, j), text in texts.items():
                    dark = not masked[i][j] and grid[i][j] / vmax > HEATMAP_DARK
                    svg.text(
                        plot.left + (j + 0.5) * cell_w,
                        plot.top + (i + 0.5) * cell_h,
                        text,
                        size=size,
                        fill=BACKGROUND if dark else TEXT,
                        anchor="middle",
                        valign="middle",
                    )
    with svg.group("axis-y"):
        for i, label in enumerate(rows):
            if i % row_stride == 0:
                y = plot.top + (i + 0.5) * cell_h
                svg.text(
                    plot.left - TICK_GAP, y, label, size=row_size, anchor="end", valign="middle"
                )
    centres = [plot.left + (j + 0.5) * cell_w for j in range(n_cols)]
    x_category_labels(svg, centres, list(cols), plot.bottom, (0, col_stride), tick_size)
    axis_titles(svg, plot, area, x_title, y_title)
    _colorbar(svg, bar_x, bar_top, bar_bottom, vmax, ticks)
    return plot
