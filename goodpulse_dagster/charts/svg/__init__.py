"""A small SVG drawing library for the project's charts; the chart definitions use only what this
module exports.

Why SVG written by hand. A chart here draws an aggregate of at most a few hundred marks: some
rectangles, a line, labels. Writing that markup as strings takes a few milliseconds per chart;
matplotlib took 0.2-0.5 s per chart (mostly text and constrained layout, then PNG encoding), plus
0.45 s to import, on every run whatever the data size. SVG is also the better output here: sharp at
any zoom and in print, searchable text, and smaller than PNGs. It embeds wherever a PNG would (a
data URI in an ``<img>`` of the HTML report, a Markdown image in the Dagster UI).

Bottom up:

* ``theme``: fonts, spacing and colours;
* ``text``: text metrics (``text_width`` from DejaVu Sans' advance widths), so margins are sized to
  the labels, and long labels are shrunk, rotated, thinned or shortened before they overlap;
* ``colors``: the heatmap ramp; ``scales``: ``nice_ticks`` (steps of 1, 2 or 5 times a power of
  ten), ``Scale`` and the tick label formats;
* ``document``: ``Svg``, the document and its primitives (rect, line, path, circle, text);
* ``layout``: the canvas and its title, legends, axes;
* the panels: ``bars`` (vertical and horizontal bars), ``heatmap``, ``month_line``.

The output is deterministic: the same input gives the same bytes.
"""

from goodpulse_dagster.charts.svg.bars import Series, bar_panel, column_panel
from goodpulse_dagster.charts.svg.colors import heat_color, heat_stops, rgb
from goodpulse_dagster.charts.svg.document import Svg, svg_size
from goodpulse_dagster.charts.svg.heatmap import heatmap_panel
from goodpulse_dagster.charts.svg.layout import Box, Key, canvas, legend, subtitle
from goodpulse_dagster.charts.svg.month_line import month_line_panel
from goodpulse_dagster.charts.svg.scales import Scale, count_label, nice_ticks, pct_tick, percent
from goodpulse_dagster.charts.svg.text import text_width, widest
from goodpulse_dagster.charts.svg.theme import (
    ACCENT,
    AXIS,
    BACKGROUND,
    BLUES,
    CELL_SIZE,
    FONT_FAMILY,
    FONT_SIZE,
    GRID,
    LABEL_SIZE,
    LIGHT,
    LINE_HEIGHT,
    MASKED,
    MAX_BAR_HEIGHT,
    MAX_COLUMN_WIDTH,
    MAX_LABEL_SHARE,
    MID_BLUE,
    MIN_FONT_SIZE,
    MONTH_NAMES,
    MUTED,
    NEUTRAL,
    PRIMARY,
    SMALL_SIZE,
    TEXT,
    TICK_GAP,
    TITLE_SIZE,
)

__all__ = [
    "ACCENT",
    "AXIS",
    "BACKGROUND",
    "BLUES",
    "CELL_SIZE",
    "FONT_FAMILY",
    "FONT_SIZE",
    "GRID",
    "LABEL_SIZE",
    "LIGHT",
    "LINE_HEIGHT",
    "MASKED",
    "MAX_BAR_HEIGHT",
    "MAX_COLUMN_WIDTH",
    "MAX_LABEL_SHARE",
    "MID_BLUE",
    "MIN_FONT_SIZE",
    "MONTH_NAMES",
    "MUTED",
    "NEUTRAL",
    "PRIMARY",
    "SMALL_SIZE",
    "TEXT",
    "TICK_GAP",
    "TITLE_SIZE",
    "Box",
    "Key",
    "Scale",
    "Series",
    "Svg",
    "bar_panel",
    "canvas",
    "column_panel",
    "count_label",
    "heat_color",
    "heat_stops",
    "heatmap_panel",
    "legend",
    "month_line_panel",
    "nice_ticks",
    "pct_tick",
    "percent",
    "rgb",
    "subtitle",
    "svg_size",
    "text_width",
    "widest",
]
