"""Text metrics: how wide a label will be, without a font file or a renderer.

Margins are sized to the labels they hold, and a label that would not fit is shrunk
(``fit_size``) or shortened (``shorten``) before it can overlap or be clipped. The widths come
from the advance widths of DejaVu Sans, the widest family of theme.FONT_FAMILY.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Iterable

from goodpulse_dagster.charts.svg.theme import MIN_FONT_SIZE

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
CAP_HEIGHT = 0.73  # of DejaVu Sans, in em: how far capitals rise above the baseline
DESCENT = 0.24  # how far descenders fall below it


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
    longest = 0
    for line in str(text).split("\n"):
        units = sum(table[c] if c in table else _advance_other(c, bold) for c in line)
        longest = max(longest, units)
    return longest * size / 1000


def widest(texts: Iterable[str], size: float, bold: bool = False) -> float:
    return max((text_width(t, size, bold) for t in texts), default=0.0)


def line_count(text: str) -> int:
    return str(text).count("\n") + 1


def fit_size(texts: Iterable[str], room: float, size: float, bold: bool = False) -> float:
    """``size``, or the smaller size at which the widest of ``texts`` fits in ``room`` px."""
    longest = widest(texts, size, bold)
    if longest <= room or longest == 0:
        return size
    return max(MIN_FONT_SIZE, math.floor(size * room / longest * 2) / 2)


def shorten(text: str, room: float, size: float, bold: bool = False) -> str:
    """``text``, or its longest prefix that fits in ``room`` px followed by an ellipsis."""
    if text_width(text, size, bold) <= room:
        return text
    while text and text_width(text + "…", size, bold) > room:
        text = text[:-1]
    return text.rstrip() + "…"
