"""Trustworthy numbers at the run level (docs/data_quality.md, "Runs").

- isolation: a failing lake asset stops only itself and its dependents; ``goodpulse run`` builds
  the rest, then exits 1 with a summary naming each failed step and check and its cause;
- blocking across runs: after a blocking silver check failed, gold, KPIs and the report are not
  rebuilt, whichever way the analytics are started (the CLI's analytics run, a run requested as
  the landing-zone sensor requests runs, declarative automation);
- messages: a user error is one plain sentence and no traceback (``--debug`` shows it); a held
  warehouse lock is reported within seconds, naming the process that holds it;
- staleness: the last good run and the failures since are kept in the state file; the report
  and ``goodpulse kpis`` carry a notice until the next good run.
"""

import html
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import duckdb
import psutil
import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AutomationCondition,
    BetaWarning,
    DagsterInstance,
    Definitions,
    Output,
    PreviewWarning,
    asset,
    evaluate_automation_conditions,
    materialize,
)

from goodpulse_dagster import cli
from goodpulse_dagster.automation.jobs import ANALYTICS_JOB, LAKE_JOB
from goodpulse_dagster.automation.sensors import LANDING_SENSOR, TRIGGER_TAG
from goodpulse_dagster.definitions import build_definitions
from goodpulse_dagster.execution import execute_job_here
from goodpulse_dagster.partitions import quarterly_partitions
from goodpulse_dagster.report import HTML_FILE, MARKDOWN_FILE, with_stale_banner
from goodpulse_dagster.run_trust import (
    read_state,
    record_failures,
    stale_notice,
    user_error_message,
)
from goodpulse_dagster.schema import GOLD, KPI, SOURCE_TABLES
from goodpulse_dagster_tests.test_checks import clean_tables, settings_for, write_zone

warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)

REPO = Path(__file__).resolve().parents[1]
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
Q1, Q2 = "2017-01-01", "2017-04-01"
RANGE = {"dagster/asset_partition_range_start": Q1, "dagster/asset_partition_range_end": Q2}
LEADS_FILE = SOURCE_TABLES["marketing_qualified_leads"].file_name


def bad_product_tables() -> dict:
    """One item of five names an unknown product: silver quarantines it, and the orphan rate
    (0.2) is above the error rate (0.01), so silver/order_items' references_products fails with
    ERROR (blocking)."""
    tables = clean_tables()
    tables["order_items"][0]["product_id"] = "p9"
    return tables


