"""The executive report: an HTML page and its Markdown twin, written from the warehouse. The whole
Markdown report (charts inline, as data-URI images) is the materialization's ``report`` metadata,
so the Dagster UI shows it without opening a local path; the HTML file is for sharing."""

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)

from goodpulse_dagster.asset_conventions import DUCKDB_POOL, OWNERS
from goodpulse_dagster.automation.conditions import analytics_automation_condition
from goodpulse_dagster.errors import UserError
from goodpulse_dagster.report import (
    GOLD_INPUTS,
    REPORT_TABLES,
    TABLE_COLUMNS,
    build_report,
    mark_report_stale,
    write_report,
)
from goodpulse_dagster.resources.storage import AnalyticsSettings, ReportsResource
from goodpulse_dagster.resources.warehouse import connect_warehouse
from goodpulse_dagster.retries import STEP_RETRY_POLICY, user_errors_fail_fast
from goodpulse_dagster.run_trust import (
    DependencyGraph,
    guard_upstream_checks,
    home_of_reports,
    read_state,
    record_good_run,
    stale_notice,
)
from goodpulse_dagster.schema import EXECUTIVE_REPORT, GOLD, KPI, REPORT
from goodpulse_dagster.settings import report_margins_from_env

CODE_VERSION = "2"  # 2: complete periods only, margins on recommendations (issue 20)


def _layer(table: str) -> str:
    return GOLD if table in GOLD_INPUTS else KPI


def report_from_tables(
    tables: dict[str, pd.DataFrame], out_dir: Path, params=None
) -> tuple[object, dict[str, Path]]:
    # The margins are read when the report is written (GOODPULSE_REPORT_*, settings.py), like
    # every other setting of a run.
    report = build_report(
        tables, generated_at=datetime.now(UTC), params=params, margins=report_margins_from_env()
    )
    return report, write_report(report, out_dir)


def report_from_warehouse(warehouse: Path, out_dir: Path) -> dict[str, Path]:
    """``goodpulse report``: the same report, read straight from the warehouse tables."""
    con = connect_warehouse(str(warehouse), read_only=True)
    try:
        present = {
            f"{schema_name}.{name}"
            for schema_name, name in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
            ).fetchall()
        }
        tables = {
            t: con.sql(f"SELECT * FROM {_layer(t)}.{t}").df()
            for t in REPORT_TABLES
            if f"{_layer(t)}.{t}" in present
        }
    finally:
        con.close()
    stale = {
        f"{_layer(t)}.{t}": missing
        for t, df in tables.items()
        if (missing := [c for c in TABLE_COLUMNS[t] if c not in df.columns])
    }
    absent = [f"{_layer(t)}.{t}" for t in REPORT_TABLES if t not in tables]
    if stale or absent:
        # A warehouse written by an earlier release (before is_complete, or before the prediction
        # tables): reporting from it would need numbers it does not hold. A run rebuilds it.
        listed = "; ".join(
            [f"{name} lacks {', '.join(cols)}" for name, cols in stale.items()]
            + ([f"no table {', '.join(absent)}"] if absent else [])
        )
        raise UserError(
            f"The warehouse {warehouse} was written by an earlier release ({listed}). Run "
            "`goodpulse run` to rebuild it, then `goodpulse report`."
        )
    paths = report_from_tables(tables, out_dir)[1]
    # The warehouse holds the last good tables; failures since still make them stale.
    mark_report_stale(out_dir, stale_notice(read_state(home_of_reports(out_dir))))
    return paths


@asset(
    name=EXECUTIVE_REPORT,
    key_prefix=[REPORT],
    group_name=REPORT,
    ins={t: AssetIn(key=AssetKey([_layer(t), t])) for t in REPORT_TABLES},
    description=(
        "The executive report: northstar tiles, findings and recommended actions written from the "
        "KPI tables, charts (frequency tiers, value segments, recency x value, monthly revenue, "
        "delivery vs review, segments and channels, cohort heatmaps, lifecycle, KPI panels, "
        "cities, customer health) and an appendix of metric definitions. The whole Markdown "
        "report, charts inline, is this asset's `report` metadata (open the latest "
        "materialization). Writes "
        "`$GOODPULSE_HOME/reports/goodpulse_report.html` (self-contained: no script, font or image "
        "fetched at view time) and `goodpulse_report.md`."
    ),
    kinds={"html", "svg"},
    owners=OWNERS,
    code_version=CODE_VERSION,
    pool=DUCKDB_POOL,
    retry_policy=STEP_RETRY_POLICY,
    automation_condition=analytics_automation_condition(),
    tags={"layer": REPORT},
    metadata={"tables_read": ", ".join(f"{_layer(t)}.{t}" for t in REPORT_TABLES)},
)
def executive_report(
    context: AssetExecutionContext,
    reports: ReportsResource,
    dependency_graph: ResourceParam[DependencyGraph],
    analytics: AnalyticsSettings,
    **tables: pd.DataFrame,
) -> MaterializeResult:
    with user_errors_fail_fast():
        guard_upstream_checks(context, reports.directory, dependency_graph)
        report, paths = report_from_tables(tables, Path(reports.directory), analytics.params())
    # Recorded here, by the run that published, not by the CLI: UI, schedule and automation
    # runs publish through this asset too.
    record_good_run(home_of_reports(reports.directory), context.run.run_id)
    metadata = {
        # The whole report, as written to goodpulse_report.md: sections, tables, findings and
        # its charts as data-URI SVG images, which the UI's Markdown renderer shows inline.
        # (It replaces the former "charts" entry: the same images twice doubled the event.)
        "report": MetadataValue.md(report.markdown),
        "findings": MetadataValue.md("\n".join(f"- {f}" for f in report.findings)),
        "html_path": MetadataValue.path(str(paths["html"])),
        "markdown_path": MetadataValue.path(str(paths["markdown"])),
    }
    metadata.update(
        {f"number_{k}": MetadataValue.float(float(v)) for k, v in report.numbers.items()}
    )
    return MaterializeResult(metadata=metadata)


report_assets = [executive_report]
