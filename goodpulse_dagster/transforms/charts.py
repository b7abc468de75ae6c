"""Charts of the executive report and of the KPI assets' UI metadata, as SVG documents.

Every chart function takes the one table it draws (with the columns of ``schema.py``) and returns
an SVG document (a ``str``), or ``None`` when the table has nothing to draw. No Dagster imports:
the report module and the tests call these directly.

Why SVG written by hand. A chart here draws an aggregate of at most a few hundred marks: some
rectangles, a line, labels. Writing that markup as strings takes a few milliseconds per chart;
matplotlib took 0.2-0.5 s per chart (mostly text and constrained layout, then PNG encoding), plus
0.45 s to import, on every run whatever the data size. SVG is also the better output here: sharp at
any zoom and in print, searchable text, and smaller than the PNGs were. It embeds wherever the PNGs
did (a data URI in an ``<img>`` of the HTML report, a Markdown image in the Dagster UI).

How it is built, bottom up:

* text metrics: ``text_width`` estimates a label's width from DejaVu Sans' advance widths, so
  margins are sized to the labels, and long labels are shrunk, rotated, thinned or shortened
  before they can overlap or be clipped;
* scales and ticks: ``nice_ticks`` (steps of 1, 2 or 5 times a power of ten) and ``Scale``;
* ``Svg``: the document and its primitives (rect, line, path, circle, text), coordinates rounded
  to 0.1 px, all text XML-escaped;
* drawing blocks the charts share: title, legend, colour bar, and three panels with their axes
  (vertical bars, horizontal bars, heatmap);
* the chart functions, which only choose the data, the colours and the words.

The output is deterministic: the same table gives the same bytes (no generated ids, no dates).
"""

from __future__ import annotations

import functools
import html
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from goodpulse_dagster.schema import FREQUENCY_TIERS, LIFECYCLE_STAGES, VALUE_SEGMENTS

# --- look and feel: the one place for sizes and colours ---------------------------------------

# Chart sizes in pixels (width, height): the sizes of the former 100-dpi PNGs.
SIZE = (800, 400)
WIDE_SIZE = (900, 420)  # two panels side by side
TOP_SEGMENTS_SIZE = (800, 460)
FUNNEL_SIZE = (800, 320)
HEALTH_SIZE = (800, 360)
# Charts whose height follows their number of rows: height = base + rows x row, within limits.
COHORT_ROW_PX, COHORT_BASE_PX, COHORT_MIN_PX, COHORT_MAX_PX = 26, 160, 320, 900
CITY_ROW_PX, CITY_BASE_PX, CITY_MIN_PX = 27, 120, 360

CURRENCY = "R$"

# No font is embedded or fetched: the viewer draws the text with the first of these it has.
FONT_FAMILY = "DejaVu Sans, Helvetica, Arial, sans-serif"
TITLE_SIZE = 16.0  # font sizes in px
SUBTITLE_SIZE = 14.0
FONT_SIZE = 13.0  # tick labels and axis titles
LABEL_SIZE = 12.0  # value labels and legends
SMALL_SIZE = 11.0
CELL_SIZE = 10.5  # heatmap cells and crowded axes
MIN_FONT_SIZE = 8.5  # labels shrink to fit their space, never below this
LINE_HEIGHT = 1.25  # of multi-line labels, in font sizes

PAD = 10  # canvas edge to content
GAP = 10  # between blocks: title, legend, plot
TICK_GAP = 6  # axis to tick label
LABEL_PAD = 4  # bar end to value label
BAR_WIDTH = 0.8  # of a category's band
# With only one or two categories a bar filling 80% of its band looks like a wall: capped.
MAX_COLUMN_WIDTH = 150  # px, vertical bars
MAX_BAR_HEIGHT = 48  # px, horizontal bars
MAX_LABEL_SHARE = 0.42  # category labels of horizontal bars take at most this share of the width

BACKGROUND = "#FFFFFF"
TEXT = "#1A202C"
MUTED = "#4A5568"
GRID = "#E2E8F0"
AXIS = "#CBD5E0"
PRIMARY = "#2B6CB0"
ACCENT = "#DD6B20"
NEUTRAL = "#A0AEC0"
LIGHT = "#BEE3F8"
MID_BLUE = "#4299E1"
MASKED = "#EDF2F7"  # heatmap cells left out of the colour scale

FREQUENCY_COLORS = dict(zip(FREQUENCY_TIERS, ("#A0AEC0", "#4299E1", "#2C5282"), strict=True))
VALUE_COLORS = dict(zip(VALUE_SEGMENTS, ("#CBD5E0", "#90CDF4", "#3182CE", "#1A365D"), strict=True))
LIFECYCLE_COLORS = dict(
    zip(LIFECYCLE_STAGES, ("#38A169", "#D69E2E", "#DD6B20", "#718096"), strict=True)
)
# Qualitative palette for open-ended categories (acquisition channels).
QUALITATIVE = (
    "#2B6CB0",
    "#DD6B20",
    "#38A169",
    "#805AD5",
    "#D53F8C",
    "#319795",
    "#D69E2E",
    "#718096",
    "#E53E3E",
    "#4A5568",
)
UNKNOWN_CATEGORY_COLOR = "#718096"

# Heatmap colours: matplotlib's "Blues" (ColorBrewer), nine evenly spaced colours with linear
# interpolation between them. The lowest HEATMAP_FLOOR of the ramp is skipped, so that a 0% cell
# stays visibly different from an unobserved (blank) one.
BLUES = (
    "#F7FBFF",
    "#DEEBF7",
    "#C6DBEF",
    "#9ECAE1",
    "#6BAED6",
    "#4292C6",
    "#2171B5",
    "#08519C",
    "#08306B",
)
HEATMAP_FLOOR = 0.1
HEATMAP_DARK = 0.6  # cell text turns white above this share of the scale
COLORBAR_WIDTH = 14

TOP_SEGMENTS = 10  # bars in the top-segments chart
TOP_CITIES_SHOWN = 15  # bars in the city chart (top-N highlighted within them)
ANNOTATE_MAX_COLUMNS = 12  # cohort heatmaps print values in cells up to this many columns
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --- text metrics ---------------------------------------------------------------------------------

