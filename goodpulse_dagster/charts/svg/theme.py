"""The look of every chart: fonts, spacing and colours, in one place.

Sizes are in px. The blues, orange and greys are those of the report's stylesheet
(report/report.css), so the charts match the page around them.
"""

from __future__ import annotations

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


MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
