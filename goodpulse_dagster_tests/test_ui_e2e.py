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


@pytest.fixture
def dagster_dev(tmp_path):
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    raw = write_small_landing_zone(tmp_path / "raw")
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