# Advance widths of printable ASCII in DejaVu Sans and DejaVu Sans Bold, in 1/1000 em (from the
# fonts' hmtx tables). DejaVu is the widest family of FONT_FAMILY, so Helvetica or Arial only
# leave a little more room than was planned: labels never come out wider than measured.
_ASCII = "".join(map(chr, range(32, 127)))
# fmt: off
_ADVANCE = dict(zip(_ASCII, (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636,
    636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698,
    770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732,
    684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635,
    634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592,
    525, 636, 337, 636, 838,
), strict=True)) | {"·": 318, "×": 838, "…": 1000, "–": 500, "—": 1000}
_ADVANCE_BOLD = dict(zip(_ASCII, (
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696,
    696, 696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734,
    830, 683, 683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812,
    774, 1103, 771, 724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716,
    712, 343, 343, 665, 343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652,
    582, 712, 365, 712, 838,
), strict=True)) | {"·": 380, "×": 838, "…": 1000, "–": 500, "—": 1000}
# fmt: on
_CAP_HEIGHT = 0.73  # of DejaVu Sans, in em: how far capitals rise above the baseline
_DESCENT = 0.24  # how far descenders fall below it


@functools.lru_cache(maxsize=1024)
def _advance_other(ch: str, bold: bool) -> int:
    """Width of a character outside the table: full-width CJK is 1 em; an accented letter (city
    names: "são paulo") is as wide as its base letter; anything else a generous 0.7 em."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1000
    base = unicodedata.normalize("NFD", ch)[:1]
    return (_ADVANCE_BOLD if bold else _ADVANCE).get(base, 700)


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Estimated width in px of ``text`` (its longest line) at font ``size`` px."""
    table = _ADVANCE_BOLD if bold else _ADVANCE
    widest = 0
    for line in str(text).split("\n"):
        units = sum(table[c] if c in table else _advance_other(c, bold) for c in line)
        widest = max(widest, units)
    return widest * size / 1000


def _widest(texts: Iterable[str], size: float, bold: bool = False) -> float:
    return max((text_width(t, size, bold) for t in texts), default=0.0)


def _lines(text: str) -> int:
    return str(text).count("\n") + 1


def _fit_size(texts: Iterable[str], room: float, size: float, bold: bool = False) -> float:
    """``size``, or the smaller size at which the widest of ``texts`` fits in ``room`` px."""
    widest = _widest(texts, size, bold)
    if widest <= room or widest == 0:
        return size
    return max(MIN_FONT_SIZE, math.floor(size * room / widest * 2) / 2)


def _shorten(text: str, room: float, size: float, bold: bool = False) -> str:
    """``text``, or its longest prefix that fits in ``room`` px followed by an ellipsis."""
    if text_width(text, size, bold) <= room:
        return text
    while text and text_width(text + "…", size, bold) > room:
        text = text[:-1]
    return text.rstrip() + "…"


# --- formatting helpers ------------------------------------------------------------------------


def money_short(x: float) -> str:
    """Compact currency for axes and labels: R$ 1.2M, R$ 35k, R$ 940."""
    if x is None or not np.isfinite(x):
        return "n/a"
    ax = abs(x)
    if ax >= 1e9:
        return f"{CURRENCY} {x / 1e9:.1f}B"
    if ax >= 1e6:
        return f"{CURRENCY} {x / 1e6:.1f}M"
    if ax >= 1e4:
        return f"{CURRENCY} {x / 1e3:.0f}k"
    if ax >= 1e3:
        return f"{CURRENCY} {x / 1e3:.1f}k"
    return f"{CURRENCY} {x:.0f}"


def _pct_tick(v: float) -> str:
    """A share as a percentage with at most one decimal and no trailing zero: 40%, 2.5%."""
    text = f"{v * 100:.1f}".rstrip("0").rstrip(".")
    return "0%" if text in ("0", "-0") else text + "%"


def _percent(x: float, decimals: int = 1) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x * 100:.{decimals}f}%"


def _count(x: float) -> str:
    return f"{x:,.0f}"


def _ordered(values: Iterable[str], order: Sequence[str]) -> list[str]:
    """Known categories in their canonical order, then any others alphabetically (never dropped)."""
    present = [v for v in dict.fromkeys(values) if isinstance(v, str)]
    return [c for c in order if c in present] + sorted(c for c in present if c not in order)


def _color(mapping: dict[str, str], key: str) -> str:
    return mapping.get(key, UNKNOWN_CATEGORY_COLOR)


