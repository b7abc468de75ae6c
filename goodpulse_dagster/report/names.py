"""Names of the report, the one place: its files, the tables it reads, its sections, and the
categories its findings single out."""

from __future__ import annotations

from goodpulse_dagster import schema

DEFAULT_TITLE = "GoodPulse executive report"
HTML_FILE = "goodpulse_report.html"
MARKDOWN_FILE = "goodpulse_report.md"


# The tables build_report reads, with the columns it expects (exactly those of the table specs, schema/).
GOLD_INPUTS = ("customer_segmentation", "cohort_retention")
TABLE_COLUMNS: dict[str, dict[str, str]] = {
    **schema.KPI_TABLES,
    **schema.PREDICTION_KPI_TABLES,
    **{name: schema.GOLD_TABLES[name] for name in GOLD_INPUTS},
}
REPORT_TABLES = tuple(TABLE_COLUMNS)

# Section anchors and headings, in page order. Findings come right after the headline tiles:
# an executive reads the conclusions first and the evidence after.
SECTIONS: dict[str, str] = {
    "northstar": "Northstar metrics",
    "findings": "Findings and recommended actions",
    "frequency": "Customers by frequency tier",
    "value": "Revenue per customer by value segment",
    "recency-value": "Recency × value",
    "monthly": "Monthly revenue trend",
    "delivery": "Delivery days vs review score",
    "segments": "Segments and acquisition channels",
    "cohorts": "Cohort retention",
    "channels": "Revenue by acquisition channel",
    "lifecycle": "Lifecycle revenue distribution",
    "kpis": "KPI panels",
    "geography": "City concentration",
    "health": "Customer health by value segment",
    "predictions": "Predictive customer health",
    "appendix": "Appendix: metric definitions",
}

# Acquisition channels that do not name a marketing channel (METRICS.md).
NON_MARKETING_CHANNELS = ("unattributed", "unknown")
HIGH_VALUE_SEGMENTS = ("High Value", "VIP")
LAPSED_STAGES = ("At Risk", "Dormant")
HIGH_VALUE_SEGMENT = "High Value"
ACTIVE_STAGE = "Active"
ONE_TIME_TIER = "One-time"
VIP_SEGMENT = "VIP"
TOP_SEGMENTS_TABLE = 10  # rows in the top-segments table (the chart shows charts.TOP_SEGMENTS)

NO_DATA = "No data"
