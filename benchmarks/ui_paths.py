"""Benchmark of the paths people use: the Dagster UI, the daemon's sensors, and the S3 lake.

    python benchmarks/ui_paths.py --orders 100000 --out benchmarks/results/ui_paths
        [--work benchmarks/work/ui_paths] [--only cli ui ui_range sensor s3]

``run_benchmark.py`` times ``goodpulse run``, the in-process CLI on a local lake. This companion
times, on the same generated data and in the same invocation (so the ratios hold on a noisy
machine):

1. ``cli``: ``goodpulse run`` on a fresh home (the reference of every ratio);
2. ``ui``: the real webserver and daemon (``dagster dev`` on a temporary ``DAGSTER_HOME`` holding
   the repository's ``dagster.yaml``) and a materialization of every asset launched through the
   UI's own GraphQL call (``launchPartitionBackfill`` over all partitions), until the backfill is
   done and nothing is queued or running;
3. ``ui_range``: the same as two runs from the UI's launchpad: ``lake_job`` with the tags of a
   single-run backfill over the quarters that hold orders, then the analytics run declarative
   automation starts, until the report is refreshed and nothing is queued or running;
4. ``sensor``: the same server over a per-quarter landing zone without its last quarter: the
   landing-zone sensor switched on, until the report is refreshed and all is idle (first load);
   then the last quarter's four files dropped, until the report is refreshed again (new drop);
   then the same bytes dropped again with a new modification time, counting the runs started
   over two sensor intervals (repeated drop: zero expected);
5. ``s3``: ``goodpulse run`` with ``GOODPULSE_STORAGE=s3`` against moto's S3 server on 127.0.0.1
   (raw files uploaded first, not timed), against the local run.

For every server path it reports the wall time, the number of runs, the peak number of runs
executing at once (polled every second through GraphQL), and the peak RSS of the whole process
tree (webserver, daemon, code server, run workers). Results: ``<out>/ui_paths.json`` and
``<out>/README.md``. Not a test: nothing asserts on the timings.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from run_benchmark import goodpulse_cmd, machine, run_measured  # noqa: E402

from goodpulse_dagster.automation.jobs import RUN_KIND_TAG  # noqa: E402
from goodpulse_dagster.automation.sensors import (  # noqa: E402
    AUTOMATION_SENSOR_INTERVAL_SECONDS,
    LANDING_SENSOR_INTERVAL_SECONDS,
)

LOCATION = "goodpulse"
REPORT_KEY = ["report", "executive_report"]
POLL = 1.0
# Targets of the issue "fast where people use it", as ratios to the CLI run on the same data.
TARGETS = {
    "ui_materialize_everything": 1.5,
    "sensor_first_load": 2.0,
    "new_quarter_drop": 0.6,  # plus the two sensors' minimum intervals
    "s3_run": 1.5,
}
# The wait a drop pays before anything runs: one tick of each sensor, at most.
PATHS = ("cli", "ui", "ui_range", "sensor", "s3")
SENSOR_INTERVALS_SECONDS = LANDING_SENSOR_INTERVAL_SECONDS + AUTOMATION_SENSOR_INTERVAL_SECONDS

RUNS = """
{ runsOrError { ... on Runs { results { runId status startTime endTime
    tags { key value } assetSelection { path } } } } }
"""
LOCATION_STATUS = """
{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }
"""
ASSET_KEYS = "{ assetNodes { assetKey { path } isPartitioned } }"
LAUNCH_RUN = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }
"""
LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }
"""
BACKFILL_STATUS = """
query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status } } }
"""
START_SENSOR = """
mutation($selector: SensorSelector!) { startSensor(sensorSelector: $selector) {
  __typename ... on PythonError { message } } }
"""
LATEST_MATERIALIZATION = """
query($path: [String!]!) { assetOrError(assetKey: {path: $path}) {
  ... on Asset { assetMaterializations(limit: 1) { runId timestamp } } } }
