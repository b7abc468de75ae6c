"""End to end through the real Dagster UI: `dagster dev` (webserver + daemon) on a free port, a lake
run launched through GraphQL, the analytics started by declarative automation, and the asset graph
looked at in headless Chromium.

Runs against a temporary DAGSTER_HOME holding the repo's dagster.yaml (so the run queue, the
`duckdb` pool limit and the executor are those of a real deployment), a temporary GOODPULSE_HOME and the
small hand-made landing zone. Skips only when no browser can be used (Debian's chromium or the
Playwright package missing).
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from goodpulse_dagster_tests.browser import chromium_unavailable_reason, launch_chromium
from goodpulse_dagster_tests.s3_server import free_port
from goodpulse_dagster_tests.small_lake import write_small_landing_zone

REPO = Path(__file__).resolve().parents[1]
LOCATION = "goodpulse"
PARTITION = "2017-04-01"
GOLD_KEY = ["gold", "customer_360"]
REPORT_KEY = ["report", "executive_report"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        chromium_unavailable_reason() is not None, reason=str(chromium_unavailable_reason())
    ),
]


class Dagster:
    """A `dagster dev` process group and a GraphQL client for it."""

    def __init__(self, url: str, process: subprocess.Popen, log: Path):
        self.url = url
        self.process = process
        self.log = log

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = json.loads(response.read())
        assert "errors" not in payload, payload["errors"]
        return payload["data"]

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def wait_for(self, what: str, check, timeout: float, interval: float = 2.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"dagster dev exited ({self.process.returncode}):\n{self.log_tail()}")
            value = check()
            if value:
                return value
            time.sleep(interval)
        pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{self.log_tail()}")

    def stop(self) -> None:
        """Ctrl-C for the whole process group, as in a terminal (dagster dev then stops its
        webserver, daemon, code server and runs); SIGKILL for whatever is left after that."""
        pgid = self.process.pid  # start_new_session: the leader's pid is the group id
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(pgid, signal.SIGINT)
            self.process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self.process.wait(timeout=10)


def _server_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextlib.contextmanager
def running_dagster_dev(tmp_path: Path, raw: Path):
    """`dagster dev` over the landing zone ``raw``, stopped (Ctrl-C) at the end."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOODPULSE_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(dagster_home),
        GOODPULSE_HOME=str(tmp_path / "goodpulse_home"),
        GOODPULSE_RAW_DIR=str(raw),
        PYTHONUNBUFFERED="1",
    )
    port = free_port()
    log = tmp_path / "dagster_dev.log"
    # The venv's own `dagster`, beside the interpreter running the tests.
    beside = Path(sys.executable).parent / "dagster"
    dagster = str(beside) if beside.exists() else shutil.which("dagster") or "dagster"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                dagster,
                "dev",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-w",
                str(REPO / "workspace.yaml"),
            ],
            # Not the repo: nothing is written there, and the repo's dagster.yaml in the working
            # directory would be shadowed by DAGSTER_HOME (dagster dev warns about that).
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = Dagster(f"http://127.0.0.1:{port}", process, log)
    try:
        server.wait_for("/server_info", lambda: _server_up(server.url), timeout=180)
        yield server
    finally:
        server.stop()


@pytest.fixture
def dagster_dev(tmp_path):
    with running_dagster_dev(tmp_path, write_small_landing_zone(tmp_path / "raw")) as server:
        yield server


LOCATION_STATUS = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""
LAUNCH_RUN = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename
  ... on LaunchRunSuccess { run { runId } }
  ... on PythonError { message stack }
  ... on InvalidSubsetError { message }
  ... on RunConfigValidationInvalid { errors { message } }
} }
"""
RUN_STATUS = """
query($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { status } } }
"""
LATEST_MATERIALIZATION = """
query($path: [String!]!) { assetOrError(assetKey: {path: $path}) {
  ... on Asset { assetMaterializations(limit: 1) { runId } } } }
