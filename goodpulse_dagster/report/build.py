"""Building the report: the tables in, the findings and sections computed, both documents out.

``build_report`` takes DataFrames keyed by table name (the columns of the table specs (``schema/``)) and returns a
``Report`` with the HTML page, its Markdown twin, the charts, and the findings and
recommendations with every number they quote (``numbers``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pandas as pd

from goodpulse_dagster.params import MetricParams
from goodpulse_dagster.report.blocks import Chart
from goodpulse_dagster.report.figures import CHART_SPECS, REPORT_CHART_KEYS, render_charts
from goodpulse_dagster.report.findings import find_facts
from goodpulse_dagster.report.formatting import NA
from goodpulse_dagster.report.inputs import normalise_table
from goodpulse_dagster.report.names import DEFAULT_TITLE, REPORT_TABLES
from goodpulse_dagster.report.recommendations import THRESHOLDS, Thresholds, recommend
from goodpulse_dagster.report.render_html import render_html
from goodpulse_dagster.report.render_markdown import chart_image, md_text, render_markdown
from goodpulse_dagster.report.sections import SECTION_BUILDERS, Conclusions, appendix_section
from goodpulse_dagster.report.sections_predictions import predictions_section
from goodpulse_dagster.settings import ReportMargins


@dataclass
class Report:
    """The rendered report. Shares in ``numbers`` are fractions (0.123 = 12.3%)."""

    html: str
    markdown: str
    charts: list[Chart]
    findings: list[str]  # the sentences of the Findings list
    numbers: dict[str, float]  # every number quoted in findings and recommendations, by name
    recommendations: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)  # section headings, in order
    title: str = DEFAULT_TITLE
    generated_at: datetime | None = None
    as_of: date | None = None

    def chart(self, key: str) -> Chart | None:
        """The chart with ``key``, or None when it was not drawn (its table had no data)."""
        if key not in CHART_SPECS:
            raise KeyError(f"unknown chart key {key!r}; known: {sorted(CHART_SPECS)}")
        return next((c for c in self.charts if c.key == key), None)

    def chart_markdown(self, keys: str | Iterable[str]) -> str:
        """Markdown with the charts ``keys`` embedded as data-URI images (for Dagster UI metadata).

        Charts that were not drawn for lack of data are left out; an unknown key is an error.
        """
        keys = [keys] if isinstance(keys, str) else list(keys)
        found = [c for c in (self.chart(k) for k in keys) if c is not None]
        return "\n\n".join(f"**{md_text(c.title)}**\n\n{chart_image(c)}" for c in found)


def compute_findings(
    tables: dict[str, pd.DataFrame],
    thresholds: Thresholds = THRESHOLDS,
    margins: ReportMargins | None = None,
) -> tuple[list[str], list[str], dict[str, float]]:
    """(findings, recommendations, numbers) from normalised tables."""
    facts = find_facts(tables, margins or ReportMargins())
    return facts.findings, recommend(facts, thresholds), facts.numbers


def build_report(
    tables: dict[str, pd.DataFrame],
    *,
    title: str = DEFAULT_TITLE,
    generated_at: datetime | None = None,
    params: MetricParams | None = None,
    thresholds: Thresholds = THRESHOLDS,
    margins: ReportMargins | None = None,
) -> Report:
    """Render the executive report from the KPI tables and the gold segmentation/cohort tables.

    ``tables`` is keyed by table name (``REPORT_TABLES``); a missing or empty table gives a
    "No data" section instead of an error. ``params`` only feeds the appendix (the thresholds in
    force); the numbers themselves come from the tables. ``margins`` (default: ReportMargins())
    decide when a group stands out enough to act on. ``generated_at`` defaults to now (UTC);
    pass it to get byte-identical output for identical tables.
    """
    t = {name: normalise_table(name, tables.get(name)) for name in REPORT_TABLES}
    generated_at = generated_at or datetime.now(UTC)
    margins = margins or ReportMargins()
    findings, recs, numbers = compute_findings(t, thresholds, margins)
    chart_map = render_charts(t)
    conclusions = Conclusions(findings, recs, numbers, margins)
    sections = [build(t, chart_map, conclusions) for build in SECTION_BUILDERS]
    sections.append(predictions_section(t, params))
    sections.append(appendix_section(params))
    as_of_ts = t["northstar"]["as_of"].dropna()
    as_of = as_of_ts.iloc[0].date() if len(as_of_ts) else None
    meta = (
        f"Data as of {as_of.isoformat() if as_of else NA} · generated "
        f"{generated_at.strftime('%Y-%m-%d %H:%M %Z').strip()}"
    )
    return Report(
        html=render_html(title, meta, sections),
        markdown=render_markdown(title, meta, sections),
        charts=[chart_map[k] for k in REPORT_CHART_KEYS if k in chart_map],
        findings=findings,
        numbers=numbers,
        recommendations=recs,
        sections=[s.title for s in sections],
        title=title,
        generated_at=generated_at,
        as_of=as_of,
    )