"""
ACTIVE = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}
EXECUTING = {"STARTING", "STARTED"}


class Server:
    """``dagster dev`` (webserver + daemon) on a free port, with a GraphQL client, a poller of
    run concurrency and process-tree RSS, and Ctrl-C for the whole process group at the end."""

    def __init__(self, work: Path, env: dict[str, str]):
        from goodpulse_dagster_tests.s3_server import free_port

        dagster_home = work / "dagster_home"
        shutil.rmtree(dagster_home, ignore_errors=True)
        dagster_home.mkdir(parents=True)
        shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = work / "dagster_dev.log"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_")}
        full_env.update(env, DAGSTER_HOME=str(dagster_home), PYTHONUNBUFFERED="1")
        dagster = Path(sys.executable).parent / "dagster"
        self.out = open(self.log, "wb")  # noqa: SIM115
        self.process = psutil.Popen(
            [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(self.port)]
            + ["-w", str(REPO / "workspace.yaml")],
            cwd=work,
            env=full_env,
            stdout=self.out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.peak_rss_mb = 0
        self.peak_executing = 0
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, daemon=True)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.loads(response.read())
        if "errors" in payload:
            raise RuntimeError(payload["errors"])
        return payload["data"]

    def wait_for(self, what: str, check, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dagster dev exited: {self.log.read_text()[-4000:]}")
            with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
                value = check()
                if value:
                    return value
            time.sleep(POLL)
        raise TimeoutError(f"{what}: not after {timeout:.0f} s\n{self.log.read_text()[-4000:]}")

    def start(self) -> None:
        def up():
            with urllib.request.urlopen(f"{self.url}/server_info", timeout=5) as response:
                return response.status == 200

        def loaded():
            entries = self.graphql(LOCATION_STATUS)["workspaceOrError"]["locationEntries"]
            return any(e["name"] == LOCATION and e["loadStatus"] == "LOADED" for e in entries)

        self.wait_for("the webserver", up, 240)
        self.wait_for("the code location", loaded, 240)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            rss = 0
            with contextlib.suppress(psutil.Error):
                for proc in [self.process, *self.process.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        rss += proc.memory_info().rss
            self.peak_rss_mb = max(self.peak_rss_mb, rss >> 20)
            with contextlib.suppress(Exception):
                executing = sum(r["status"] in EXECUTING for r in self.runs())
                self.peak_executing = max(self.peak_executing, executing)
            self._stop.wait(POLL)

    def runs(self) -> list[dict]:
        return self.graphql(RUNS)["runsOrError"]["results"]

    def idle(self) -> bool:
        return not any(r["status"] in ACTIVE for r in self.runs())

    def report_materialized_after(self, since: float) -> bool:
        data = self.graphql(LATEST_MATERIALIZATION, {"path": REPORT_KEY})["assetOrError"]
        events = (data or {}).get("assetMaterializations") or []
        return bool(events) and float(events[0]["timestamp"]) / 1000 > since

    def reset_peaks(self) -> None:
        self.peak_rss_mb = 0
        self.peak_executing = 0

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(ProcessLookupError, psutil.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.out.close()


def server_env(home: Path, raw: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOODPULSE_")}
    env.update(GOODPULSE_HOME=str(home), GOODPULSE_RAW_DIR=str(raw))
    return env


def run_summary(server: Server, since: float) -> dict:
    from goodpulse_dagster.automation.freshness import FRESHNESS_RUN

    runs = [r for r in server.runs() if r["startTime"] and float(r["startTime"]) >= since - 1]
    # The freshness sensor's check-only runs write nothing and belong to no load: counted apart.
    freshness = [r for r in runs if {"key": RUN_KIND_TAG, "value": FRESHNESS_RUN} in r["tags"]]
    runs = [r for r in runs if r not in freshness]
    statuses: dict[str, int] = {}
    for run in runs:
        statuses[run["status"]] = statuses.get(run["status"], 0) + 1
    # When each run started and ended after ``since``, and how many assets it selected: where the
    # wall time goes (run start-up, queueing, gaps between the daemon's ticks).
    timeline = [
        {
            "start": round(float(r["startTime"]) - since, 1),
            "end": round(float(r["endTime"]) - since, 1) if r["endTime"] else None,
            "assets": len(r["assetSelection"] or []),
        }
        for r in sorted(runs, key=lambda r: float(r["startTime"]))
    ]
    return {
        "runs": len(runs),
        "freshness_check_runs": len(freshness),
        "timeline": timeline,
        "statuses": statuses,
        "peak_runs_executing": server.peak_executing,
        "peak_rss_mb": server.peak_rss_mb,
    }


# --- the paths ----------------------------------------------------------------------------------


def cli_run(raw: Path, work: Path) -> dict:
    home = work / "cli_home"
    shutil.rmtree(home, ignore_errors=True)
    env = server_env(home, raw)
    env.pop("DAGSTER_HOME", None)
    return run_measured(goodpulse_cmd("run"), env=env, log=work / "cli.log")


def ui_materialize_everything(raw: Path, work: Path) -> dict:
    """Every asset, all partitions, as the UI's "Materialize all" launches it (a backfill)."""
    home = work / "ui_home"
    shutil.rmtree(home, ignore_errors=True)
    (work / "ui").mkdir(parents=True, exist_ok=True)
    server = Server(work / "ui", server_env(home, raw))
    try:
        server.start()
        nodes = server.graphql(ASSET_KEYS)["assetNodes"]
        keys = [{"path": n["assetKey"]["path"]} for n in nodes if n["assetKey"]["path"][0] != "raw"]
        server.reset_peaks()
        started = time.time()
        params = {"assetSelection": keys, "allPartitions": True}
        launched = server.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        if launched["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(launched)
        backfill = launched["backfillId"]

        def done():
            status = server.graphql(BACKFILL_STATUS, {"id": backfill})["partitionBackfillOrError"]
            return status["status"] not in ("REQUESTED", "CANCELING") and server.idle()

        server.wait_for("the backfill", done, 3600)
        wall = time.time() - started
        status = server.graphql(BACKFILL_STATUS, {"id": backfill})["partitionBackfillOrError"]
        return {"wall_seconds": round(wall, 1), "backfill_status": status["status"]} | (
            run_summary(server, started)
        )
    finally:
        server.stop()


def ui_range_run(raw: Path, work: Path) -> dict:
    """Everything as one lake run from the UI's launchpad (``lake_job`` with the range tags a
    single-run backfill carries, first..last quarter with orders), then declarative automation's
    analytics run: the UI path that is not bound by the backfill daemon's 30 s loop."""
    from goodpulse_dagster.automation.jobs import partition_range_tags
    from goodpulse_dagster.cli import orders_by_quarter
    from goodpulse_dagster.settings import load_settings

    home = work / "ui_range_home"
    shutil.rmtree(home, ignore_errors=True)
    (work / "ui_range").mkdir(parents=True, exist_ok=True)
    env = server_env(home, raw)
    # The quarters with orders, as the CLI finds them, on a throwaway home: the timed run must
    # not find the raw files already staged.
    probe = server_env(work / "ui_range_probe", raw)
    quarters = [q for q, _ in orders_by_quarter(load_settings(probe))]
    shutil.rmtree(work / "ui_range_probe", ignore_errors=True)
    server = Server(work / "ui_range", env)
    try:
        server.start()
        tags = partition_range_tags(quarters[0], quarters[-1])
        params = {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": "__repository__",
                "jobName": "lake_job",
            },
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
            "runConfigData": {},
        }
        server.reset_peaks()
        started = time.time()
        launched = server.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
        if launched["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(launched)
        server.wait_for(
            "the report", lambda: server.report_materialized_after(started) and server.idle(), 3600
        )
        return {"wall_seconds": round(time.time() - started, 1)} | run_summary(server, started)
    finally:
        server.stop()


def quarterly_zone(raw_quarterly: Path, work: Path) -> tuple[Path, list[Path]]:
    """A copy of the per-quarter landing zone without its last quarter's drops, and those."""
    zone = work / "sensor_raw"
    shutil.rmtree(zone, ignore_errors=True)
    shutil.copytree(raw_quarterly, zone)
    quarters = sorted(p.stem for p in (zone / "orders").glob("*.csv"))
    held = work / "held_back"
    shutil.rmtree(held, ignore_errors=True)
    held.mkdir(parents=True)
    last = []
    for path in sorted(zone.glob(f"*/{quarters[-1]}.csv")):
        target = held / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        last.append(target)
    return zone, last


def drop(files: list[Path], zone: Path) -> None:
    for path in files:
        target = zone / path.parent.name / path.name
        shutil.copyfile(path, target)  # a new modification time, as an upload gives
        os.utime(target)


def sensor_paths(raw_quarterly: Path, work: Path) -> dict:
    """First load of a per-quarter landing zone, a new quarter's drop, the same bytes again."""
    zone, last_quarter = quarterly_zone(raw_quarterly, work)
    home = work / "sensor_home"
    shutil.rmtree(home, ignore_errors=True)
    (work / "sensor").mkdir(parents=True, exist_ok=True)
    server = Server(work / "sensor", server_env(home, zone))
    results: dict = {"files_first_load": sum(1 for _ in zone.rglob("*.csv"))}
    try:
        server.start()
        selector = {
            "repositoryLocationName": LOCATION,
            "repositoryName": "__repository__",
            "sensorName": "landing_zone_sensor",
        }
        server.reset_peaks()
        started = time.time()
        answer = server.graphql(START_SENSOR, {"selector": selector})["startSensor"]
        if answer["__typename"] != "Sensor":
            raise RuntimeError(answer)

        def refreshed_and_idle(since):
            return lambda: server.report_materialized_after(since) and server.idle()

        server.wait_for("the first load", refreshed_and_idle(started), 3600)
        results["first_load"] = {"wall_seconds": round(time.time() - started, 1)} | run_summary(
            server, started
        )

        server.reset_peaks()
        started = time.time()
        drop(last_quarter, zone)
        server.wait_for("the new quarter", refreshed_and_idle(started), 3600)
        results["new_quarter_drop"] = {
            "files": len(last_quarter),
            "wall_seconds": round(time.time() - started, 1),
        } | run_summary(server, started)

        server.reset_peaks()
        started = time.time()
        drop(last_quarter, zone)
        time.sleep(2 * SENSOR_INTERVALS_SECONDS + 10)
        results["repeated_drop"] = {"waited_seconds": round(time.time() - started, 1)} | (
            run_summary(server, started)
        )
    finally:
        server.stop()
    return results


def s3_run(raw: Path, work: Path) -> dict:
    from goodpulse_dagster_tests.s3_server import dummy_aws_env, moto_s3_server, s3_client

    home = work / "s3_home"
    shutil.rmtree(home, ignore_errors=True)
    with dummy_aws_env(), moto_s3_server() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket="goodpulse")
        for path in sorted(raw.rglob("*.csv")):
            client.upload_file(str(path), "goodpulse", f"raw/{path.relative_to(raw).as_posix()}")
        env = server_env(home, raw)
        env.pop("GOODPULSE_RAW_DIR")
        env.update(
            GOODPULSE_STORAGE="s3",
            GOODPULSE_S3_BUCKET="goodpulse",
            GOODPULSE_S3_ENDPOINT_URL=endpoint,
            GOODPULSE_TIMINGS_FILE=str(work / "s3_timings.json"),
        )
        measured = run_measured(goodpulse_cmd("run"), env=env, log=work / "s3.log")
    timings = json.loads((work / "s3_timings.json").read_text())
    return measured | {"lake_seconds": round(timings["lake_seconds"], 1)}