"""
AUTOMATION_RUNS = """
{ runsOrError(filter: {tags: [{key: "dagster/from_automation_condition", value: "true"}]}) {
  ... on Runs { results { runId status tags { key value } assetSelection { path } } } } }
"""
POOL_CONFIG = "{ instance { poolConfig { poolGranularity defaultPoolLimit } } }"


def _location_loaded(server: Dagster) -> bool:
    entries = server.graphql(LOCATION_STATUS)["workspaceOrError"]["locationEntries"]
    entry = next((e for e in entries if e["name"] == LOCATION), None)
    if entry is None or entry["loadStatus"] != "LOADED":
        return False
    error = entry["locationOrLoadError"]
    assert error["__typename"] == "RepositoryLocation", error
    return True


def _finished_status(server: Dagster, run_id: str) -> str | None:
    status = server.graphql(RUN_STATUS, {"runId": run_id})["runOrError"]["status"]
    return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None


def test_dagster_dev_runs_the_lake_automation_follows_and_the_graph_shows(dagster_dev, tmp_path):
    server = dagster_dev
    server.wait_for("the code location", lambda: _location_loaded(server), timeout=120)

    # The instance read DAGSTER_HOME/dagster.yaml: DuckDB writers take turns.
    pools = server.graphql(POOL_CONFIG)["instance"]["poolConfig"]
    assert pools == {"poolGranularity": "op", "defaultPoolLimit": 1}, pools

    # A lake run for one quarter, launched as the UI's launchpad would, with the executor the
    # code location defines for every run (in-process: automation/jobs.py).
    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": "__repository__",
            "jobName": "lake_job",
        },
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": PARTITION}]},
        "runConfigData": {},
    }
    launched = server.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    status = server.wait_for("the lake run", lambda: _finished_status(server, run_id), 300)
    assert status == "SUCCESS", server.log_tail()

    # Declarative automation (analytics_automation_sensor, running by default) sees silver
    # change and launches gold, KPI and report, its DuckDB steps one at a time in the `duckdb`
    # pool, tagged as an analytics run for the run queue.
    def automation_run() -> dict | None:
        runs = server.graphql(AUTOMATION_RUNS)["runsOrError"]["results"]
        return runs[0] if runs else None

    run = server.wait_for("a run launched by declarative automation", automation_run, 120)
    assert run["status"] not in ("FAILURE", "CANCELED"), server.log_tail()
    keys = {"/".join(a["path"]) for a in run["assetSelection"]}
    assert {"key": "goodpulse/run_kind", "value": "analytics"} in run["tags"], run
    assert any(k.startswith("gold/") for k in keys) and any(k.startswith("kpi/") for k in keys), run

    def gold_materialized() -> bool:
        data = server.graphql(LATEST_MATERIALIZATION, {"path": GOLD_KEY})["assetOrError"]
        events = (data or {}).get("assetMaterializations") or []
        return bool(events) and events[0]["runId"] == run["runId"]

    server.wait_for("gold/customer_360 from the automation run", gold_materialized, 180)

    def report_materialized() -> bool:
        data = server.graphql(LATEST_MATERIALIZATION, {"path": REPORT_KEY})["assetOrError"]
        events = (data or {}).get("assetMaterializations") or []
        return bool(events) and events[0]["runId"] == run["runId"]

    server.wait_for("the executive report from the automation run", report_materialized, 180)

    # The asset graph in a real browser: the global lineage with the kpi group opened (the
    # `expanded` query parameter is what the UI itself sets when a group is clicked).
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import sync_playwright

    screenshot = tmp_path / "asset_graph.png"
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1800, "height": 1200})
            page.goto(
                f"{server.url}/asset-groups?expanded=global%40global%3Akpi",
                wait_until="networkidle",
                timeout=120_000,
            )
            # A fresh instance greets its first visitor with a "Join the Dagster community"
            # dialog: skip it, so that the picture shows the graph.
            skip = page.get_by_role("button", name="Skip")
            with contextlib.suppress(PlaywrightTimeoutError):
                skip.wait_for(timeout=10_000)
                skip.click()
            graph = page.locator("foreignObject")  # the graph's nodes, not the sidebar
            graph.get_by_text("northstar", exact=True).first.wait_for(timeout=60_000)
            shown = {
                name: graph.get_by_text(name, exact=True).first.is_visible()
                for name in ("bronze", "silver", "gold", "kpi", "northstar")
            }
            page.wait_for_timeout(1000)  # let edges and status colours settle for the picture
            page.screenshot(path=str(screenshot))
            # The whole report in the UI: the report asset's `report` metadata, opened as the
            # UI's Markdown dialog, with its charts (data-URI SVG images) loaded.
            page.goto(
                f"{server.url}/assets/report/executive_report?view=events",
                wait_until="networkidle",
                timeout=120_000,
            )
            row = page.locator("tr", has_text="report").first
            row.get_by_text("Show Markdown").click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_text("Findings and recommended actions").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1000)
            images = page.evaluate(
                "Array.from(document.querySelectorAll('[role=dialog] img'))"
                ".map(i => [i.complete && i.naturalWidth > 0, i.src.slice(0, 26)])"
            )
            page.screenshot(path=str(tmp_path / "report_in_ui.png"))
        finally:
            browser.close()
    assert all(shown.values()), shown
    assert screenshot.stat().st_size > 10_000
    assert len(images) >= 10, images
    assert all(loaded and src == "data:image/svg+xml;base64," for loaded, src in images), images

    # No deprecation warning from loading the project (webserver, daemon, code server).
    log = server.log.read_text(errors="replace")
    assert "DeprecationWarning" not in log and "is deprecated" not in log, log[-6000:]


# --- the landing-zone sensor through the daemon -------------------------------------------------

START_SENSOR = """
mutation($selector: SensorSelector!) { startSensor(sensorSelector: $selector) {
  __typename ... on PythonError { message } } }
