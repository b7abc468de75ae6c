"""The executive report inside the Dagster UI, written into a warehouse of the previous release.

One lake run and one analytics run of the hand-made scenario (fixtures/handmade_raw.py) into a
warehouse that already holds ``gold.cohort_retention`` and ``kpi.monthly_revenue`` with the
columns they had before ``is_complete`` (as a warehouse from the previous release does). The run
must replace them with the new columns and the hand-worked rows, and the report asset's
materialization, read back from the Dagster instance, must carry the whole Markdown report.
"""

from __future__ import annotations

import base64
import re

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from goodpulse_dagster import schema
from goodpulse_dagster.errors import UserError
from goodpulse_dagster.report import GOLD_INPUTS, MARKDOWN_FILE, SECTIONS
from goodpulse_dagster.report.assets import report_from_warehouse
from goodpulse_dagster_tests.fixtures.handmade_expected import (
    COHORT_RETENTION_ROWS,
    MONTHLY_REVENUE_ROWS,
)
from goodpulse_dagster_tests.fixtures.handmade_raw import write_handmade_raw
from goodpulse_dagster_tests.fixtures.handmade_silver import HANDMADE_AS_OF
from goodpulse_dagster_tests.fixtures.kpi_tables import build_kpi_tables
from goodpulse_dagster_tests.pipeline import lake_settings, materialize_analytics, materialize_lake
from goodpulse_dagster_tests.test_gold_kpi import assert_frame

pytestmark = pytest.mark.slow

REPORT_KEY = AssetKey(["report", "executive_report"])

# The two period tables as the previous release created them: no is_complete column.
OLD_TABLES = {
    "gold.cohort_retention": {
        k: v for k, v in schema.COHORT_RETENTION_COLUMNS.items() if k != "is_complete"
    },
    "kpi.monthly_revenue": {
        k: v for k, v in schema.KPI_TABLES["monthly_revenue"].items() if k != "is_complete"
    },
}


def _create_previous_release_tables(warehouse: str) -> None:
    con = duckdb.connect(warehouse)
    try:
        for name, columns in OLD_TABLES.items():
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {name.split('.')[0]}")
            cols = ", ".join(f"{c} {t}" for c, t in columns.items())
            con.execute(f"CREATE TABLE {name} ({cols})")
            # One stale row, which must not survive the run.
            con.execute(f"INSERT INTO {name} SELECT {', '.join(['NULL'] * len(columns))}")
    finally:
        con.close()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("report_ui")
    raw_dir = write_handmade_raw(tmp_path / "raw")
    settings = lake_settings(tmp_path / "home", raw_dir, GOODPULSE_AS_OF=HANDMADE_AS_OF.isoformat())
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    _create_previous_release_tables(str(settings.warehouse_path))
    instance = DagsterInstance.ephemeral()
    # The hand-made orders run from 2017 Q1 to 2018 Q2.
    lake = materialize_lake(settings, "2017-01-01", "2018-04-01", instance=instance)
    assert lake.success
    analytics = materialize_analytics(settings, instance=instance)
    assert analytics.success
    return settings, instance


def test_an_existing_warehouse_takes_the_new_columns(run):
    settings, _ = run
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        cohorts = con.sql("SELECT * FROM gold.cohort_retention").df()
        monthly = con.sql("SELECT * FROM kpi.monthly_revenue").df()
    finally:
        con.close()
    # Stored as the transforms return them: the hand-worked rows, stale row gone.
    cohorts["cohort"] = cohorts["cohort"].dt.date
    cohorts["period"] = cohorts["period"].dt.date
    monthly["month"] = monthly["month"].dt.date
    assert_frame(cohorts, schema.COHORT_RETENTION_COLUMNS, COHORT_RETENTION_ROWS)
    assert_frame(monthly, schema.KPI_TABLES["monthly_revenue"], MONTHLY_REVENUE_ROWS)


def test_the_report_metadata_is_the_whole_markdown_report(run):
    settings, instance = run
    event = instance.get_latest_materialization_event(REPORT_KEY)
    assert event is not None
    metadata = event.asset_materialization.metadata
    markdown = metadata["report"].value
    # The very document written for sharing, read back from the instance.
    assert markdown == (settings.reports_dir / MARKDOWN_FILE).read_text(encoding="utf-8")
    for title in SECTIONS.values():
        assert f"\n## {title}\n" in markdown, title
    # Charts inline: data-URI SVG images, each one a whole SVG document.
    images = re.findall(r"!\[[^\]]*\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert len(images) >= 10
    assert all(base64.b64decode(i).decode("utf-8").startswith("<svg ") for i in images)
    # The hand-made completed orders run from 2017-01-10 to 2018-06-25: both ends are partial.
    assert "the partial months (Jan 2017, Jun 2018) are left out" in markdown
    # The HTML file stays for sharing.
    assert metadata["html_path"].value.endswith("goodpulse_report.html")
    assert "charts" not in metadata  # the report holds them; not the same images twice


def test_goodpulse_report_on_a_warehouse_of_the_previous_release_says_to_run(tmp_path):
    # `goodpulse report` re-renders from the warehouse: one written before is_complete cannot
    # back the report's complete-period numbers, so it says what to do instead of a traceback.
    warehouse = tmp_path / "warehouse.duckdb"
    tables = build_kpi_tables()
    tables["monthly_revenue"] = tables["monthly_revenue"].drop(columns=["is_complete"])
    con = duckdb.connect(str(warehouse))
    for name, df in tables.items():
        layer = "gold" if name in GOLD_INPUTS else "kpi"
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
        con.register("df", df)
        con.execute(f"CREATE TABLE {layer}.{name} AS SELECT * FROM df")
        con.unregister("df")
    con.close()
    with pytest.raises(UserError, match=r"kpi\.monthly_revenue lacks is_complete.*goodpulse run"):
        report_from_warehouse(warehouse, tmp_path / "reports")
    assert not (tmp_path / "reports" / MARKDOWN_FILE).exists()