# --- main ---------------------------------------------------------------------------------------


def generate_data(orders: int, work: Path) -> tuple[Path, Path]:
    paths = {}
    for layout in ("full", "quarterly"):
        out = work / f"raw_{layout}_{orders}"
        stamp = out / "_generation_report.json"
        if not stamp.exists():
            cmd = goodpulse_cmd("generate", "--orders", str(orders), "--out", str(out))
            subprocess.run([*cmd, "--layout", layout], check=True, stdout=subprocess.DEVNULL)
        paths[layout] = out
    return paths["full"], paths["quarterly"]


def ratios(results: dict) -> dict:
    cli = results.get("cli", {}).get("wall_seconds")
    if not cli:
        return {}
    out = {}
    if "ui" in results:
        out["ui_materialize_everything"] = round(results["ui"]["wall_seconds"] / cli, 2)
    if "ui_range" in results:
        out["ui_range_run"] = round(results["ui_range"]["wall_seconds"] / cli, 2)
    if "sensor" in results:
        out["sensor_first_load"] = round(results["sensor"]["first_load"]["wall_seconds"] / cli, 2)
        drop_seconds = results["sensor"]["new_quarter_drop"]["wall_seconds"]
        out["new_quarter_drop"] = round((drop_seconds - SENSOR_INTERVALS_SECONDS) / cli, 2)
    if "s3" in results:
        out["s3_run"] = round(results["s3"]["wall_seconds"] / cli, 2)
    return out