def warehouse_tables(settings) -> dict[str, list]:
    """Every gold and KPI table of the warehouse, as sorted rows."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        names = con.sql(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            f"WHERE schema_name IN ('{GOLD}', '{KPI}')"
        ).fetchall()
        return {f"{s}.{t}": sorted(map(repr, con.sql(f"SELECT * FROM {s}.{t}").fetchall()))
                for s, t in names}  # fmt: skip
    finally:
        con.close()


def report_text(settings, name: str = HTML_FILE) -> str:
    return (settings.reports_dir / name).read_text(encoding="utf-8")


def without_banner(settings, name: str = HTML_FILE) -> str:
    return with_stale_banner(report_text(settings, name), None, markdown=name == MARKDOWN_FILE)


def run_cli(monkeypatch, capsys, instance, *argv) -> tuple[int, str, str]:
    """``goodpulse <argv>`` in this process on ``instance``: (exit status, stdout, stderr)."""
    monkeypatch.setattr(cli, "_instance", lambda: instance)
    status = 0
    try:
        cli.main(list(argv))
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def step_failure_causes(result) -> dict[str, str]:
    return {
        e.step_key: user_error_message(e.event_specific_data.error)
        for e in result.all_events
        if e.event_type_value == "STEP_FAILURE"
    }


# --- Isolation and staleness through `goodpulse run` ------------------------------------------


def test_a_failing_asset_stops_only_its_dependents_and_marks_the_report_stale(
    tmp_path, monkeypatch, capsys
):
    raw = write_zone(tmp_path / "raw", clean_tables())
    home = tmp_path / "home"
    settings = settings_for(home, raw)
    instance = DagsterInstance.ephemeral()
    status, out, _ = run_cli(monkeypatch, capsys, instance, "run", "--home", str(home),
                             "--raw-dir", str(raw))  # fmt: skip
    assert status == 0, out
    good = read_state(home)
    assert good["failures_since"] == [] and good["last_good"]["run_id"]
    assert "These figures are from" not in report_text(settings)
    before = warehouse_tables(settings)

    # The marketing leads file disappears: its bronze asset fails, and with it silver leads and
    # what reads them (customer_360, everything built from it, the report).
    (raw / LEADS_FILE).unlink()
    status, out, err = run_cli(monkeypatch, capsys, instance, "run", "--home", str(home),
                               "--raw-dir", str(raw))  # fmt: skip
    assert status == cli.EXIT_RUN_FAILED
    cause = (
        f"no source file for table 'marketing_qualified_leads' in {raw}: expected "
        f"{LEADS_FILE} (a full export) or marketing_qualified_leads/<YYYY>-Q<n>.csv drops"
    )
    assert out.endswith(
        "\n1 failure(s); everything that does not depend on them was built:\n"
        f"  - step bronze__marketing_qualified_leads: {cause}\n"
    )
    assert "Traceback" not in out + err
    # Everything else was built: the rest of the lake, and the analytics not reading leads.
    state = read_state(home)
    [failure] = state["failures_since"]
    assert (failure["what"], failure["cause"]) == ("step bronze__marketing_qualified_leads", cause)
    after = warehouse_tables(settings)
    assert after["gold.cohort_retention"] == before["gold.cohort_retention"]
    assert after["kpi.northstar"] == before["kpi.northstar"]  # kept, not rebuilt
    # The last good report stays, marked stale, in both formats and above `goodpulse kpis`.
    notice = (
        f"These figures are from the last good run at {good['last_good']['at']} (run "
        f"{good['last_good']['run_id']}); since then: step bronze__marketing_qualified_leads: "
        f"{cause}"
    )
    assert html.escape(notice) in report_text(settings)
    assert f"> **Stale.** {notice}\n" in report_text(settings, MARKDOWN_FILE)
    status, out, _ = run_cli(monkeypatch, capsys, instance, "kpis", "--home", str(home))
    assert status == 0 and out.startswith(f"\n{notice}\n\nHeadline KPIs\n")
    # Only what reads the leads was held back: cohort_retention was rebuilt, customer_360 not.
    latest = {
        name: instance.fetch_materializations(AssetKey([GOLD, name]), limit=1).records[0].run_id
        for name in ("cohort_retention", "customer_360")
    }
    assert latest["cohort_retention"] != latest["customer_360"] == good["last_good"]["run_id"]
    # `goodpulse report` renders the kept tables again, with the notice.
    status, _, _ = run_cli(monkeypatch, capsys, instance, "report", "--home", str(home))
    assert status == 0 and html.escape(notice) in report_text(settings)

    # The file comes back: a good run, and the notice is gone everywhere.
    write_zone(raw, clean_tables())
    status, out, _ = run_cli(monkeypatch, capsys, instance, "run", "--home", str(home),
                             "--raw-dir", str(raw))  # fmt: skip
    assert status == 0, out
    assert read_state(home)["failures_since"] == []
    assert "These figures are from" not in report_text(settings)
    assert "These figures are from" not in report_text(settings, MARKDOWN_FILE)
    status, out, _ = run_cli(monkeypatch, capsys, instance, "kpis", "--home", str(home))
    assert out.startswith("\nHeadline KPIs\n")


# --- Blocking across runs ----------------------------------------------------------------------


BAD_LAKE: list = []


@pytest.fixture(scope="module")
def blocked(tmp_path_factory):
    """A good lake + analytics run, then a lake run whose silver/order_items check fails with
    ERROR, on one instance: (settings, defs, instance, warehouse and report before, cursor)."""
    root = tmp_path_factory.mktemp("blocked")
    raw = write_zone(root / "raw", clean_tables())
    settings = settings_for(root / "home", raw)
    defs = build_definitions(settings)
    instance = DagsterInstance.ephemeral()
    start = evaluate_automation_conditions(defs=defs, instance=instance)
    lake, analytics = defs.resolve_job_def(LAKE_JOB), defs.resolve_job_def(ANALYTICS_JOB)
    assert execute_job_here(lake, instance, QUIET, tags=RANGE).success
    assert execute_job_here(analytics, instance, QUIET).success
    good = evaluate_automation_conditions(defs=defs, instance=instance, cursor=start.cursor)
    before = (warehouse_tables(settings), without_banner(settings))

    write_zone(raw, bad_product_tables())
    bad = execute_job_here(lake, instance, QUIET, tags=RANGE, raise_on_error=False)
    [check] = [e for e in bad.get_asset_check_evaluations() if not e.passed]
    assert (check.asset_key, check.check_name, check.severity) == (
        AssetKey(["silver", "order_items"]), "references_products", AssetCheckSeverity.ERROR,
    )  # fmt: skip
    BAD_LAKE.append(bad)  # for test_the_failed_check_says_its_cause
    return settings, defs, instance, before, good.cursor


BLOCKED_MESSAGE = (
    "Not rebuilt: check references_products of silver/order_items failed: {cause}. Gold, KPIs "
    "and the report were not rebuilt; the last good ones are kept. Fix the input and run the "
    "lake again."
)


def _cause(instance) -> str:
    key = AssetCheckKey(AssetKey(["silver", "order_items"]), "references_products")
    return instance.get_latest_asset_check_evaluation_record(key).evaluation.description


def test_the_failed_check_says_its_cause(blocked):
    _, _, instance, _, _ = blocked
    [bad_lake] = BAD_LAKE
    # No example rows to show (the orphan was quarantined): the rule and its numbers say why.
    assert _cause(instance) == (
        "1 violation(s) of the rule 'product_id exists in silver products' (rows checked 5, "
        "orphans quarantined 1, orphan rate 0.2, orphan error rate 0.01)"
    )
    # The CLI's summary of that lake run names the check and says why; the failed check step
    # itself (DagsterAssetCheckFailedError) is not listed a second time.
    assert cli.failure_summary(cli.run_failures(bad_lake)) == (
        "\n1 failure(s); everything that does not depend on them was built:\n"
        f"  - check references_products of silver/order_items: {_cause(instance)}"
    )


def test_cli_analytics_run_after_a_failed_silver_check_publishes_nothing(blocked):
    settings, defs, instance, before, _ = blocked
    result = execute_job_here(
        defs.resolve_job_def(ANALYTICS_JOB), instance, QUIET, raise_on_error=False
    )
    message = BLOCKED_MESSAGE.format(cause=_cause(instance))
    causes = step_failure_causes(result)
    # Each gold step refuses; what reads gold is skipped by Dagster.
    assert causes == {"gold__customer_tables": message, "gold__cohort_retention": message}
    assert not [e for e in result.get_asset_materialization_events() if e.asset_key.path[0] in
                (GOLD, KPI, "report")]  # fmt: skip
    assert (warehouse_tables(settings), without_banner(settings)) == before
    # Each blocked step is recorded by its guard, and the kept report says it is stale (the two
    # steps share one cause in the notice).
    state = read_state(settings.home)
    recorded = {(f["what"], f["cause"], f["run_id"]) for f in state["failures_since"]}
    expected = {(f"step {step}", message, result.run_id) for step in causes}
    assert recorded == expected
    assert "These figures are from the last good run at" in report_text(settings)
    assert stale_notice(state).count(message) == 1
    # The CLI's summary of that run, and its record of it: the same failures, not added twice.
    failures = cli.run_failures(result)
    summary = cli.failure_summary(failures)
    assert f"  - step gold__cohort_retention: {message}" in summary.splitlines()
    record_failures(settings.home, failures)
    assert read_state(settings.home) == state


def test_sensor_style_run_after_a_failed_silver_check_publishes_nothing(blocked):
    """A run requested as the landing-zone sensor requests them (its trigger tag, an asset
    selection), here of the report and one KPI only: the guard of each step still holds."""
    settings, defs, instance, before, _ = blocked
    result = execute_job_here(
        defs.resolve_job_def(ANALYTICS_JOB),
        instance,
        QUIET,
        tags={TRIGGER_TAG: LANDING_SENSOR},
        asset_selection=[AssetKey([KPI, "northstar"]), AssetKey(["report", "executive_report"])],
        raise_on_error=False,
    )
    message = BLOCKED_MESSAGE.format(cause=_cause(instance))
    assert step_failure_causes(result) == {"kpi__tables": message}
    assert result.get_asset_materialization_events() == []
    assert (warehouse_tables(settings), without_banner(settings)) == before


def test_automation_requests_nothing_after_a_failed_silver_check(blocked):
    _, defs, instance, _, cursor = blocked
    result = evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    requested = {r.key.to_user_string() for r in result.results if r.true_subset.size}
    assert not {k for k in requested if k.split("/")[0] in (GOLD, KPI, "report")}


def test_dagster_all_deps_blocking_checks_passed_lets_a_failed_quarter_through():
    """Why conditions.py adds ``~inputs_failed()`` rather than Dagster's
    ``all_deps_blocking_checks_passed()``: with quarterly parents, one passing quarter is
    enough for it, and the failed quarter goes unnoticed."""
    from goodpulse_dagster.automation.conditions import analytics_automation_condition

    fail = {"quarter": None}

    @asset(
        partitions_def=quarterly_partitions,
        check_specs=[AssetCheckSpec("pk", asset="part", blocking=True,
                                    partitions_def=quarterly_partitions)],
    )  # fmt: skip
    def part(context):
        yield Output(1)
        yield AssetCheckResult(check_name="pk", passed=context.partition_key != fail["quarter"])

    @asset(deps=[part], automation_condition=AutomationCondition.all_deps_blocking_checks_passed())
    def dagsters():
        return 1

    @asset(deps=[part], automation_condition=analytics_automation_condition())
    def ours():
        return 1

    defs = Definitions(assets=[part, dagsters, ours])
    instance = DagsterInstance.ephemeral()
    start = evaluate_automation_conditions(defs=defs, instance=instance)
    materialize([part], instance=instance, partition_key=Q1)
    fail["quarter"] = Q2
    materialize([part], instance=instance, partition_key=Q2, raise_on_error=False)
    result = evaluate_automation_conditions(defs=defs, instance=instance, cursor=start.cursor)
    requested = {r.key.to_user_string() for r in result.results if r.true_subset.size}
    assert requested == {"dagsters"}


def test_fixed_input_releases_the_analytics_and_clears_the_notice(blocked):
    settings, defs, instance, before, cursor = blocked
    write_zone(settings.raw_dir, clean_tables())
    lake, analytics = defs.resolve_job_def(LAKE_JOB), defs.resolve_job_def(ANALYTICS_JOB)
    assert execute_job_here(lake, instance, QUIET, tags=RANGE).success
    result = evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    requested = {r.key.to_user_string() for r in result.results if r.true_subset.size}
    assert {"gold/customer_360", "kpi/northstar", "report/executive_report"} <= requested
    run = execute_job_here(analytics, instance, QUIET)
    assert run.success
    state = read_state(settings.home)
    assert state["failures_since"] == [] and state["last_good"]["run_id"] == run.run_id
    assert "These figures are from" not in report_text(settings)
    assert warehouse_tables(settings) == before[0]


def test_analytics_are_skipped_when_everything_they_read_failed():
    from dagster import AssetSelection

    from goodpulse_dagster.automation.jobs import lake_selection

    defs = build_definitions(settings_for(Path("/nonexistent-home"), Path("/nonexistent-raw")))
    lake = AssetSelection.resolve(lake_selection, defs.resolve_asset_graph())
    assert cli.analytics_keys_without(defs, set(lake)) == []
    # One dimension missing: only what reads it is left out.
    kept = cli.analytics_keys_without(defs, {AssetKey(["bronze", "marketing_qualified_leads"])})
    names = {k.to_user_string() for k in kept}
    assert "gold/cohort_retention" in names and "kpi/monthly_revenue" in names
    assert not names & {"gold/customer_360", "kpi/northstar", "report/executive_report"}
    # The quarantine tables are the lake run's, never the analytics run's.
    assert not any(k.path[0] == "quarantine" for k in kept)


# --- Messages ----------------------------------------------------------------------------------


def _goodpulse(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "goodpulse_dagster.cli", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        timeout=120,
    )


def test_a_user_error_is_one_sentence_without_traceback(tmp_path):
    home = tmp_path / "home"
    done = _goodpulse("kpis", "--home", str(home))
    warehouse = home / "warehouse.duckdb"
    assert (done.returncode, done.stdout) == (cli.EXIT_USER_ERROR, "")
    assert done.stderr == (
        f"goodpulse: There is no warehouse at {warehouse}: run `goodpulse run` first.\n"
    )
    debug = _goodpulse("--debug", "kpis", "--home", str(home))
    assert debug.returncode != 0 and "Traceback (most recent call last)" in debug.stderr


def test_a_missing_column_is_reported_as_its_sentence(tmp_path):
    raw = write_zone(tmp_path / "raw", clean_tables())
    header = [c for c in SOURCE_TABLES["orders"].columns if c != "order_purchase_timestamp"]
    from goodpulse_dagster_tests.test_checks import write_csv

    orders = raw / SOURCE_TABLES["orders"].file_name
    write_csv(orders, "orders", clean_tables()["orders"], header)
    done = _goodpulse("run", "--home", str(tmp_path / "home"), "--raw-dir", str(raw))
    assert done.returncode == cli.EXIT_USER_ERROR
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(
        f"goodpulse: {orders}: missing required column(s) order_purchase_timestamp for table "
        "'orders'"
    )
    assert len(done.stderr.strip().splitlines()) == 1


HOLD = (
    "import duckdb, sys, time\n"
    "con = duckdb.connect(sys.argv[1])\n"
    "print('holding', flush=True)\n"
    "time.sleep(120)\n"
)


@pytest.fixture
def held_warehouse(tmp_path):
    """A warehouse file another process holds open read-write: (path, that process)."""
    path = tmp_path / "home" / "warehouse.duckdb"
    path.parent.mkdir(parents=True)
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    assert holder.stdout.readline().strip() == "holding"
    yield path, holder
    holder.kill()
    holder.wait()


def test_a_held_warehouse_lock_is_reported_at_once_with_the_holder(held_warehouse):
    path, holder = held_warehouse
    started = time.monotonic()
    done = _goodpulse("kpis", "--home", str(path.parent))
    assert done.returncode == cli.EXIT_USER_ERROR
    command = " ".join(psutil.Process(holder.pid).cmdline())[:120]
    assert done.stderr == (
        f"goodpulse: The warehouse {path} is locked by process {holder.pid} ({command}). "
        "Close that process (or wait for it to finish) and run again.\n"
    )
    assert time.monotonic() - started < 15  # ~2 s of retries, plus the interpreter's start


def test_a_held_lock_fails_a_warehouse_step_at_once_with_the_same_message(held_warehouse):
    """The IO manager's connection (every gold, KPI and quarantine write) gives up within ~2 s
    (it retried for ~105 s), and the CLI's summary shows the sentence."""
    import pandas as pd

    from goodpulse_dagster.resources.warehouse import WarehouseIOManager

    path, holder = held_warehouse

    @asset(key_prefix=["gold"], io_manager_key="warehouse")
    def table():
        return pd.DataFrame({"x": [1]})

    started = time.monotonic()
    result = materialize(
        [table],
        resources={"warehouse": WarehouseIOManager(database=str(path))},
        run_config=QUIET,
        raise_on_error=False,
    )
    assert time.monotonic() - started < 10
    command = " ".join(psutil.Process(holder.pid).cmdline())[:120]
    [failure] = cli.run_failures(result)
    assert failure.what == "step gold__table"
    assert failure.cause == (
        f"The warehouse {path} is locked by process {holder.pid} ({command}). "
        "Close that process (or wait for it to finish) and run again."
    )
