"""Chart sizes and the colours of the project's categories (frequency tiers, value segments,
lifecycle stages, channels): what the chart definitions choose, apart from the drawing library's
own look (svg/theme.py)."""

from __future__ import annotations

from goodpulse_dagster.schema import FREQUENCY_TIERS, LIFECYCLE_STAGES, VALUE_SEGMENTS

# Chart sizes in pixels (width, height): the sizes of the former 100-dpi PNGs.
SIZE = (800, 400)
WIDE_SIZE = (900, 420)  # two panels side by side
TOP_SEGMENTS_SIZE = (800, 460)
FUNNEL_SIZE = (800, 320)
HEALTH_SIZE = (800, 360)
# Charts whose height follows their number of rows: height = base + rows x row, within limits.
COHORT_ROW_PX, COHORT_BASE_PX, COHORT_MIN_PX, COHORT_MAX_PX = 26, 160, 320, 900
CITY_ROW_PX, CITY_BASE_PX, CITY_MIN_PX = 27, 120, 360


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


TOP_SEGMENTS = 10  # bars in the top-segments chart
TOP_CITIES_SHOWN = 15  # bars in the city chart (top-N highlighted within them)
ANNOTATE_MAX_COLUMNS = 12  # cohort heatmaps print values in cells up to this many columns


def category_color(mapping: dict[str, str], key: str) -> str:
    return mapping.get(key, UNKNOWN_CATEGORY_COLOR)
