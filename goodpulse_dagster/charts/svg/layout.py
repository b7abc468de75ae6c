"""Layout and the blocks every chart shares: the canvas and its title, legends, axes, gridlines
and reference lines. A block draws into a ``Box`` and returns the box left for what follows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from goodpulse_dagster.charts.svg.document import Svg
from goodpulse_dagster.charts.svg.scales import Scale, Ticks
from goodpulse_dagster.charts.svg.text import fit_size, line_count, text_width, widest
from goodpulse_dagster.charts.svg.theme import (
    ACCENT,
    AXIS,
    BACKGROUND,
    FONT_SIZE,
    GAP,
    GRID,
    LABEL_SIZE,
    LINE_HEIGHT,
    MUTED,
    PAD,
    SUBTITLE_SIZE,
    TEXT,
    TICK_GAP,
    TITLE_SIZE,
)


@dataclass(frozen=True)
class Box:
    """A rectangle of the canvas, in px from the top left corner."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def split(self, weights: Sequence[float], gap: float) -> list[Box]:
        """Side-by-side boxes with widths in proportion to ``weights``, ``gap`` px apart."""
        room = self.width - gap * (len(weights) - 1)
        boxes, left = [], self.left
        for w in weights:
            width = room * w / sum(weights)
            boxes.append(Box(left, self.top, left + width, self.bottom))
            left += width + gap
        return boxes


def canvas(size: tuple[int, int], title: str) -> tuple[Svg, Box]:
    """A blank chart with its title at the top left; returns the box left for the content."""
    svg = Svg(size[0], size[1], title)
    title_size = fit_size([title], size[0] - 2 * PAD, TITLE_SIZE, bold=True)
    with svg.group("title"):
        svg.text(PAD, PAD, title, size=title_size, fill=TEXT, bold=True, valign="top")
    return svg, Box(PAD, PAD + title_size + GAP, size[0] - PAD, size[1] - PAD)


def subtitle(svg: Svg, text: str, area: Box) -> Box:
    """A panel's own title at the top left of ``area``; returns the area below it."""
    size = fit_size([text], area.width, SUBTITLE_SIZE, bold=True)
    with svg.group("subtitle"):
        svg.text(area.left, area.top, text, size=size, fill=TEXT, bold=True, valign="top")
    return replace(area, top=area.top + size + GAP)


@dataclass(frozen=True)
class Key:
    """One legend entry: a swatch drawn as ``mark`` (box, line, dash or dot-line) and a label."""

    label: str
    color: str
    mark: str = "box"


_SWATCH_WIDTH = {"box": 12, "line": 22, "dash": 22, "dot-line": 22, "hollow-dash": 22}


def legend(svg: Svg, keys: Sequence[Key], area: Box, *, title: str | None = None) -> Box:
    """Legend entries left to right along the top of ``area``, wrapped onto more rows when they
    do not fit its width; returns the area below the legend. Legends sit above the plot, never on
    it, so they cannot hide a bar or a line whatever the data."""
    size = LABEL_SIZE
    row = size * 1.6
    x, y = area.left, area.top
    with svg.group("legend"):
        if title:
            svg.text(x, y + row / 2, title, size=size, fill=MUTED, valign="middle")
            x += text_width(title, size) + 10
        for key in keys:
            width = _SWATCH_WIDTH[key.mark] + 5 + text_width(key.label, size)
            if x > area.left and x + width > area.right:
                x, y = area.left, y + row
            mid = y + row / 2
            sw = _SWATCH_WIDTH[key.mark]
            if key.mark == "box":
                svg.rect(x, mid - 6, x + 12, mid + 6, key.color, rx=2)
            else:
                dashed = key.mark in ("dash", "hollow-dash")
                dash = {"stroke_dasharray": "5 3"} if dashed else {}
                svg.line(x, mid, x + sw, mid, key.color, stroke_width=2, **dash)
                if key.mark == "dot-line":
                    svg.circle(x + sw / 2, mid, 2.5, key.color)
                elif key.mark == "hollow-dash":
                    svg.circle(x + sw / 2, mid, 3.2, BACKGROUND, stroke=key.color, stroke_width=1.6)
            svg.text(x + sw + 5, mid, key.label, size=size, fill=TEXT, valign="middle")
            x += width + 18
    return replace(area, top=y + row + GAP)


