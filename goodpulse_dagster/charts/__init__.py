"""The charts of the executive report and of the KPI assets' UI metadata, as SVG documents.

Every chart function takes the one table it draws (with the columns of the table specs (``schema/``)) and returns
an SVG document (a ``str``), or ``None`` when the table has nothing to draw. No Dagster imports:
the report package and the tests call these directly.

The drawing code is the small library in ``charts/svg`` (text metrics, scales, the document,
layout and panels); the modules here only choose the data, the colours and the words, one module
per family of charts. The output is deterministic: the same table gives the same bytes.
"""

from goodpulse_dagster.charts.delivery import delivery_review_chart
from goodpulse_dagster.charts.format import CURRENCY, iso_day, money_short, period_label
from goodpulse_dagster.charts.predictions import (
    PREDICTION_CHARTS,
    backtest_chart,
    churn_trend_chart,
    early_warning_chart,
)
from goodpulse_dagster.charts.retention import (
    cohort_heatmap_chart,
    cohort_month_chart,
    cohort_quarter_chart,
    period1_retention_chart,
    repeat_funnel_chart,
)
from goodpulse_dagster.charts.revenue import (
    channel_revenue_chart,
    channel_value_chart,
    city_concentration_chart,
    monthly_revenue_chart,
)
from goodpulse_dagster.charts.segments import (
    frequency_tier_chart,
    health_by_value_chart,
    lifecycle_revenue_chart,
    recency_value_heatmap,
    top_segments_chart,
    value_concentration_chart,
    value_segment_rpc_chart,
)
from goodpulse_dagster.charts.style import (
    ANNOTATE_MAX_COLUMNS,
    FREQUENCY_COLORS,
    LIFECYCLE_COLORS,
    QUALITATIVE,
    SIZE,
    TOP_CITIES_SHOWN,
    TOP_SEGMENTS,
    VALUE_COLORS,
    WIDE_SIZE,
)
from goodpulse_dagster.charts.svg import (
    BACKGROUND,
    BLUES,
    FONT_FAMILY,
    FONT_SIZE,
    LABEL_SIZE,
    LIGHT,
    LINE_HEIGHT,
    MASKED,
    MAX_BAR_HEIGHT,
    MAX_COLUMN_WIDTH,
    MAX_LABEL_SHARE,
    MIN_FONT_SIZE,
    MONTH_NAMES,
    PRIMARY,
    heat_color,
    nice_ticks,
    rgb,
    svg_size,
    text_width,
)

__all__ = [
    "ANNOTATE_MAX_COLUMNS",
    "BACKGROUND",
    "BLUES",
    "CURRENCY",
    "FONT_FAMILY",
    "FONT_SIZE",
    "FREQUENCY_COLORS",
    "LABEL_SIZE",
    "LIFECYCLE_COLORS",
    "LIGHT",
    "LINE_HEIGHT",
    "MASKED",
    "MAX_BAR_HEIGHT",
    "MAX_COLUMN_WIDTH",
    "MAX_LABEL_SHARE",
    "MIN_FONT_SIZE",
    "MONTH_NAMES",
    "PREDICTION_CHARTS",
    "PRIMARY",
    "QUALITATIVE",
    "SIZE",
    "TOP_CITIES_SHOWN",
    "TOP_SEGMENTS",
    "VALUE_COLORS",
    "WIDE_SIZE",
    "backtest_chart",
    "channel_revenue_chart",
    "channel_value_chart",
    "churn_trend_chart",
    "city_concentration_chart",
    "cohort_heatmap_chart",
    "cohort_month_chart",
    "cohort_quarter_chart",
    "delivery_review_chart",
    "early_warning_chart",
    "frequency_tier_chart",
    "health_by_value_chart",
    "heat_color",
    "iso_day",
    "lifecycle_revenue_chart",
    "money_short",
    "monthly_revenue_chart",
    "nice_ticks",
    "period1_retention_chart",
    "period_label",
    "recency_value_heatmap",
    "repeat_funnel_chart",
    "rgb",
    "svg_size",
    "text_width",
    "top_segments_chart",
    "value_concentration_chart",
    "value_segment_rpc_chart",
]