def _finite(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    """Rows where every named column is a finite number (NaN/None/inf dropped)."""
    if df is None or df.empty:
        return pd.DataFrame(columns=list(df.columns) if df is not None else list(cols))
    out = df.copy()
    for c in cols:
        out[c] = pd.to_numeric(out[c], errors="coerce")
    mask = np.isfinite(out[list(cols)].astype(float)).all(axis=1)
    return out[mask]


def _numbers(s: pd.Series) -> list[float]:
    """A column as plain floats (NaN where it is not a number)."""
    return pd.to_numeric(s, errors="coerce").astype(float).tolist()


def _period_label(ts: pd.Timestamp, grain: str) -> str:
    if grain == "quarter":
        return f"{ts.year}-Q{(ts.month - 1) // 3 + 1}"
    return ts.strftime("%Y-%m")


# --- colours -----------------------------------------------------------------------------------


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return int(hex_color[1:3], 16), int(hex_color[3:5], 16), int(hex_color[5:7], 16)


_BLUES_RGB = tuple(_rgb(c) for c in BLUES)


def heat_color(t: float) -> str:
    """The heatmap colour of ``t`` in [0, 1]: 0 is the bottom of the scale, 1 its top."""
    u = HEATMAP_FLOOR + (1 - HEATMAP_FLOOR) * min(max(float(t), 0.0), 1.0)
    pos = u * (len(BLUES) - 1)
    i = min(int(pos), len(BLUES) - 2)
    f = pos - i
    lo, hi = _BLUES_RGB[i], _BLUES_RGB[i + 1]
    return "#{:02X}{:02X}{:02X}".format(
        *(round(a + (b - a) * f) for a, b in zip(lo, hi, strict=True))
    )


def _heat_stops() -> list[tuple[float, str]]:
    """Gradient stops that reproduce ``heat_color`` exactly: its ends and every ramp colour in
    between (the ramp is linear between them, and so is an SVG gradient)."""
    n = len(BLUES) - 1
    inner = [(k / n - HEATMAP_FLOOR) / (1 - HEATMAP_FLOOR) for k in range(1, n)]
    return [(t, heat_color(t)) for t in [0.0, *(t for t in inner if t > 0), 1.0]]


# --- scales and ticks -----------------------------------------------------------------------


def nice_ticks(lo: float, hi: float, max_ticks: int, min_step: float = 0.0) -> list[float]:
    """At most ``max_ticks`` evenly spaced round values covering [lo, hi], the step 1, 2 or 5
    times a power of ten and at least ``min_step`` (1 for counts, 0.001 for percentages printed
    with one decimal, so that no two ticks print the same)."""
    if not hi > lo:
        hi = lo + (abs(lo) or 1.0)
    k = math.floor(math.log10((hi - lo) / max(max_ticks, 2)))
    while True:
        for m in (1, 2, 5):
            step = m * 10.0**k
            if step < min_step * (1 - 1e-9):
                continue
            first = math.floor(lo / step + 1e-9)
            last = math.ceil(hi / step - 1e-9)
            if last - first + 1 <= max(max_ticks, 2):
                # round() removes float noise (0.30000000000000004), so labels and output are clean.
                return [round(i * step, 12) + 0.0 for i in range(first, last + 1)]
        k += 1


@dataclass(frozen=True)
class Scale:
    """Maps values in [lo, hi] to pixels in [start, end], linearly or on a log10 scale."""

    lo: float
    hi: float
    start: float
    end: float
    log: bool = False

    def __call__(self, v: float) -> float:
        lo, hi = self.lo, self.hi
        if self.log:
            v, lo, hi = math.log10(max(v, lo)), math.log10(lo), math.log10(hi)
        span = (hi - lo) or 1.0
        return self.start + (v - lo) / span * (self.end - self.start)


@dataclass(frozen=True)
class _Ticks:
    values: list[float]
    labels: list[str]


def _value_ticks(
    lo: float,
    hi: float,
    fmt: Callable[[float], str],
    length: float,
    *,
    min_step: float = 0.0,
    across: bool = False,
    size: float = FONT_SIZE,
) -> _Ticks:
    """Ticks of a value axis ``length`` px long covering [lo, hi]: at most one every 40 px (60 px
    side by side on an x axis) and 9 in all, as many as keep every label distinct and, on an x
    axis (``across``), apart from its neighbours."""
    most = max(2, min(9, int(length // (60 if across else 40)) + 1))
    for n in range(most, 1, -1):
        values = nice_ticks(lo, hi, n, min_step)
        labels = [fmt(v) for v in values]
        if len(set(labels)) < len(labels):
            continue
        if across and len(values) > 1:
            spacing = length * (values[1] - values[0]) / (values[-1] - values[0])
            if _widest(labels, size) + 14 > spacing:
                continue
        break
    return _Ticks(values, labels)


# --- the SVG document ----------------------------------------------------------------------------

# Characters XML 1.0 does not allow (control characters, lone surrogates): dropped from labels.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _esc(text: object) -> str:
    """Text as XML character data or attribute value: &, <, >, quotes escaped."""
    return html.escape(_XML_INVALID.sub("", str(text)), quote=True)


def _n(x: float) -> str:
    """A coordinate rounded to 0.1 px, without a trailing .0: short and deterministic."""
    s = f"{x:.1f}"
    s = s[:-2] if s.endswith(".0") else s
    return "0" if s == "-0" else s


class Svg:
    """An SVG document under construction: elements are appended as markup, in drawing order."""

    def __init__(self, width: int, height: int, title: str):
        self.width, self.height = width, height
        self._parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
            f' viewBox="0 0 {width} {height}" font-family="{FONT_FAMILY}" role="img">',
            f"<title>{_esc(title)}</title>",
            f'<rect width="{width}" height="{height}" fill="{BACKGROUND}"/>',
        ]

    def render(self) -> str:
        return "\n".join([*self._parts, "</svg>"]) + "\n"

    def vertical_gradient(self, gradient_id: str, stops: Sequence[tuple[float, str]]) -> str:
        """Define a gradient from the bottom (offset 0) to the top (offset 1); returns the fill
        that paints with it. Ids are fixed names, not generated: each chart is its own document,
        so they cannot clash, and the output stays deterministic."""
        body = "".join(f'<stop offset="{t:.4f}" stop-color="{color}"/>' for t, color in stops)
        self._parts.append(
            f'<defs><linearGradient id="{gradient_id}" x1="0" y1="1" x2="0" y2="0">{body}'
            "</linearGradient></defs>"
        )
        return f"url(#{gradient_id})"

    @contextmanager
    def group(self, cls: str, **attrs: object) -> Iterator[None]:
        """A ``<g class=...>``: it names what its elements are (tests and readers find them)."""
        self._parts.append(f'<g class="{cls}"{_attrs(attrs)}>')
        yield
        self._parts.append("</g>")

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: str, **attrs: object) -> None:
        """A rectangle between two corners. The corners are rounded before the size is taken,
        so stacked pieces that share an edge meet exactly."""
        x0, x1 = sorted((round(x0, 1), round(x1, 1)))
        y0, y1 = sorted((round(y0, 1), round(y1, 1)))
        self._parts.append(
            f'<rect x="{_n(x0)}" y="{_n(y0)}" width="{_n(x1 - x0)}" height="{_n(y1 - y0)}"'
            f' fill="{fill}"{_attrs(attrs)}/>'
        )

    def line(
        self, x0: float, y0: float, x1: float, y1: float, stroke: str, **attrs: object
    ) -> None:
        self._parts.append(
            f'<line x1="{_n(x0)}" y1="{_n(y0)}" x2="{_n(x1)}" y2="{_n(y1)}"'
            f' stroke="{stroke}"{_attrs(attrs)}/>'
        )

    def path(self, points: Sequence[tuple[float, float]], *, close: bool, **attrs: object) -> None:
        d = "M" + " L".join(f"{_n(x)},{_n(y)}" for x, y in points) + (" Z" if close else "")
        self._parts.append(f'<path d="{d}"{_attrs(attrs)}/>')

    def circle(self, x: float, y: float, r: float, fill: str, **attrs: object) -> None:
        self._parts.append(
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}" fill="{fill}"{_attrs(attrs)}/>'
        )

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = FONT_SIZE,
        fill: str = MUTED,
        anchor: str = "start",
        valign: str = "baseline",
        bold: bool = False,
        angle: float = 0.0,
    ) -> None:
        """``text`` at (x, y); "\\n" starts a new line. ``anchor`` is start, middle or end;
        ``valign`` says what y is: the first baseline, or the top, middle or bottom of the block
        (computed here from the font's metrics rather than left to dominant-baseline, which
        renderers treat differently). ``angle`` turns the text counter-clockwise about (x, y)."""
        lines = str(text).split("\n")
        step = size * LINE_HEIGHT
        block = (len(lines) - 1) * step
        first = {
            "baseline": y,
            "top": y + _CAP_HEIGHT * size,
            "middle": y + _CAP_HEIGHT * size / 2 - block / 2,
            "bottom": y - _DESCENT * size - block,
        }[valign]
        attrs = {"font-size": _n(size), "fill": fill}
        if anchor != "start":
            attrs["text-anchor"] = anchor
        if bold:
            attrs["font-weight"] = "bold"
        if angle:
            attrs["transform"] = f"rotate({_n(-angle)} {_n(x)} {_n(y)})"
        if len(lines) == 1:
            body = _esc(lines[0])
        else:
            body = "".join(
                f'<tspan x="{_n(x)}" y="{_n(first + i * step)}">{_esc(line)}</tspan>'
                for i, line in enumerate(lines)
            )
        self._parts.append(f'<text x="{_n(x)}" y="{_n(first)}"{_attrs(attrs)}>{body}</text>')