def category_label_layout(labels: Sequence[str], band: float, size: float) -> tuple[int, int]:
    """(angle, stride) for labels centred under bands ``band`` px wide: level when the widest
    fits its band, else turned 45 degrees, else upright, else upright and only every
    ``stride``-th label (the others would overlap)."""
    if widest(labels, size) + 8 <= band:
        return 0, 1
    if band >= size * 1.7:
        return 45, 1
    if band >= size * 1.2:
        return 90, 1
    return 90, math.ceil(size * 1.2 / band)


def category_label_depth(labels: Sequence[str], angle: int, size: float) -> float:
    """How far below the axis the labels reach, turned by ``angle`` degrees."""
    if not labels:
        return 0.0
    if angle == 0:
        return TICK_GAP + size * LINE_HEIGHT * max(line_count(s) for s in labels)
    rad = math.radians(angle)
    return TICK_GAP + widest(labels, size) * math.sin(rad) + size * math.cos(rad)


def x_category_labels(
    svg: Svg,
    centres: Sequence[float],
    labels: Sequence[str],
    y: float,
    layout: tuple[int, int],
    size: float,
) -> None:
    """Category labels under the bands centred at ``centres``, laid out as ``layout`` says."""
    angle, stride = layout
    with svg.group("axis-x"):
        for i, (x, label) in enumerate(zip(centres, labels, strict=True)):
            if i % stride:
                continue
            if angle:
                svg.text(
                    x, y + TICK_GAP, label, size=size, anchor="end", valign="middle", angle=angle
                )
            else:
                svg.text(x, y + TICK_GAP, label, size=size, anchor="middle", valign="top")


def y_value_axis(svg: Svg, plot: Box, scale: Scale, ticks: Ticks) -> None:
    """Horizontal gridlines at the ticks, labels to the left of the plot."""
    with svg.group("grid"):
        for v in ticks.values:
            svg.line(plot.left, scale(v), plot.right, scale(v), GRID, stroke_width=1)
    with svg.group("axis-y"):
        for v, label in zip(ticks.values, ticks.labels, strict=True):
            svg.text(plot.left - TICK_GAP, scale(v), label, anchor="end", valign="middle")


def x_value_axis(svg: Svg, plot: Box, scale: Scale, ticks: Ticks) -> None:
    """Vertical gridlines at the ticks, labels under the plot."""
    with svg.group("grid"):
        for v in ticks.values:
            svg.line(scale(v), plot.top, scale(v), plot.bottom, GRID, stroke_width=1)
    with svg.group("axis-x"):
        for v, label in zip(ticks.values, ticks.labels, strict=True):
            svg.text(scale(v), plot.bottom + TICK_GAP, label, anchor="middle", valign="top")


def spines(svg: Svg, plot: Box) -> None:
    """The left and bottom edges of the plot (no top or right edge, as in the old style)."""
    with svg.group("spines"):
        svg.line(plot.left, plot.top, plot.left, plot.bottom, AXIS, stroke_width=1)
        svg.line(plot.left, plot.bottom, plot.right, plot.bottom, AXIS, stroke_width=1)


def axis_titles(svg: Svg, plot: Box, area: Box, x_title: str | None, y_title: str | None) -> None:
    """The x axis title centred at the bottom of ``area``, the y title upright at its left."""
    with svg.group("axis-titles"):
        if x_title:
            svg.text(
                (plot.left + plot.right) / 2, area.bottom, x_title, anchor="middle", valign="bottom"
            )
        if y_title:
            svg.text(
                area.left,
                (plot.top + plot.bottom) / 2,
                y_title,
                anchor="middle",
                valign="top",
                angle=90,
            )


def title_room(title: str | None) -> float:
    """Space an axis title takes across its axis (a line of text and a gap)."""
    return FONT_SIZE * LINE_HEIGHT + 2 if title else 0.0


def keep_inside(centre: float, width: float, canvas_width: float) -> float:
    """The centre of a label ``width`` px wide, moved in just enough to stay on the canvas."""
    half = width / 2
    return min(max(centre, half + 2), canvas_width - half - 2)


def reference_line(svg: Svg, plot: Box, y: float) -> None:
    """A dashed orange line across the plot at height ``y`` (a mean, a pooled headline)."""
    with svg.group("reference"):
        svg.line(plot.left, y, plot.right, y, ACCENT, stroke_width=1.5, stroke_dasharray="6 4")