"""
RUNS = """
{ runsOrError { ... on Runs { results { runId status startTime endTime
    tags { key value } assetSelection { path } stepStats { stepKey status } } } } }
"""
ACTIVE = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}
HELD_BACK_QUARTER = "2018-Q4"


def _runs(server: Dagster) -> list[dict]:
    """The lake and analytics runs, in start order: the freshness sensor's check-only runs
    (which read the instance and write nothing) are not part of a load's plan."""
    from goodpulse_dagster.automation.freshness import FRESHNESS_RUN

    runs = server.graphql(RUNS)["runsOrError"]["results"]
    runs = [r for r in runs if _tag(r, "goodpulse/run_kind") != FRESHNESS_RUN]
    return sorted(runs, key=lambda r: float(r["startTime"] or 1e12))


def _tag(run: dict, key: str) -> str | None:
    return next((t["value"] for t in run["tags"] if t["key"] == key), None)


def _keys(run: dict) -> set[str]:
    return {"/".join(a["path"]) for a in run["assetSelection"] or []}


def _steps(run: dict) -> set[str]:
    return {s["stepKey"] for s in run["stepStats"]}


def _asset_steps(keys: set[str]) -> set[str]:
    """The steps that materialize ``keys``: one per asset (its key joined by '__'), and the one
    step of the quarantine multi-asset for all quarantine tables."""
    from goodpulse_dagster.quarantine.assets import QUARANTINE_OP

    return {QUARANTINE_OP if k.startswith("quarantine/") else k.replace("/", "__") for k in keys}


def _quiet_after_report(server: Dagster, seen: int):
    """Runs, once more than ``seen`` have been launched, the last is a successful report run
    and nothing is queued or running."""

    def check():
        runs = _runs(server)
        if len(runs) <= seen or any(r["status"] in ACTIVE for r in runs):
            return None
        return runs if "report/executive_report" in _keys(runs[-1]) else None

    return check