def _attrs(attrs: dict[str, object]) -> str:
    """Attributes as markup; keyword names use _ for - (stroke_width -> stroke-width)."""
    return "".join(f' {k.replace("_", "-")}="{_esc(v)}"' for k, v in attrs.items())


def svg_size(svg: str) -> tuple[int, int]:
    """(width, height) in pixels, read from the root element of an SVG drawn here."""
    m = re.match(r'<svg [^>]*?width="(\d+)" height="(\d+)"', svg)
    if not m:
        raise ValueError("not an SVG document drawn by transforms/charts.py")
    return int(m.group(1)), int(m.group(2))


# --- layout and drawing blocks -----------------------------------------------------------------


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


def _canvas(size: tuple[int, int], title: str) -> tuple[Svg, Box]:
    """A blank chart with its title at the top left; returns the box left for the content."""
    svg = Svg(size[0], size[1], title)
    title_size = _fit_size([title], size[0] - 2 * PAD, TITLE_SIZE, bold=True)
    with svg.group("title"):
        svg.text(PAD, PAD, title, size=title_size, fill=TEXT, bold=True, valign="top")
    return svg, Box(PAD, PAD + title_size + GAP, size[0] - PAD, size[1] - PAD)


def _subtitle(svg: Svg, text: str, area: Box) -> Box:
    """A panel's own title at the top left of ``area``; returns the area below it."""
    size = _fit_size([text], area.width, SUBTITLE_SIZE, bold=True)
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


def _legend(svg: Svg, keys: Sequence[Key], area: Box, *, title: str | None = None) -> Box:
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


def _category_label_layout(labels: Sequence[str], band: float, size: float) -> tuple[int, int]:
    """(angle, stride) for labels centred under bands ``band`` px wide: level when the widest
    fits its band, else turned 45 degrees, else upright, else upright and only every
    ``stride``-th label (the others would overlap)."""
    if _widest(labels, size) + 8 <= band:
        return 0, 1
    if band >= size * 1.7:
        return 45, 1
    if band >= size * 1.2:
        return 90, 1
    return 90, math.ceil(size * 1.2 / band)


def _category_label_depth(labels: Sequence[str], angle: int, size: float) -> float:
    """How far below the axis the labels reach, turned by ``angle`` degrees."""
    if not labels:
        return 0.0
    if angle == 0:
        return TICK_GAP + size * LINE_HEIGHT * max(_lines(s) for s in labels)
    rad = math.radians(angle)
    return TICK_GAP + _widest(labels, size) * math.sin(rad) + size * math.cos(rad)