def write_readme(out: Path, results: dict) -> None:
    lines = [
        "# Paths people use: UI, sensors, S3",
        "",
        f"`python benchmarks/ui_paths.py --orders {results['orders']}` on "
        f"{results['machine']['cores']} cores, {results['machine']['ram_gb']} GB "
        f"({results['machine']['cpu']}), {results['finished_at']}.",
        "",
        "| path | wall s | runs | peak runs at once | peak RSS MB | ratio to CLI | target |",
        "|---|---|---|---|---|---|---|",
    ]
    r = results["ratios"]
    cli = results.get("cli")
    if cli:
        lines.append(
            f"| `goodpulse run` (local) | {cli['wall_seconds']} | 2 | 1 | "
            f"{cli['peak_rss_mb']} | 1 | |"
        )
    if "ui" in results:
        ui = results["ui"]
        lines.append(
            f"| UI: materialize everything | {ui['wall_seconds']} | {ui['runs']} | "
            f"{ui['peak_runs_executing']} | {ui['peak_rss_mb']} | "
            f"{r.get('ui_materialize_everything')} | <= 1.5 |"
        )
    if "ui_range" in results:
        x = results["ui_range"]
        lines.append(
            f"| UI: one `lake_job` run over the quarters (launchpad, range tags), then "
            f"automation | {x['wall_seconds']} | {x['runs']} | {x['peak_runs_executing']} | "
            f"{x['peak_rss_mb']} | {r.get('ui_range_run')} | |"
        )
    if "sensor" in results:
        s = results["sensor"]
        for name, label, target in (
            ("first_load", "sensor: first load of a per-quarter zone", "<= 2"),
            (
                "new_quarter_drop",
                f"sensor: a new quarter's drop (ratio less {SENSOR_INTERVALS_SECONDS} s)",
                "<= 0.6",
            ),
        ):
            x = s[name]
            ratio = r.get("sensor_first_load" if name == "first_load" else name)
            lines.append(
                f"| {label} | {x['wall_seconds']} | {x['runs']} | {x['peak_runs_executing']} | "
                f"{x['peak_rss_mb']} | {ratio} | {target} |"
            )
        x = s["repeated_drop"]
        lines.append(
            f"| sensor: the same bytes again (waited {x['waited_seconds']} s) | - | {x['runs']} | "
            f"{x['peak_runs_executing']} | {x['peak_rss_mb']} | - | 0 runs |"
        )
    if "s3" in results:
        s3 = results["s3"]
        lines.append(
            f"| `goodpulse run` on S3 (moto on 127.0.0.1; lake {s3['lake_seconds']} s) | "
            f"{s3['wall_seconds']} | 2 | 1 | {s3['peak_rss_mb']} | {r.get('s3_run')} | <= 1.5 |"
        )
    (out / "README.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "ui_paths")
    parser.add_argument("--work", type=Path, default=HERE / "work" / "ui_paths")
    parser.add_argument("--only", nargs="*", default=list(PATHS))
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    raw, raw_quarterly = generate_data(args.orders, args.work)
    results: dict = {"orders": args.orders, "machine": machine()}
    steps = {
        "cli": lambda: cli_run(raw, args.work),
        "ui": lambda: ui_materialize_everything(raw, args.work),
        "ui_range": lambda: ui_range_run(raw, args.work),
        "sensor": lambda: sensor_paths(raw_quarterly, args.work),
        "s3": lambda: s3_run(raw, args.work),
    }
    for name in PATHS:
        if name in args.only:
            print(f"[{name}] ...", flush=True)
            results[name] = steps[name]()
            print(f"[{name}] {json.dumps(results[name])}", flush=True)
    results["ratios"] = ratios(results)
    results["targets"] = TARGETS
    results["finished_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (args.out / "ui_paths.json").write_text(json.dumps(results, indent=1))
    write_readme(args.out, results)
    print(json.dumps(results["ratios"], indent=1))


if __name__ == "__main__":
    main()