def test_the_landing_sensor_plans_one_run_per_load_and_none_for_the_same_bytes(tmp_path):
    """Through the real daemon: the first load of a per-quarter landing zone is one lake run over
    the range of quarters (every dimension table once) and one analytics run after it; a new
    quarter's drop is one lake run of that quarter's order-grain tables only (no dimension
    table) and one analytics run; the same bytes dropped again start nothing."""
    from goodpulse_dagster.automation.jobs import ORDER_GRAIN_LAKE_KEYS
    from goodpulse_dagster.automation.sensors import (
        LANDING_SENSOR,
        LANDING_SENSOR_INTERVAL_SECONDS,
        TRIGGER_TAG,
        dimension_asset_keys,
    )
    from goodpulse_dagster.sample_data import generate
    from goodpulse_dagster.schema import SOURCE_TABLES

    raw = tmp_path / "raw"
    generate(raw, orders=400, seed=7, layout="quarterly")
    held = tmp_path / "held_back"
    held.mkdir()
    for path in sorted(raw.glob(f"*/{HELD_BACK_QUARTER}.csv")):
        (held / path.parent.name).mkdir()
        shutil.move(path, held / path.parent.name / path.name)
    assert len(list(held.rglob("*.csv"))) == 4  # orders, items, payments, reviews

    def drop_held_back() -> None:
        for path in held.rglob("*.csv"):
            target = raw / path.parent.name / path.name
            shutil.copyfile(path, target)
            os.utime(target)  # a new modification time, as an upload gives

    order_grain = {k.to_user_string() for k in ORDER_GRAIN_LAKE_KEYS}
    dimensions = tuple(name for name, t in SOURCE_TABLES.items() if not t.partitioned)
    dimension_keys = {k.to_user_string() for k in dimension_asset_keys(dimensions)}

    with running_dagster_dev(tmp_path, raw) as server:
        server.wait_for("the code location", lambda: _location_loaded(server), timeout=120)
        selector = {
            "repositoryLocationName": LOCATION,
            "repositoryName": "__repository__",
            "sensorName": LANDING_SENSOR,
        }
        started = server.graphql(START_SENSOR, {"selector": selector})["startSensor"]
        assert started["__typename"] == "Sensor", started

        # First load: one lake run over 2016-Q3..2018-Q3, then one analytics run.
        runs = server.wait_for("the first load", _quiet_after_report(server, 1), 600, 3)
        assert [r["status"] for r in runs] == ["SUCCESS", "SUCCESS"], server.log_tail()
        lake, analytics = runs
        assert _tag(lake, TRIGGER_TAG) == LANDING_SENSOR
        assert _tag(lake, "dagster/asset_partition_range_start") == "2016-07-01"
        assert _tag(lake, "dagster/asset_partition_range_end") == "2018-07-01"
        assert _keys(lake) == order_grain | dimension_keys
        assert _asset_steps(order_grain | dimension_keys) <= _steps(lake)
        assert _tag(analytics, "goodpulse/run_kind") == "analytics"
        assert float(analytics["startTime"]) >= float(lake["endTime"])

        # A new quarter's four files: one run of that quarter, no dimension table.
        drop_held_back()
        runs = server.wait_for("the new quarter", _quiet_after_report(server, 3), 600, 3)
        assert [r["status"] for r in runs[2:]] == ["SUCCESS", "SUCCESS"], server.log_tail()
        lake, analytics = runs[2:]
        assert _tag(lake, "dagster/partition") == "2018-10-01"
        assert _keys(lake) == order_grain
        assert _asset_steps(order_grain) <= _steps(lake)
        # No dimension table is rebuilt: their files did not change.
        dimension_steps = _asset_steps(dimension_keys) - _asset_steps(order_grain)
        assert not _steps(lake) & dimension_steps, _steps(lake)
        assert _tag(analytics, "goodpulse/run_kind") == "analytics"
        assert float(analytics["startTime"]) >= float(lake["endTime"])

        # The same bytes again, with a new modification time: no run over two sensor ticks.
        drop_held_back()
        time.sleep(2 * LANDING_SENSOR_INTERVAL_SECONDS + 10)
        assert len(_runs(server)) == 4, [(_tag(r, TRIGGER_TAG), _keys(r)) for r in _runs(server)]
