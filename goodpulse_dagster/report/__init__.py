"""The GoodPulse executive report: KPI and gold tables in, one HTML page and its Markdown twin out.

Pure rendering, no Dagster imports. How it is built:

* ``inputs``: the tables, normalised to the columns of the table specs (``schema/``);
* ``findings`` and ``findings_predictions``: what the numbers say, sentences written from the
  data, every number quoted recorded by name; ``recommendations``: actions chosen by rules on
  those numbers (``Thresholds``, ``settings.ReportMargins``);
* ``blocks``: the block model (text, tiles, tables, figures, lists, panels, sections);
  ``sections`` and ``sections_predictions`` build one section each from the tables;
* ``render_html`` (Jinja2 templates, ``report.css`` inlined) and ``render_markdown`` render the
  same sections, so the two documents cannot drift apart;
* ``figures``: which chart (``goodpulse_dagster.charts``) draws which table, also for the KPI
  assets' metadata in the Dagster UI;
* ``files`` writes the documents atomically; ``stale`` sets or clears their stale banner.
"""

from goodpulse_dagster.report.blocks import Chart
from goodpulse_dagster.report.build import Report, build_report, compute_findings
from goodpulse_dagster.report.figures import (
    CHART_SPECS,
    REPORT_CHART_KEYS,
    kpi_chart_markdown,
    prediction_chart_markdown,
)
from goodpulse_dagster.report.files import write_report
from goodpulse_dagster.report.findings_predictions import prediction_section_markdown
from goodpulse_dagster.report.formatting import fmt_pct
from goodpulse_dagster.report.inputs import normalise_table
from goodpulse_dagster.report.metric_definitions import metric_definitions
from goodpulse_dagster.report.names import (
    DEFAULT_TITLE,
    GOLD_INPUTS,
    HTML_FILE,
    MARKDOWN_FILE,
    REPORT_TABLES,
    SECTIONS,
    TABLE_COLUMNS,
)
from goodpulse_dagster.report.recommendations import THRESHOLDS, Thresholds
from goodpulse_dagster.report.stale import mark_report_stale, with_stale_banner

__all__ = [
    "CHART_SPECS",
    "DEFAULT_TITLE",
    "GOLD_INPUTS",
    "HTML_FILE",
    "MARKDOWN_FILE",
    "REPORT_CHART_KEYS",
    "REPORT_TABLES",
    "SECTIONS",
    "TABLE_COLUMNS",
    "THRESHOLDS",
    "Chart",
    "Report",
    "Thresholds",
    "build_report",
    "compute_findings",
    "fmt_pct",
    "kpi_chart_markdown",
    "mark_report_stale",
    "metric_definitions",
    "normalise_table",
    "prediction_chart_markdown",
    "prediction_section_markdown",
    "with_stale_banner",
    "write_report",
]
