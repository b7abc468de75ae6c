"""Bar panels: vertical bars (``column_panel``, grouped side by side) and horizontal bars
(``bar_panel``, stacked end to end), each with its value axis and labels."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from goodpulse_dagster.charts.svg.document import Svg
from goodpulse_dagster.charts.svg.layout import (
    Box,
    axis_titles,
    category_label_depth,
    category_label_layout,
    keep_inside,
    reference_line,
    spines,
    title_room,
    x_category_labels,
    x_value_axis,
    y_value_axis,
)
from goodpulse_dagster.charts.svg.scales import Scale, Ticks, count_label, log_ticks, value_ticks
from goodpulse_dagster.charts.svg.text import fit_size, line_count, shorten, text_width, widest
from goodpulse_dagster.charts.svg.theme import (
    BACKGROUND,
    BAR_WIDTH,
    FONT_SIZE,
    LABEL_PAD,
    LABEL_SIZE,
    LINE_HEIGHT,
    MAX_BAR_HEIGHT,
    MAX_COLUMN_WIDTH,
    MAX_LABEL_SHARE,
    MIN_FONT_SIZE,
    PAD,
    SMALL_SIZE,
    TEXT,
    TICK_GAP,
)


@dataclass(frozen=True)
class Series:
    """One set of bars: a value per category, a colour per bar, and optional value labels.

    In a vertical-bar panel several series stand side by side within each category (grouped
    bars); in a horizontal-bar panel they are stacked end to end.
    """

    values: Sequence[float]
    colors: Sequence[str]
    labels: Sequence[str] | None = None
    label_color: str = TEXT
    label_size: float = LABEL_SIZE


def _top_for_labels(
    series: Sequence[Series], sizes: Sequence[float], height: float, floor: float
) -> float:
    """The top of a value axis (from zero) ``height`` px tall at which every bar still has room
    above it for its label: a bar of value v with a label h px tall needs
    v / top * height + h <= height, so top >= v * height / (height - h)."""
    top = floor
    for s, size in zip(series, sizes, strict=True):
        for v, label in zip(s.values, s.labels or [""] * len(s.values), strict=True):
            room = height - LABEL_PAD - line_count(label) * size * LINE_HEIGHT
            if room > 0 and v > 0:
                top = max(top, v * height / room)
    return top


def column_panel(
    svg: Svg,
    area: Box,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    value_fmt: Callable[[float], str],
    min_step: float = 0.0,
    fixed_ticks: Sequence[float] | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    reference: float | None = None,
    tick_size: float = FONT_SIZE,
    group_width: float = BAR_WIDTH,
) -> Box:
    """Vertical bars in ``area``: categories along x, values up y from zero, value labels above
    the bars, an optional dashed reference line. Returns the plot box."""
    n = max(len(categories), 1)
    k = len(series)
    # The layout is circular: the left margin fits the value tick labels, which depend on the
    # plot's height, which depends on whether the category labels must turn, which depends on
    # the band width, which depends on the left margin. Starting from a guess, the margin
    # settles in one or two rounds.
    left = area.left + title_room(y_title) + 50
    for _ in range(3):
        band = (area.right - left) / n
        layout = category_label_layout(categories, band, tick_size)
        depth = category_label_depth(categories, layout[0], tick_size)
        bottom = area.bottom - title_room(x_title) - depth
        sizes = [fit_size(s.labels or [], band / k - 4, s.label_size) for s in series]
        highest = max([0.0, reference or 0.0, *(v for s in series for v in s.values)])
        top_value = _top_for_labels(series, sizes, bottom - area.top, highest)
        if fixed_ticks is not None:
            ticks = Ticks(list(fixed_ticks), [value_fmt(v) for v in fixed_ticks])
            top_value = max(top_value, fixed_ticks[-1])
        else:
            ticks = value_ticks(0.0, top_value, value_fmt, bottom - area.top, min_step=min_step)
            top_value = ticks.values[-1]
        need = area.left + title_room(y_title) + widest(ticks.labels, FONT_SIZE) + TICK_GAP
        if layout[0] == 45:  # the first label leans left, below the tick labels: keep it in
            need = max(need, area.left + widest(categories, tick_size) * 0.71 - band / 2)
        if abs(need - left) < 0.5:
            break
        left = need
    plot = Box(left, area.top, area.right, bottom)
    y = Scale(0.0, top_value, plot.bottom, plot.top)
    y_value_axis(svg, plot, y, ticks)
    centres = [plot.left + band * (i + 0.5) for i in range(len(categories))]
    bar = min(band * group_width / k, MAX_COLUMN_WIDTH)
    # Series j stands at offsets[j] from the centre of its category (side by side when k > 1).
    offsets = [(j - (k - 1) / 2) * bar for j in range(k)]
    for s, offset in zip(series, offsets, strict=True):
        with svg.group("bars"):
            for c, v, color in zip(centres, s.values, s.colors, strict=True):
                svg.rect(c + offset - bar / 2, y(max(v, 0.0)), c + offset + bar / 2, y(0.0), color)
    spines(svg, plot)
    for s, size, offset in zip(series, sizes, offsets, strict=True):
        if s.labels is None:
            continue
        with svg.group("bar-labels"):
            for c, v, label in zip(centres, s.values, s.labels, strict=True):
                x = keep_inside(c + offset, text_width(label, size), svg.width)
                svg.text(
                    x,
                    y(max(v, 0.0)) - LABEL_PAD,
                    label,
                    size=size,
                    fill=s.label_color,
                    anchor="middle",
                    valign="bottom",
                )
    x_category_labels(svg, centres, list(categories), plot.bottom, layout, tick_size)
    axis_titles(svg, plot, area, x_title, y_title)
    if reference is not None:
        reference_line(svg, plot, y(reference))
    return plot


def _bar_value_axis(
    axis: str,
    totals: Sequence[float],
    reach: Sequence[float],
    left: float,
    right: float,
    value_fmt: Callable[[float], str],
    min_step: float,
) -> tuple[Scale, Ticks]:
    """The value axis of horizontal bars, from ``left`` to ``right`` px. A linear axis starts at
    zero and ends far enough that each bar's end label (``reach`` px past its end) still fits; a
    log axis runs from the power of ten below the shortest bar to where the labels fit; a share
    axis runs from 0 to 100%."""
    width = right - left
    if axis == "share":
        return Scale(0.0, 1.0, left, right), value_ticks(
            0.0, 1.0, value_fmt, width, min_step=min_step, across=True
        )
    # Only labels that leave the bar most of the width stretch the axis (a label longer than
    # that is already shrunk to fit).
    fitted = [
        (t, r) for t, r in zip(totals, reach, strict=True) if t > 0 and width - r > width * 0.3
    ]
    if axis == "log":
        positive = [t for t in totals if t > 0] or [1.0]
        lo = 10.0 ** math.floor(math.log10(min(positive) / 2))
        top = max(
            [math.log10(max(positive)) + 0.02]
            + [math.log10(lo) + math.log10(t / lo) * width / (width - r) for t, r in fitted]
        )
        return Scale(lo, 10.0**top, left, right, log=True), log_ticks(lo, 10.0**top, width)
    hi = max([0.0, *totals] + [t * width / (width - r) for t, r in fitted])
    ticks = value_ticks(0.0, hi, value_fmt, width, min_step=min_step, across=True)
    return Scale(0.0, ticks.values[-1], left, right), ticks


def bar_panel(
    svg: Svg,
    area: Box,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    value_fmt: Callable[[float], str] = count_label,
    min_step: float = 0.0,
    axis: str = "linear",
    x_title: str | None = None,
    end_labels: Sequence[str] | None = None,
    inner_labels: Sequence[Sequence[str]] | None = None,
    show_categories: bool = True,
    category_size: float = FONT_SIZE,
) -> Box:
    """Horizontal bars in ``area``: categories top to bottom, values along x. Several series are
    stacked end to end (not on a log axis). ``end_labels`` go just past the end of each bar,
    ``inner_labels`` (one list per series) inside the pieces wide enough for them. ``axis``:
    "linear" from zero, "log", or "share" (0 to 100%). Returns the plot box."""
    n = max(len(categories), 1)
    bottom = area.bottom - title_room(x_title) - TICK_GAP - FONT_SIZE * LINE_HEIGHT
    band = (bottom - area.top) / n
    name_size = min(category_size, max(MIN_FONT_SIZE, band * 0.8))
    names = [shorten(c, area.width * MAX_LABEL_SHARE, name_size) for c in categories]
    left = area.left + (widest(names, name_size) + TICK_GAP + 2 if show_categories else 0.0)
    totals = [sum(max(s.values[i], 0.0) for s in series) for i in range(len(categories))]
    labels = list(end_labels) if end_labels is not None else [""] * len(categories)
    right = area.right
    for _ in range(3):
        label_size = fit_size(labels, (right - left) * 0.45, LABEL_SIZE)
        reach = [text_width(t, label_size) + LABEL_PAD + 2 if t else 0.0 for t in labels]
        scale, ticks = _bar_value_axis(axis, totals, reach, left, right, value_fmt, min_step)
        # The last tick label is centred on its gridline: keep its right half on the canvas and
        # clear of a panel to the right.
        last = scale(ticks.values[-1]) + text_width(ticks.labels[-1], FONT_SIZE) / 2
        overflow = last - min(svg.width - 3, area.right + PAD / 2)
        if overflow <= 0.5:
            break
        right -= overflow
    plot = Box(left, area.top, right, bottom)
    x_value_axis(svg, plot, scale, ticks)
    centres = [plot.top + band * (i + 0.5) for i in range(len(categories))]
    thick = min(band * BAR_WIDTH, MAX_BAR_HEIGHT)
    # Where each piece starts and ends, in values: stacked pieces follow each other from zero;
    # on a log axis a bar runs from the bottom of the axis to its value.
    ends = [scale.lo] * len(categories)
    extents = []
    for s in series:
        starts = ends
        ends = [
            max(v, scale.lo) if scale.log else a + max(v, 0.0)
            for a, v in zip(starts, s.values, strict=True)
        ]
        extents.append(list(zip(starts, ends, strict=True)))
    for s, pieces in zip(series, extents, strict=True):
        with svg.group("bars"):
            for c, (a, b), color in zip(centres, pieces, s.colors, strict=True):
                svg.rect(scale(a), c - thick / 2, scale(b), c + thick / 2, color)
    spines(svg, plot)
    if inner_labels is not None:
        with svg.group("segment-labels"):
            for pieces, texts in zip(extents, inner_labels, strict=True):
                for c, (a, b), text in zip(centres, pieces, texts, strict=True):
                    if text and text_width(text, SMALL_SIZE) + 6 <= scale(b) - scale(a):
                        svg.text(
                            (scale(a) + scale(b)) / 2,
                            c,
                            text,
                            size=SMALL_SIZE,
                            fill=BACKGROUND,
                            anchor="middle",
                            valign="middle",
                        )
    if end_labels is not None:
        with svg.group("bar-labels"):
            for c, end, text in zip(centres, ends, labels, strict=True):
                svg.text(
                    scale(end) + LABEL_PAD, c, text, size=label_size, fill=TEXT, valign="middle"
                )
    if show_categories:
        with svg.group("axis-y"):
            for c, name in zip(centres, names, strict=True):
                svg.text(
                    plot.left - TICK_GAP, c, name, size=name_size, anchor="end", valign="middle"
                )
    axis_titles(svg, plot, area, x_title, None)
    return plot