def _x_category_labels(
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


def _y_value_axis(svg: Svg, plot: Box, scale: Scale, ticks: _Ticks) -> None:
    """Horizontal gridlines at the ticks, labels to the left of the plot."""
    with svg.group("grid"):
        for v in ticks.values:
            svg.line(plot.left, scale(v), plot.right, scale(v), GRID, stroke_width=1)
    with svg.group("axis-y"):
        for v, label in zip(ticks.values, ticks.labels, strict=True):
            svg.text(plot.left - TICK_GAP, scale(v), label, anchor="end", valign="middle")


def _x_value_axis(svg: Svg, plot: Box, scale: Scale, ticks: _Ticks) -> None:
    """Vertical gridlines at the ticks, labels under the plot."""
    with svg.group("grid"):
        for v in ticks.values:
            svg.line(scale(v), plot.top, scale(v), plot.bottom, GRID, stroke_width=1)
    with svg.group("axis-x"):
        for v, label in zip(ticks.values, ticks.labels, strict=True):
            svg.text(scale(v), plot.bottom + TICK_GAP, label, anchor="middle", valign="top")


def _spines(svg: Svg, plot: Box) -> None:
    """The left and bottom edges of the plot (no top or right edge, as in the old style)."""
    with svg.group("spines"):
        svg.line(plot.left, plot.top, plot.left, plot.bottom, AXIS, stroke_width=1)
        svg.line(plot.left, plot.bottom, plot.right, plot.bottom, AXIS, stroke_width=1)


def _axis_titles(svg: Svg, plot: Box, area: Box, x_title: str | None, y_title: str | None) -> None:
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


def _title_room(title: str | None) -> float:
    """Space an axis title takes across its axis (a line of text and a gap)."""
    return FONT_SIZE * LINE_HEIGHT + 2 if title else 0.0


# --- panels: vertical bars --------------------------------------------------------------------


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
            room = height - LABEL_PAD - _lines(label) * size * LINE_HEIGHT
            if room > 0 and v > 0:
                top = max(top, v * height / room)
    return top


def _columns(
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
    left = area.left + _title_room(y_title) + 50
    for _ in range(3):
        band = (area.right - left) / n
        layout = _category_label_layout(categories, band, tick_size)
        depth = _category_label_depth(categories, layout[0], tick_size)
        bottom = area.bottom - _title_room(x_title) - depth
        sizes = [_fit_size(s.labels or [], band / k - 4, s.label_size) for s in series]
        highest = max([0.0, reference or 0.0, *(v for s in series for v in s.values)])
        top_value = _top_for_labels(series, sizes, bottom - area.top, highest)
        if fixed_ticks is not None:
            ticks = _Ticks(list(fixed_ticks), [value_fmt(v) for v in fixed_ticks])
            top_value = max(top_value, fixed_ticks[-1])
        else:
            ticks = _value_ticks(0.0, top_value, value_fmt, bottom - area.top, min_step=min_step)
            top_value = ticks.values[-1]
        need = area.left + _title_room(y_title) + _widest(ticks.labels, FONT_SIZE) + TICK_GAP
        if layout[0] == 45:  # the first label leans left, below the tick labels: keep it in
            need = max(need, area.left + _widest(categories, tick_size) * 0.71 - band / 2)
        if abs(need - left) < 0.5:
            break
        left = need
    plot = Box(left, area.top, area.right, bottom)
    y = Scale(0.0, top_value, plot.bottom, plot.top)
    _y_value_axis(svg, plot, y, ticks)
    centres = [plot.left + band * (i + 0.5) for i in range(len(categories))]
    bar = min(band * group_width / k, MAX_COLUMN_WIDTH)
    # Series j stands at offsets[j] from the centre of its category (side by side when k > 1).
    offsets = [(j - (k - 1) / 2) * bar for j in range(k)]
    for s, offset in zip(series, offsets, strict=True):
        with svg.group("bars"):
            for c, v, color in zip(centres, s.values, s.colors, strict=True):
                svg.rect(c + offset - bar / 2, y(max(v, 0.0)), c + offset + bar / 2, y(0.0), color)
    _spines(svg, plot)
    for s, size, offset in zip(series, sizes, offsets, strict=True):
        if s.labels is None:
            continue
        with svg.group("bar-labels"):
            for c, v, label in zip(centres, s.values, s.labels, strict=True):
                x = _keep_inside(c + offset, text_width(label, size), svg.width)
                svg.text(
                    x,
                    y(max(v, 0.0)) - LABEL_PAD,
                    label,
                    size=size,
                    fill=s.label_color,
                    anchor="middle",
                    valign="bottom",
                )
    _x_category_labels(svg, centres, list(categories), plot.bottom, layout, tick_size)
    _axis_titles(svg, plot, area, x_title, y_title)
    if reference is not None:
        _reference_line(svg, plot, y(reference))
    return plot


def _keep_inside(centre: float, width: float, canvas_width: float) -> float:
    """The centre of a label ``width`` px wide, moved in just enough to stay on the canvas."""
    half = width / 2
    return min(max(centre, half + 2), canvas_width - half - 2)


def _reference_line(svg: Svg, plot: Box, y: float) -> None:
    """A dashed orange line across the plot at height ``y`` (a mean, a pooled headline)."""
    with svg.group("reference"):
        svg.line(plot.left, y, plot.right, y, ACCENT, stroke_width=1.5, stroke_dasharray="6 4")


# --- panels: horizontal bars ------------------------------------------------------------------


def _log_ticks(lo: float, hi: float, length: float) -> _Ticks:
    """The powers of ten in [lo, hi], every other one (or fewer) when their labels would touch."""
    decades = list(range(math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9) + 1))
    values = [10.0**k for k in decades]
    labels = [f"{v:,.0f}" if v >= 1 else f"{v:g}" for v in values]
    spacing = length / max(math.log10(hi / lo), 1e-9)
    stride = 1
    while _widest(labels, FONT_SIZE) + 14 > spacing * stride and stride < len(values):
        stride += 1
    return _Ticks(values[::stride], labels[::stride])


def _bar_value_axis(
    axis: str,
    totals: Sequence[float],
    reach: Sequence[float],
    left: float,
    right: float,
    value_fmt: Callable[[float], str],
    min_step: float,
) -> tuple[Scale, _Ticks]:
    """The value axis of horizontal bars, from ``left`` to ``right`` px. A linear axis starts at
    zero and ends far enough that each bar's end label (``reach`` px past its end) still fits; a
    log axis runs from the power of ten below the shortest bar to where the labels fit; a share
    axis runs from 0 to 100%."""
    width = right - left
    if axis == "share":
        return Scale(0.0, 1.0, left, right), _value_ticks(
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
        return Scale(lo, 10.0**top, left, right, log=True), _log_ticks(lo, 10.0**top, width)
    hi = max([0.0, *totals] + [t * width / (width - r) for t, r in fitted])
    ticks = _value_ticks(0.0, hi, value_fmt, width, min_step=min_step, across=True)
    return Scale(0.0, ticks.values[-1], left, right), ticks


def _bars(
    svg: Svg,
    area: Box,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    value_fmt: Callable[[float], str] = _count,
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
    bottom = area.bottom - _title_room(x_title) - TICK_GAP - FONT_SIZE * LINE_HEIGHT
    band = (bottom - area.top) / n
    name_size = min(category_size, max(MIN_FONT_SIZE, band * 0.8))
    names = [_shorten(c, area.width * MAX_LABEL_SHARE, name_size) for c in categories]
    left = area.left + (_widest(names, name_size) + TICK_GAP + 2 if show_categories else 0.0)
    totals = [sum(max(s.values[i], 0.0) for s in series) for i in range(len(categories))]
    labels = list(end_labels) if end_labels is not None else [""] * len(categories)
    right = area.right
    for _ in range(3):
        label_size = _fit_size(labels, (right - left) * 0.45, LABEL_SIZE)
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
    _x_value_axis(svg, plot, scale, ticks)
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
    _spines(svg, plot)
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
    _axis_titles(svg, plot, area, x_title, None)
    return plot


# --- panels: heatmap ---------------------------------------------------------------------------


def _colorbar_ticks(
    vmax: float, fmt: Callable[[float], str], length: float, min_step: float
) -> _Ticks:
    """Ticks of a colour bar that runs from 0 to exactly ``vmax``: round values inside it."""
    most = max(2, min(9, int(length // 40) + 1))
    for n in range(most, 1, -1):
        values = [t for t in nice_ticks(0.0, vmax, n, min_step) if t <= vmax * (1 + 1e-9)]
        labels = [fmt(v) for v in values]
        if len(set(labels)) == len(labels):
            break
    return _Ticks(values, labels)


def _colorbar(svg: Svg, x: float, top: float, bottom: float, vmax: float, ticks: _Ticks) -> None:
    """The heatmap's colour scale: a vertical gradient from 0 (bottom) to ``vmax``, ticks right."""
    fill = svg.vertical_gradient("heat-scale", _heat_stops())
    with svg.group("colorbar"):
        svg.rect(x, top, x + COLORBAR_WIDTH, bottom, fill)
        for v, label in zip(ticks.values, ticks.labels, strict=True):
            y = bottom - v / vmax * (bottom - top)
            svg.line(x + COLORBAR_WIDTH, y, x + COLORBAR_WIDTH + 4, y, MUTED, stroke_width=1)
            svg.text(x + COLORBAR_WIDTH + TICK_GAP + 2, y, label, size=SMALL_SIZE, valign="middle")


def _heatmap(
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
    bottom = area.bottom - _title_room(x_title) - TICK_GAP - tick_size * LINE_HEIGHT
    cell_h = (bottom - area.top) / n_rows
    row_size = min(tick_size, max(MIN_FONT_SIZE, cell_h * 0.85))
    row_stride = max(1, math.ceil(row_size * 1.1 / cell_h))
    left = area.left + _title_room(y_title) + _widest(rows, row_size) + TICK_GAP
    bar_top = area.top + (bottom - area.top) * 0.1
    bar_bottom = bottom - (bottom - area.top) * 0.1
    ticks = _colorbar_ticks(vmax, scale_fmt, bar_bottom - bar_top, min_step)
    bar_x = area.right - _widest(ticks.labels, SMALL_SIZE) - TICK_GAP - 2 - COLORBAR_WIDTH
    plot = Box(left, area.top, bar_x - 14, bottom)
    cell_w = plot.width / n_cols
    col_stride = 1
    while _widest(cols, tick_size) + 6 > cell_w * col_stride and col_stride < n_cols:
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
        size = _fit_size(texts.values(), cell_w - 4, CELL_SIZE)
        if size * 1.15 <= cell_h and _widest(texts.values(), size) <= cell_w - 2:
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
    _x_category_labels(svg, centres, list(cols), plot.bottom, (0, col_stride), tick_size)
    _axis_titles(svg, plot, area, x_title, y_title)
    _colorbar(svg, bar_x, bar_top, bar_bottom, vmax, ticks)
    return plot


# --- panels: a line over months ------------------------------------------------------------------


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


def _month_line(
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
    ticks = _value_ticks(lo, hi, value_fmt, bottom - area.top, min_step=1.0)
    plot = Box(
        area.left + _widest(ticks.labels, FONT_SIZE) + TICK_GAP, area.top, area.right, bottom
    )
    index = [_month_index(ts) for ts in months]
    first, last = min(index), max(index)
    x = Scale(first - 0.5, last + 0.5, plot.left, plot.right)
    y = Scale(ticks.values[0], ticks.values[-1], plot.bottom, plot.top)
    _y_value_axis(svg, plot, y, ticks)
    points = [(x(m), y(v)) for m, v in zip(index, values, strict=True)]
    with svg.group("area"):
        base = y(max(lo, 0.0))
        svg.path(
            [(points[0][0], base), *points, (points[-1][0], base)],
            close=True,
            fill=PRIMARY,
            fill_opacity="0.08",
        )
    _spines(svg, plot)
    if reference is not None:
        _reference_line(svg, plot, y(reference))
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
    shown = _month_ticks(first, last, month_px, _widest(["Sep", "2018"], FONT_SIZE))
    with svg.group("axis-x"):
        for m in shown:
            svg.line(x(m), plot.bottom, x(m), plot.bottom + 4, AXIS, stroke_width=1)
            label = f"{MONTH_NAMES[m % 12]}\n{m // 12}"
            svg.text(x(m), plot.bottom + TICK_GAP, label, anchor="middle", valign="top")
    return plot


# --- charts ------------------------------------------------------------------------------------


def frequency_tier_chart(df: pd.DataFrame) -> str | None:
    """Customers per frequency tier, bars labelled with revenue share and revenue per customer."""
    d = _finite(df, "customers")
    if d.empty:
        return None
    d = d.set_index("frequency_tier")
    tiers = _ordered(d.index, FREQUENCY_TIERS)
    labels = [
        f"{d.at[t, 'customers']:,.0f} customers\n"
        f"{_percent(d.at[t, 'revenue_share'])} of revenue · "
        f"{money_short(d.at[t, 'revenue_per_customer'])}/customer"
        for t in tiers
    ]
    svg, area = _canvas(SIZE, "Customers by frequency tier")
    bars = Series(
        _numbers(d.loc[tiers, "customers"]), [_color(FREQUENCY_COLORS, t) for t in tiers], labels
    )
    _columns(svg, area, tiers, [bars], value_fmt=_count, min_step=1, y_title="customers")
    return svg.render()


def value_segment_rpc_chart(df: pd.DataFrame) -> str | None:
    """Revenue per customer by value segment."""
    d = _finite(df, "revenue_per_customer")
    if d.empty:
        return None
    d = d.set_index("value_segment")
    segs = _ordered(d.index, VALUE_SEGMENTS)
    vals = _numbers(d.loc[segs, "revenue_per_customer"])
    svg, area = _canvas(SIZE, "Revenue per customer by value segment")
    bars = Series(vals, [_color(VALUE_COLORS, s) for s in segs], [money_short(v) for v in vals])
    _columns(
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
    cats = _ordered(d.index, order)
    cust = [0.0 if np.isnan(v) else v for v in _numbers(d.loc[cats, "customer_share"])]
    rev = [0.0 if np.isnan(v) else v for v in _numbers(d.loc[cats, "revenue_share"])]
    svg, area = _canvas(SIZE, title)
    area = _legend(svg, [Key("share of customers", LIGHT), Key("share of revenue", PRIMARY)], area)
    pairs = [
        Series(cust, [LIGHT] * len(cats), [_percent(v) for v in cust], MUTED, SMALL_SIZE),
        Series(rev, [PRIMARY] * len(cats), [_percent(v) for v in rev], TEXT, SMALL_SIZE),
    ]
    _columns(
        svg,
        area,
        cats,
        pairs,
        value_fmt=_pct_tick,
        min_step=0.001,
        x_title=x_title,
        group_width=0.76,
    )
    return svg.render()


def value_concentration_chart(df: pd.DataFrame) -> str | None:
    """KPI 4: share of customers vs share of revenue per value segment."""
    d = _finite(df, "customer_share", "revenue_share")
    if d.empty:
        return None
    return _share_pairs_chart(
        d.set_index("value_segment"),
        VALUE_SEGMENTS,
        "Revenue concentration by value segment",
        "value segment",
    )


def lifecycle_revenue_chart(df: pd.DataFrame) -> str | None:
    """KPI 3: share of customers vs share of revenue per lifecycle stage."""
    d = _finite(df, "customer_share", "revenue_share")
    if d.empty:
        return None
    return _share_pairs_chart(
        d.set_index("lifecycle_stage"),
        LIFECYCLE_STAGES,
        "Revenue and customers by lifecycle stage",
        "lifecycle stage",
    )


def _grid(d: pd.DataFrame, rows: str, cols: str, value: str, how: str = "sum") -> pd.DataFrame:
    """``value`` aggregated into a rows x cols table (NaN where a combination has no row)."""
    return d.groupby([rows, cols])[value].agg(how).unstack()


def recency_value_heatmap(df: pd.DataFrame) -> str | None:
    """Revenue by value segment (rows) x lifecycle stage (columns), for the KPI asset's metadata."""
    d = _finite(df, "revenue")
    if d.empty:
        return None
    grid = _grid(d, "value_segment", "lifecycle_stage", "revenue")
    rows = _ordered(grid.index, VALUE_SEGMENTS)
    cols = _ordered(grid.columns, LIFECYCLE_STAGES)
    values = grid.reindex(index=rows, columns=cols).to_numpy(dtype=float)
    if not np.isfinite(values).any():
        return None
    top = float(np.nanmax(values))
    svg, area = _canvas(SIZE, "Revenue by value segment and lifecycle stage")
    _heatmap(
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


def monthly_revenue_chart(df: pd.DataFrame) -> str | None:
    """Revenue per month as a line, with the mean monthly revenue as a dashed line."""
    d = _finite(df, "revenue")
    if d.empty:
        return None
    d = d.assign(month=pd.to_datetime(d["month"], errors="coerce")).dropna(subset=["month"])
    if d.empty:
        return None
    d = d.sort_values("month")
    partial = ~d["is_complete"].fillna(False).astype(bool)
    # The table's mean is over complete months only; with none complete there is no mean.
    mean = pd.to_numeric(d.loc[~partial, "mean_monthly_revenue"], errors="coerce").dropna()
    mean_value = float(mean.iloc[0]) if len(mean) else None
    svg, area = _canvas(SIZE, "Monthly revenue")
    keys = [Key("revenue", PRIMARY, "dot-line")]
    if partial.any():
        keys.append(Key("partial month", PRIMARY, "hollow-dash"))
    if mean_value is not None:
        keys.append(Key(f"mean of complete months {money_short(mean_value)}", ACCENT, "dash"))
    area = _legend(svg, keys, area)
    _month_line(
        svg,
        area,
        list(d["month"]),
        _numbers(d["revenue"]),
        value_fmt=money_short,
        reference=mean_value,
        partial=partial.tolist(),
    )
    return svg.render()


def delivery_review_chart(df: pd.DataFrame) -> str | None:
    """Average review score per delivery-days bucket; the title carries the correlation."""
    d = _finite(df, "avg_review_score")
    if d.empty:
        return None
    d = d.assign(bucket_order=pd.to_numeric(d["bucket_order"], errors="coerce")).sort_values(
        "bucket_order"
    )
    corr = pd.to_numeric(d["correlation"], errors="coerce").dropna()
    scores = _numbers(d["avg_review_score"])
    labels = [
        f"{s:.2f}\n{o:,.0f} orders" if np.isfinite(o) else f"{s:.2f}"
        for s, o in zip(scores, _numbers(d["orders"]), strict=True)
    ]
    r = f" (correlation r = {corr.iloc[0]:.2f})" if len(corr) else ""
    svg, area = _canvas(SIZE, f"Review score by delivery time{r}")
    buckets = [str(b) for b in d["delivery_bucket"]]
    _columns(
        svg,
        area,
        buckets,
        [Series(scores, [PRIMARY] * len(buckets), labels)],
        value_fmt=lambda v: f"{v:.0f}",
        fixed_ticks=[0, 1, 2, 3, 4, 5],  # review scores run from 1 to 5
        x_title="delivery days (purchase to delivery)",
        y_title="average review score",
    )
    return svg.render()


def top_segments_chart(df: pd.DataFrame, top: int = TOP_SEGMENTS) -> str | None:
    """The ``top`` segments by customers (gold customer_segmentation), coloured by stage."""
    d = _finite(df, "customers")
    if d.empty:
        return None
    d = d.sort_values(["customers", "segment_label"], ascending=[False, True]).head(top)
    customers = _numbers(d["customers"])
    labels = [
        f"{c:,.0f} · {_percent(s)} of revenue"
        for c, s in zip(customers, _numbers(d["revenue_share"]), strict=True)
    ]
    svg, area = _canvas(TOP_SEGMENTS_SIZE, f"Top {len(d)} segments by customers")
    stages = _ordered(d["lifecycle_stage"], LIFECYCLE_STAGES)
    keys = [Key(s, _color(LIFECYCLE_COLORS, s)) for s in stages]
    area = _legend(svg, keys, area, title="lifecycle stage")
    colors = [_color(LIFECYCLE_COLORS, s) for s in d["lifecycle_stage"]]
    _bars(
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


def _channel_totals(df: pd.DataFrame) -> pd.DataFrame:
    """Channel total rows of channel_revenue (value_segment NULL), largest revenue first."""
    d = _finite(df, "revenue")
    d = d[d["value_segment"].isna()] if "value_segment" in d else d
    return d.sort_values(["revenue", "acquisition_channel"], ascending=[False, True])


def channel_value_chart(df: pd.DataFrame) -> str | None:
    """Revenue by acquisition channel stacked by value segment: absolute (left) and mix (right)."""
    d = _finite(df, "revenue")
    d = d[d["value_segment"].notna()]
    if d.empty:
        return None
    grid = _grid(d, "acquisition_channel", "value_segment", "revenue").fillna(0.0)
    totals = grid.sum(axis=1)
    order = sorted(grid.index, key=lambda c: (-totals[c], str(c)))  # largest at the top
    segs = _ordered(grid.columns, VALUE_SEGMENTS)
    grid = grid.reindex(index=order, columns=segs)
    mix = grid.div(totals[order].replace(0, np.nan), axis=0).fillna(0.0)
    channels = [str(c) for c in order]
    svg, area = _canvas(WIDE_SIZE, "Revenue by acquisition channel and value segment")
    area = _legend(svg, [Key(s, _color(VALUE_COLORS, s)) for s in segs], area)
    # The channel names belong to the left panel; the plots get 3:2 of the width left over.
    names = _widest(channels, FONT_SIZE) + TICK_GAP + 2
    names = min(names, area.width * MAX_LABEL_SHARE + TICK_GAP + 2)
    plots = Box(area.left + names, area.top, area.right, area.bottom).split((3, 2), gap=36)
    money = [Series(_numbers(grid[s]), [_color(VALUE_COLORS, s)] * len(order)) for s in segs]
    shares = [Series(_numbers(mix[s]), [_color(VALUE_COLORS, s)] * len(order)) for s in segs]
    _bars(
        svg,
        replace(plots[0], left=area.left),
        channels,
        money,
        value_fmt=money_short,
        min_step=1,
        x_title="revenue",
    )
    _bars(
        svg,
        plots[1],
        channels,
        shares,
        value_fmt=_pct_tick,
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
    revenue = _numbers(d["revenue"])
    labels = [
        f"{money_short(r)} · {_percent(s)}"
        for r, s in zip(revenue, _numbers(d["revenue_share"]), strict=True)
    ]
    colors = [QUALITATIVE[i % len(QUALITATIVE)] for i in range(len(d))]
    svg, area = _canvas(SIZE, "Revenue by acquisition channel")
    _bars(
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


def _retention_label(v: float) -> str:
    return f"{v * 100:.0f}%" if v >= 0.995 else f"{v * 100:.1f}%"


def cohort_heatmap_chart(df: pd.DataFrame, grain: str) -> str | None:
    """Retention rate by cohort (rows) and period index (columns) for one grain of cohort_retention.

    Index 0 is always 100% and would flatten the colour scale, so it is greyed out and the scale
    runs from 0 to the highest retention at index 1 or later. Cells of periods the data does not
    cover in full (``is_complete`` false) are left blank, like periods not reached yet: a 0.0%
    there would read as churn.
    """
    d = _finite(df, "retention_rate", "period_index")
    d = d[d["grain"] == grain]
    if d.empty:
        return None
    d = d.assign(cohort=pd.to_datetime(d["cohort"], errors="coerce")).dropna(subset=["cohort"])
    if d.empty:
        return None
    complete = d["is_complete"].fillna(False).astype(bool)
    # The grid is built from every row, then incomplete cells are blanked: each cohort keeps its
    # row (a cohort of a partial last period is a blank row, not a missing one).
    grid = _grid(d, "cohort", "period_index", "retention_rate", "mean")
    grid = grid.sort_index().reindex(columns=sorted(grid.columns))
    flags = d.assign(is_complete=complete.astype(float))
    kept = _grid(flags, "cohort", "period_index", "is_complete", "min")
    kept = kept.reindex(index=grid.index, columns=grid.columns)
    grid = grid.where(kept.to_numpy(dtype=float) == 1.0)
    values = grid.to_numpy(dtype=float)
    col_idx = np.array(grid.columns, dtype=int)
    mask = np.broadcast_to(col_idx == 0, values.shape) & np.isfinite(values)
    later = values[:, col_idx > 0]
    later = later[np.isfinite(later)]
    vmax = float(later.max()) if later.size and later.max() > 0 else 1.0
    rows = [_period_label(c, grain) for c in grid.index]
    cols = [str(c) for c in col_idx]
    height = min(COHORT_MAX_PX, max(COHORT_MIN_PX, COHORT_ROW_PX * len(rows) + COHORT_BASE_PX))
    annotate = len(cols) <= ANNOTATE_MAX_COLUMNS
    svg, area = _canvas(
        (SIZE[0], height), f"{grain.capitalize()}ly cohort retention (blank: period not complete)"
    )
    _heatmap(
        svg,
        area,
        values,
        rows,
        cols,
        cell_fmt=_retention_label if annotate else None,
        scale_fmt=_pct_tick,
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


def period1_retention_chart(df: pd.DataFrame) -> str | None:
    """KPI 1: per-cohort period-1 retention, one panel per grain, headline as a dashed line."""
    d = _finite(df, "period1_retention")
    if d.empty:
        return None
    grains = [g for g in ("quarter", "month") if (d["grain"] == g).any()]
    if not grains:
        return None
    svg, area = _canvas(
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
            title += f" · pooled {_percent(pooled)}"
        color = PRIMARY if grain == "quarter" else MID_BLUE
        values = _numbers(per["period1_retention"])
        _columns(
            svg,
            _subtitle(svg, title, panel),
            [_period_label(c, grain) for c in per["cohort"]],
            [Series(values, [color] * len(values))],
            value_fmt=_pct_tick,
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
    counts = _numbers(
        pd.Series(
            [row.get("customers_1_plus"), row.get("customers_2_plus"), row.get("customers_5_plus")]
        )
    )
    if not np.isfinite(counts).any():
        return None
    counts = [v if np.isfinite(v) else 0.0 for v in counts]
    convs = _numbers(
        pd.Series([None, row.get("conversion_1_to_2_plus"), row.get("conversion_2_plus_to_5_plus")])
    )
    labels = [
        f"{v:,.0f}" + (f" ({_percent(c)} of the previous step)" if np.isfinite(c) else "")
        for v, c in zip(counts, convs, strict=True)
    ]
    svg, area = _canvas(FUNNEL_SIZE, "Repeat funnel (log scale)")
    _bars(
        svg,
        area,
        steps,
        [Series(counts, [LIGHT, MID_BLUE, PRIMARY])],  # a log scale: zero draws no bar
        axis="log",
        x_title="customers (log scale)",
        end_labels=labels,
    )
    return svg.render()


def city_concentration_chart(df: pd.DataFrame, shown: int = TOP_CITIES_SHOWN) -> str | None:
    """Revenue share of the largest cities; the top-N cities of the KPI headline highlighted."""
    d = _finite(df, "revenue_share")
    if d.empty:
        return None
    d = d.assign(rank=pd.to_numeric(d["rank"], errors="coerce")).sort_values(
        ["rank", "customer_city"]
    )
    top_mask = d["is_top_n"].fillna(False).astype(bool)
    n_top = int(top_mask.sum())
    share = pd.to_numeric(d["top_n_revenue_share"], errors="coerce").dropna()
    head = float(share.iloc[0]) if len(share) else float(d.loc[top_mask, "revenue_share"].sum())
    d = d.head(max(shown, n_top))
    shares = _numbers(d["revenue_share"])
    labels = [f"{c}, {s}" for c, s in zip(d["customer_city"], d["customer_state"], strict=True)]
    colors = [PRIMARY if t else NEUTRAL for t in d["is_top_n"].fillna(False).astype(bool)]
    height = max(CITY_MIN_PX, CITY_ROW_PX * len(d) + CITY_BASE_PX)
    svg, area = _canvas(
        (SIZE[0], height), f"Top {n_top} cities generate {_percent(head)} of revenue"
    )
    _bars(
        svg,
        area,
        labels,
        [Series(shares, colors)],
        value_fmt=_pct_tick,
        min_step=0.001,
        x_title="share of revenue",
        end_labels=[_percent(v) for v in shares],
        category_size=LABEL_SIZE,
    )
    return svg.render()


def health_by_value_chart(df: pd.DataFrame) -> str | None:
    """Lifecycle-stage mix within each value segment, as 100% stacked horizontal bars."""
    d = _finite(df, "share_within_segment")
    if d.empty:
        return None
    grid = _grid(d, "value_segment", "lifecycle_stage", "share_within_segment").fillna(0.0)
    rows = _ordered(grid.index, VALUE_SEGMENTS)  # top to bottom, as in the table under it
    stages = _ordered(grid.columns, LIFECYCLE_STAGES)
    grid = grid.reindex(index=rows, columns=stages).fillna(0.0)
    svg, area = _canvas(HEALTH_SIZE, "Lifecycle stage mix by value segment")
    area = _legend(svg, [Key(s, _color(LIFECYCLE_COLORS, s)) for s in stages], area)
    pieces = [Series(_numbers(grid[s]), [_color(LIFECYCLE_COLORS, s)] * len(rows)) for s in stages]
    # Shares under 6% are too thin to carry a label.
    texts = [[_percent(v, 0) if v >= 0.06 else "" for v in p.values] for p in pieces]
    _bars(
        svg,
        area,
        rows,
        pieces,
        value_fmt=_pct_tick,
        axis="share",
        x_title="share of the segment's customers",
        inner_labels=texts,
    )
    return svg.render()
