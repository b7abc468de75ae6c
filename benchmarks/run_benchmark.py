"""Benchmark of the whole GoodPulse pipeline at several scales (GitHub issue 7).

    python benchmarks/run_benchmark.py --scales 100000 1000000 [3000000] --out benchmarks/results
        [--incremental-scale 1000000] [--work benchmarks/work] [--regenerate]

For each scale it

1. generates Olist-shaped data with ``goodpulse generate`` (rows/s, peak RSS), reused from the
   work directory on later runs unless ``--regenerate``;
2. runs ``goodpulse run`` as a subprocess on a fresh home (wall and CPU seconds, peak RSS of the
   process tree polled with psutil); the run writes the duration of every Dagster step
   (``GOODPULSE_TIMINGS_FILE``), grouped here into bronze, silver, gold, KPI, report, quarantine
   and checks, the rest being Dagster's own overhead and imports;
3. times the floor: ``floor_customer_360.sql``, customer_360 in one DuckDB query from the raw
   CSVs, and prints the ratios pipeline / floor.

With ``--incremental-scale N`` it also generates N orders in the per-quarter layout, runs the
pipeline on every quarter but the last, adds the last quarter's drops and times the refresh:
the lake runs the landing-zone sensor requests for those files (the plan and run requests of
``automation/``: the order-grain bronze + silver tables of that quarter) and then gold, KPI and
report (``analytics_job``), in a subprocess, as a share of the full run.

Results: ``<out>/benchmark.json`` and ``<out>/README.md`` (with the machine described). Work files
(data, homes) go under ``--work`` (gitignored). Not a test: nothing asserts on the timings.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
FLOOR_SQL = HERE / "floor_customer_360.sql"
SEED = 42
LAYERS = ("bronze", "silver", "gold", "kpi", "report", "quarantine")
POLL_SECONDS = 0.05
# Targets of issue 7 on the reference machine (2 cores, 24 GB).
TARGETS = {
    "run_100k_seconds": 30,
    "run_1m_seconds": 120,
    "rss_1m_gb": 4,
    "rss_3m_gb": 10,
    "ratio_1m_over_100k": 10,
    "incremental_share": 0.35,
}


# --- measuring a subprocess -------------------------------------------------------------------


MAX_RSS_MB: int | None = None  # --max-rss-gb: stop a run whose process tree exceeds it


class RssLimitExceeded(RuntimeError):
    pass


def run_measured(cmd: list[str], env: dict[str, str] | None = None, log: Path | None = None):
    """Run ``cmd``; wall seconds, CPU seconds (user + sys of it and its children), the peak RSS of
    its process tree (psutil, polled every 50 ms) and the return code. With ``MAX_RSS_MB`` set,
    the tree is killed (and ``RssLimitExceeded`` raised) when its RSS passes it, so a benchmark
    on a shared machine cannot push others into the OOM killer."""
    before = os.times()
    started = time.perf_counter()
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = psutil.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        while proc.poll() is None:
            try:
                tree = [proc, *proc.children(recursive=True)]
                rss = 0
                for p in tree:
                    with contextlib.suppress(psutil.Error):
                        rss += p.memory_info().rss
                peak = max(peak, rss)
            except psutil.Error:
                pass
            if MAX_RSS_MB and peak >> 20 > MAX_RSS_MB:
                for p in [*proc.children(recursive=True), proc]:
                    with contextlib.suppress(psutil.Error):
                        p.kill()
                proc.wait()
                raise RssLimitExceeded(
                    f"{' '.join(cmd)}: RSS {peak >> 20} MB passed {MAX_RSS_MB} MB after "
                    f"{time.perf_counter() - started:.0f} s"
                )
            time.sleep(POLL_SECONDS)
        code = proc.wait()
    finally:
        if log:
            out.close()
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    if code != 0:
        tail = log.read_text()[-3000:] if log else ""
        raise RuntimeError(f"{' '.join(cmd)} exited with {code}\n{tail}")
    return {"wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "peak_rss_mb": peak >> 20}


def goodpulse_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "goodpulse_dagster.cli", *args]


# --- the machine --------------------------------------------------------------------------------


def machine() -> dict:
    import dagster
    import duckdb
    import pandas
    import pyarrow

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "dagster": dagster.__version__,
        "pyarrow": pyarrow.__version__,
        "pandas": pandas.__version__,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# --- steps --------------------------------------------------------------------------------------


def generate(orders: int, out: Path, layout: str, regenerate: bool, work: Path) -> dict:
    stamp = out / "_benchmark_generate.json"
    if stamp.exists() and not regenerate:
        cached = json.loads(stamp.read_text())
        if cached.get("orders") == orders and cached.get("layout") == layout:
            return {**cached, "reused": True}
    shutil.rmtree(out, ignore_errors=True)
    cmd = goodpulse_cmd("generate", "--orders", str(orders), "--seed", str(SEED), "--out", str(out))
    cmd += ["--layout", layout]
    measured = run_measured(cmd, log=work / f"generate_{orders}_{layout}.log")
    rows = 0
    report = json.loads((out / "_generation_report.json").read_text())
    for value in (report.get("rows") or report.get("row_counts") or {}).values():
        rows += int(value)
    size = sum(p.stat().st_size for p in out.rglob("*.csv"))
    result = {
        "orders": orders,
        "layout": layout,
        **measured,
        "csv_rows": rows or None,
        "csv_mb": round(size / 2**20, 1),
        "orders_per_second": round(orders / measured["wall_seconds"]),
        "rows_per_second": round(rows / measured["wall_seconds"]) if rows else None,
    }
    stamp.write_text(json.dumps(result, indent=1))
    return {**result, "reused": False}


def layer_of(step_key: str) -> str:
    """bronze / silver / gold / kpi / report / quarantine for an asset's step, 'checks' for an
    asset check's step (``<layer>_<table>_checks``, ``<asset>_<check name>``, ``asset_check_*``).
    The KPI and quarantine tables, the prediction KPI tables and the two customer-grain gold
    tables, are each one multi-asset step (``kpi__tables``, ``kpi__predictions``,
    ``gold__customer_tables``)."""
    from goodpulse_dagster import schema
    from goodpulse_dagster.gold.assets import CUSTOMER_TABLES_OP
    from goodpulse_dagster.kpi.assets import KPI_OP
    from goodpulse_dagster.predictions.assets import PREDICTION_KPI_OP
    from goodpulse_dagster.quarantine.assets import QUARANTINE_OP

    tables = {
        *schema.SOURCE_TABLES,
        "unified_user_lifecycle",
        *schema.GOLD_TABLES,
        *schema.KPI_TABLES,
        *schema.PREDICTION_GOLD_TABLES,
        "executive_report",
        *(
            op.split("__", 1)[1]
            for op in (KPI_OP, PREDICTION_KPI_OP, QUARANTINE_OP, CUSTOMER_TABLES_OP)
        ),
    }
    if "__" in step_key:
        prefix, name = step_key.split("__", 1)
        if prefix in LAYERS and name in tables:
            return prefix
    return "checks"


def summarise_steps(timings: dict) -> dict:
    layers = dict.fromkeys((*LAYERS, "checks"), 0.0)
    lake_checks = 0.0
    for phase in ("lake_steps", "analytics_steps"):
        for key, seconds in timings.get(phase, {}).items():
            layer = layer_of(key)
            layers[layer] += seconds
            if phase == "lake_steps" and layer == "checks":
                lake_checks += seconds
    out = {k: round(v, 2) for k, v in layers.items()}
    out["lake_checks"] = round(lake_checks, 2)
    out["analytics_checks"] = round(layers["checks"] - lake_checks, 2)
    steps = sum(layers.values())
    phases = timings.get("lake_seconds", 0) + timings.get("analytics_seconds", 0)
    out["dagster_overhead"] = round(phases - steps, 2)  # run set-up, events, between steps
    out["lake_phase"] = round(timings.get("lake_seconds", 0), 2)
    out["analytics_phase"] = round(timings.get("analytics_seconds", 0), 2)
    out["slowest_steps"] = dict(
        sorted(
            ((k, v) for p in ("lake_steps", "analytics_steps") for k, v in timings[p].items()),
            key=lambda kv: -kv[1],
        )[:10]
    )
    return out


def pipeline(raw: Path, home: Path, work: Path, label: str) -> dict:
    shutil.rmtree(home, ignore_errors=True)
    timings_file = work / f"timings_{label}.json"
    env = {**os.environ, "GOODPULSE_TIMINGS_FILE": str(timings_file)}
    env.pop("DAGSTER_HOME", None)  # the CLI's in-memory instance, as a user runs it
    cmd = goodpulse_cmd("run", "--home", str(home), "--raw-dir", str(raw))
    measured = run_measured(cmd, env=env, log=work / f"run_{label}.log")
    timings = json.loads(timings_file.read_text())
    return {**measured, "layers": summarise_steps(timings), "timings_file": str(timings_file)}


def floor(raw: Path) -> dict:
    import duckdb

    sql = FLOOR_SQL.read_text().replace("{raw}", str(raw))
    con = duckdb.connect()
    try:
        started = time.perf_counter()
        rows = con.sql(f"SELECT count(*), sum(lifetime_revenue) FROM ({sql})").fetchall()[0]
        seconds = time.perf_counter() - started
    finally:
        con.close()
    return {"customer_360_seconds": round(seconds, 2), "customers": rows[0], "revenue": rows[1]}


def warehouse_check(home: Path) -> dict:
    import duckdb

    from goodpulse_dagster.lake_layout import default_warehouse

    con = duckdb.connect(str(default_warehouse(home)), read_only=True)
    try:
        row = con.sql("SELECT count(*), sum(lifetime_revenue) FROM gold.customer_360").fetchall()
    finally:
        con.close()
    return {"customers": row[0][0], "revenue": row[0][1]}


# --- incremental refresh ----------------------------------------------------------------------

REFRESH_CHILD = """
import json, os, sys, time, warnings
warnings.filterwarnings("ignore")
from dagster import DagsterInstance
from goodpulse_dagster.automation.jobs import ANALYTICS_JOB, LAKE_JOB
from goodpulse_dagster.automation.landing_logic import plan_runs
from goodpulse_dagster.automation.sensors import to_run_request
from goodpulse_dagster.cli import QUIET_LOGGING, step_seconds
from goodpulse_dagster.definitions import build_definitions, build_resources
from goodpulse_dagster.execution import execute_job_here
from goodpulse_dagster.partitions import quarterly_partitions
from goodpulse_dagster.settings import load_settings
# The landing-zone keys of the files that just landed: the runs are the ones the landing-zone
# sensor would request for them (same plan, same run requests), then the analytics job.
landed = set(sys.argv[1:])
settings = load_settings()
defs = build_definitions(settings)
fresh = [o for o in build_resources(settings)["landing"].zone().list_objects() if o.key in landed]
plan = plan_runs(fresh, lambda: [], set(quarterly_partitions.get_partition_keys()))
instance = DagsterInstance.ephemeral()
t0 = time.perf_counter()
lake_steps, requests = {}, []
for run in plan.runs:
    request = to_run_request(run)
    requests.append({"partition_key": request.partition_key,
                     "assets": [k.to_user_string() for k in request.asset_selection or []]})
    lake = execute_job_here(defs.resolve_job_def(LAKE_JOB), instance, QUIET_LOGGING,
                            tags=request.tags, partition_key=request.partition_key,
                            asset_selection=request.asset_selection)
    lake_steps.update(step_seconds(lake))
t1 = time.perf_counter()
analytics = execute_job_here(defs.resolve_job_def(ANALYTICS_JOB), instance, QUIET_LOGGING)
t2 = time.perf_counter()
open(os.environ["GOODPULSE_TIMINGS_FILE"], "w").write(json.dumps({
    "lake_seconds": t1 - t0, "analytics_seconds": t2 - t1, "requests": requests,
    "lake_steps": lake_steps, "analytics_steps": step_seconds(analytics)}))
"""


LAKE_RUN_CHILD = """
import json, os, sys, time, warnings
warnings.filterwarnings("ignore")
from dagster import AssetKey, DagsterInstance
from goodpulse_dagster.automation.jobs import LAKE_JOB
from goodpulse_dagster.cli import QUIET_LOGGING
from goodpulse_dagster.definitions import build_definitions
from goodpulse_dagster.execution import execute_job_here
from goodpulse_dagster.settings import load_settings
# The lake run of quarter argv[1] for the assets argv[2:], GOODPULSE_REPEAT times in this
# process: the wall seconds of each run, process start excluded.
partition_key = sys.argv[1]
assets = [AssetKey.from_user_string(a) for a in sys.argv[2:]]
defs = build_definitions(load_settings())
instance = DagsterInstance.ephemeral()
seconds = []
for _ in range(int(os.environ["GOODPULSE_REPEAT"])):
    t0 = time.perf_counter()
    execute_job_here(defs.resolve_job_def(LAKE_JOB), instance, QUIET_LOGGING,
                     partition_key=partition_key, asset_selection=assets)
    seconds.append(time.perf_counter() - t0)
open(os.environ["GOODPULSE_TIMINGS_FILE"], "w").write(json.dumps({"seconds": seconds}))
"""
LAKE_RUN_REPEATS = 3


def quarter_key(drop_name: str) -> str:
    """'2018-Q3.csv' -> '2018-07-01' (the partition key)."""
    year, q = drop_name.removesuffix(".csv").split("-Q")
    return f"{year}-{(int(q) - 1) * 3 + 1:02d}-01"


def incremental(
    orders: int, work: Path, regenerate: bool, full_run: dict | None, pairs: int = 1
) -> dict:
    """The refresh of one new quarter after a run on every earlier quarter.

    With ``pairs`` > 1 the refresh is repeated from the same starting state (a copy of the home
    taken before the drops land), each time followed by a full run at this scale: on a shared
    machine whose speed drifts by tens of percent within minutes, a refresh and the full run it
    is compared with are measured side by side, and the share reported is the median pair's
    (the higher of the middle two for an even count).
    """
    source = work / f"raw_{orders}_quarterly"
    gen = generate(orders, source, "quarterly", regenerate, work)
    drops = sorted(p.name for p in (source / "orders").glob("*.csv"))
    # The newest quarter with a real share of the orders (the generator's last quarter can be a
    # stub of a few days, whose refresh would say little).
    sizes = {d: (source / "orders" / d).stat().st_size for d in drops}
    total = sum(sizes.values())
    last = [d for d in drops if sizes[d] >= 0.02 * total][-1]
    held_back = [p for p in source.rglob(last)]
    later = [d for d in drops if d > last]
    raw = work / f"raw_{orders}_incremental"
    shutil.rmtree(raw, ignore_errors=True)
    for path in source.rglob("*.csv"):
        if path.name in later or path in held_back:
            continue
        target = raw / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(path, target)
    home = work / f"home_{orders}_incremental"
    initial = pipeline(raw, home, work, f"{orders}_incremental_initial")
    before = work / f"home_{orders}_before_refresh"
    if pairs > 1:
        shutil.rmtree(before, ignore_errors=True)
        shutil.copytree(home, before, symlinks=True)
    for path in held_back:  # the new quarter lands
        target = raw / path.relative_to(source)
        os.symlink(path, target)
    landed = [str(p.relative_to(source)) for p in held_back]
    full_raw = work / f"raw_{orders}"  # the full run the pairs compare with: full layout
    if pairs > 1:
        generate(orders, full_raw, "full", False, work)
    measured = []
    for pair in range(pairs):
        if pair:
            shutil.rmtree(home)
            shutil.copytree(before, home, symlinks=True)
        refresh, timings = _refresh(orders, raw, home, work, landed)
        full = full_run
        if pairs > 1:
            full = pipeline(full_raw, work / f"home_{orders}_pair", work, f"{orders}_pair")
            print(
                f"   pair {pair + 1}: refresh {refresh['wall_seconds']} s, full run "
                f"{full['wall_seconds']} s",
                flush=True,
            )
        measured.append((refresh, timings, full))
    shutil.rmtree(before, ignore_errors=True)
    shutil.rmtree(work / f"home_{orders}_pair", ignore_errors=True)
    # What any one-quarter lake run costs whatever its size: the same lake run, after the refresh,
    # for the quarter with the fewest orders (re-materializing a quarter replaces its objects).
    smallest = min((d for d in drops if d != last and d not in later), key=sizes.get)
    with (source / "orders" / smallest).open("rb") as fh:
        smallest_orders = sum(1 for _ in fh) - 1  # the header; order rows hold no line breaks

    def share(pair) -> float | None:
        refresh, _, full = pair
        return refresh["wall_seconds"] / full["wall_seconds"] if full else None

    # The median pair by share (with one pair, that pair).
    ranked = sorted(measured, key=lambda p: share(p) or 0.0)
    refresh, timings, full = ranked[len(ranked) // 2]
    lake_run = _one_quarter_lake_run(
        orders, raw, home, work, quarter_key(smallest), timings["requests"][0]["assets"]
    )
    lake_run["orders"] = smallest_orders
    result = {
        "orders": orders,
        "generator": gen,
        "new_quarter": quarter_key(last),
        "new_quarter_files": landed,
        "lake_run_requests": timings.get("requests"),
        "later_quarters_left_out": later,
        "initial_run": initial,
        "refresh": refresh,
        "refresh_parts": refresh_parts(refresh, timings, lake_run["median_seconds"]),
        "one_quarter_lake_run": lake_run,
    }
    if pairs > 1:
        result["pairs"] = [
            {
                "refresh_seconds": r["wall_seconds"],
                "full_run_seconds": f["wall_seconds"],
                "share": round(share((r, t, f)), 3),
            }
            for r, t, f in measured
        ]
    if full:
        result["full_run_seconds"] = full["wall_seconds"]
        result["refresh_share_of_full_run"] = round(share((refresh, timings, full)), 3)
        parts = result["refresh_parts"]
        result["share_without_the_quarter"] = round(
            (refresh["wall_seconds"] - parts["lake_for_the_quarter"]) / full["wall_seconds"], 3
        )
    result["refresh_share_of_initial_run"] = round(
        refresh["wall_seconds"] / initial["wall_seconds"], 3
    )
    return result


def refresh_parts(refresh: dict, timings: dict, lake_run_fixed: float) -> dict:
    """The refresh's wall time in parts: process start and exit, the lake phase (a one-quarter
    lake run's fixed cost, the rest for the quarter's data), the analytics phase."""
    lake, analytics = timings["lake_seconds"], timings["analytics_seconds"]
    return {
        "process_start_and_exit": round(refresh["wall_seconds"] - lake - analytics, 2),
        "lake_phase": round(lake, 2),
        "lake_run_fixed": round(lake_run_fixed, 2),
        "lake_for_the_quarter": round(max(lake - lake_run_fixed, 0.0), 2),
        "analytics_phase": round(analytics, 2),
    }


def _one_quarter_lake_run(
    orders: int, raw: Path, home: Path, work: Path, partition_key: str, assets: list[str]
) -> dict:
    """``LAKE_RUN_REPEATS`` lake runs of one quarter (``LAKE_RUN_CHILD``) on ``home``."""
    timings_file = work / f"timings_{orders}_lake_run.json"
    env = {
        **os.environ,
        "GOODPULSE_HOME": str(home),
        "GOODPULSE_RAW_DIR": str(raw),
        "GOODPULSE_TIMINGS_FILE": str(timings_file),
        "GOODPULSE_REPEAT": str(LAKE_RUN_REPEATS),
    }
    env.pop("DAGSTER_HOME", None)
    run_measured(
        [sys.executable, "-c", LAKE_RUN_CHILD, partition_key, *assets],
        env=env,
        log=work / f"lake_run_{orders}.log",
    )
    seconds = json.loads(timings_file.read_text())["seconds"]
    return {
        "quarter": partition_key,
        "runs_seconds": [round(x, 2) for x in seconds],
        "median_seconds": round(sorted(seconds)[len(seconds) // 2], 2),
    }


def _refresh(orders: int, raw: Path, home: Path, work: Path, landed: list[str]):
    """One refresh (``REFRESH_CHILD``) of ``home`` for the ``landed`` files: its measurement and
    its step timings."""
    timings_file = work / f"timings_{orders}_refresh.json"
    env = {
        **os.environ,
        "GOODPULSE_HOME": str(home),
        "GOODPULSE_RAW_DIR": str(raw),
        "GOODPULSE_TIMINGS_FILE": str(timings_file),
    }
    env.pop("DAGSTER_HOME", None)
    refresh = run_measured(
        [sys.executable, "-c", REFRESH_CHILD, *landed],
        env=env,
        log=work / f"refresh_{orders}.log",
    )
    timings = json.loads(timings_file.read_text())
    refresh["layers"] = summarise_steps(timings)
    return refresh, timings


# --- report -----------------------------------------------------------------------------------


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def targets_table(results: dict) -> list[str]:
    """Issue 7's targets against this run's figures (only those the run measured)."""
    by_scale = {s["orders"]: s for s in results["scales"]}
    rows = []

    def row(target: str, value: str, met: bool) -> None:
        rows.append(f"| {target} | {value} | {'yes' if met else 'no'} |")

    gens = [s["generator"] for s in results["scales"] if not s["generator"].get("reused")]
    if gens:
        big = max(gens, key=lambda g: g["orders"])
        row(
            "generator: bounded memory (peak < 4 GB)",
            f"{big['orders']:,} orders: {_fmt(big['wall_seconds'])} s, {big['peak_rss_mb']:,} MB",
            big["peak_rss_mb"] < 4096,
        )
    if 100_000 in by_scale:
        wall = by_scale[100_000]["run"]["wall_seconds"]
        row("100,000 orders end to end <= 30 s", f"{_fmt(wall)} s", wall <= 30)
    if 1_000_000 in by_scale:
        run = by_scale[1_000_000]["run"]
        row(
            "1,000,000 orders <= 120 s",
            f"{_fmt(run['wall_seconds'])} s",
            run["wall_seconds"] <= 120,
        )
        row(
            "1,000,000 orders peak RSS <= 4 GB",
            f"{run['peak_rss_mb']:,} MB",
            run["peak_rss_mb"] <= 4096,
        )
    if 3_000_000 in by_scale:
        run = by_scale[3_000_000]["run"]
        # run_measured raises when the run fails: a recorded run completed.
        ok = run["peak_rss_mb"] <= 10240
        row(
            "3,000,000 orders complete, peak RSS <= 10 GB",
            f"{_fmt(run['wall_seconds'])} s, {run['peak_rss_mb']:,} MB",
            ok,
        )
    if 100_000 in by_scale and 1_000_000 in by_scale:
        ratio = (
            by_scale[1_000_000]["run"]["wall_seconds"] / by_scale[100_000]["run"]["wall_seconds"]
        )
        row("1M run <= 10 x the 100k run", f"{ratio:.1f}x", ratio <= 10)
    inc = results.get("incremental")
    if inc and "refresh_share_of_full_run" in inc:
        share = inc["refresh_share_of_full_run"]
        row(
            "refresh of one new quarter <= 35% of the full run (1M)",
            f"{_fmt(inc['refresh']['wall_seconds'])} s = {share * 100:.0f}%",
            share <= 0.35,
        )
    if not rows:
        return []
    return [
        "Against the targets (issue 7):",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ] + rows


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# GoodPulse benchmark",
        "",
        f"Run {results['started_at']} with `python benchmarks/run_benchmark.py "
        f"{' '.join(results['argv'])}`.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}; "
        f"Python {m['python']}, DuckDB {m['duckdb']}, Dagster {m['dagster']}, "
        f"pyarrow {m['pyarrow']}, pandas {m['pandas']}. "
        f"Load average at start: {m['load_average_at_start']} (other work on the machine "
        "inflates wall times; CPU seconds are less sensitive to it).",
        "",
        "Times in seconds. Layer columns are the sums of the Dagster step durations of that "
        "layer's assets (load inputs, compute, store outputs); checks are the asset-check "
        "steps; overhead is the rest of the two runs (run set-up, event log, step launch); the "
        "whole run also includes process start and imports.",
        "",
        "| scale (orders) | generator s (orders/s, RSS MB) | bronze | silver | gold | KPI | "
        "report | quarantine | checks | Dagster overhead | whole run wall | whole run CPU | "
        "peak RSS MB | floor customer_360 | run / floor |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in results["scales"]:
        g, r, lay, f = s["generator"], s["run"], s["run"]["layers"], s["floor"]
        lines.append(
            f"| {s['orders']:,} | {_fmt(g['wall_seconds'])} ({_fmt(g['orders_per_second'])}, "
            f"{g['peak_rss_mb']}) | {_fmt(lay['bronze'])} | {_fmt(lay['silver'])} | "
            f"{_fmt(lay['gold'])} | {_fmt(lay['kpi'])} | {_fmt(lay['report'])} | "
            f"{_fmt(lay['quarantine'])} | {_fmt(lay['checks'])} | "
            f"{_fmt(lay['dagster_overhead'])} | {_fmt(r['wall_seconds'])} | "
            f"{_fmt(r['cpu_seconds'])} | {r['peak_rss_mb']:,} | "
            f"{_fmt(f['customer_360_seconds'], 2)} | {_fmt(s['ratios']['whole_run_over_floor'])} |"
        )
    lines += ["", "Ratios and sanity checks:", ""]
    for s in results["scales"]:
        ratios = s["ratios"]
        lines.append(
            f"- {s['orders']:,} orders: customer_360 through the pipeline (lake phase + the "
            f"customer-table step) / floor = {_fmt(ratios['customer_360_over_floor'])}x; whole run "
            f"/ floor = {_fmt(ratios['whole_run_over_floor'])}x; floor customers "
            f"{s['floor']['customers']:,} vs warehouse {s['warehouse']['customers']:,}."
        )
    by_scale = {s["orders"]: s for s in results["scales"]}
    if 100_000 in by_scale and 1_000_000 in by_scale:
        ratio = (
            by_scale[1_000_000]["run"]["wall_seconds"] / by_scale[100_000]["run"]["wall_seconds"]
        )
        lines.append(f"- whole run at 1M / at 100k: {ratio:.1f}x (target <= 10x).")
    inc = results.get("incremental")
    if inc:
        ref = inc["refresh"]
        lines += [
            "",
            f"Incremental refresh at {inc['orders']:,} orders (per-quarter layout): the initial "
            f"run without quarter {inc['new_quarter']} took {_fmt(inc['initial_run']['wall_seconds'])}"
            f" s; after its drops ({', '.join(inc['new_quarter_files'])}) landed, the refresh "
            "(the lake run the landing-zone sensor requests for those files: the order-grain "
            "bronze and silver tables of that quarter; then analytics_job) took "
            f"{_fmt(ref['wall_seconds'])} s "
            f"wall, {_fmt(ref['cpu_seconds'])} s CPU, peak RSS {ref['peak_rss_mb']:,} MB: "
            f"lake {_fmt(ref['layers']['lake_phase'])} s, analytics "
            f"{_fmt(ref['layers']['analytics_phase'])} s.",
        ]
        if "refresh_share_of_full_run" in inc:
            lines.append(
                f"That is {inc['refresh_share_of_full_run'] * 100:.0f}% of the full run at this "
                f"scale ({_fmt(inc['full_run_seconds'])} s) and "
                f"{inc['refresh_share_of_initial_run'] * 100:.0f}% of the initial run "
                "(target <= 35%)."
            )
        parts, lake_run = inc.get("refresh_parts"), inc.get("one_quarter_lake_run")
        if parts and lake_run:
            lines.append(
                f"The median refresh in parts: process start and exit "
                f"{_fmt(parts['process_start_and_exit'])} s; lake phase "
                f"{_fmt(parts['lake_phase'])} s, of which {_fmt(parts['lake_run_fixed'])} s is what "
                f"any one-quarter lake run costs (the same run for quarter {lake_run['quarter']}, "
                f"{lake_run['orders']:,} orders, took {_fmt(lake_run['median_seconds'])} s: median "
                f"of {', '.join(_fmt(x) for x in lake_run['runs_seconds'])}) and "
                f"{_fmt(parts['lake_for_the_quarter'])} s the quarter's data; analytics phase "
                f"{_fmt(parts['analytics_phase'])} s (a full recompute: as_of and the quantiles "
                "move with every quarter)."
            )
            if "share_without_the_quarter" in inc:
                lines.append(
                    "Without the quarter's data (its lake time cut to nothing), the refresh would "
                    f"still be {inc['share_without_the_quarter'] * 100:.0f}% of the full run."
                )
        if inc.get("pairs"):
            lines.append(
                f"Measured as {len(inc['pairs'])} pairs, each a refresh from the same state then "
                "a full run at this scale, back to back; the figures above are the median "
                "pair's (the higher middle one for an even count). Pairs (refresh s / full run s = share): "
                + "; ".join(
                    f"{_fmt(p['refresh_seconds'])} / {_fmt(p['full_run_seconds'])} = "
                    f"{p['share'] * 100:.1f}%"
                    for p in inc["pairs"]
                )
                + "."
            )
    lines += ["", *targets_table(results)]
    lines += ["", "Slowest steps per scale:", ""]
    for s in results["scales"]:
        slow = ", ".join(f"`{k}` {v:.1f}" for k, v in s["run"]["layers"]["slowest_steps"].items())
        lines.append(f"- {s['orders']:,}: {slow}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--incremental-scale", type=int, default=None)
    parser.add_argument(
        "--refresh-pairs",
        type=int,
        default=1,
        help="repeat the refresh N times, each followed by a full run, and report the median "
        "pair (a shared machine's speed drifts between two measurements minutes apart)",
    )
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--max-rss-gb", type=float, default=None)
    args = parser.parse_args(argv)
    global MAX_RSS_MB
    MAX_RSS_MB = int(args.max_rss_gb * 1024) if args.max_rss_gb else None
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    work = args.work.resolve()
    results: dict = {
        "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "argv": sys.argv[1:] if argv is None else argv,
        "machine": machine(),
        "targets": TARGETS,
        "scales": [],
    }
    for orders in args.scales:
        print(f"== {orders:,} orders", flush=True)
        raw = work / f"raw_{orders}"
        gen = generate(orders, raw, "full", args.regenerate, work)
        print(f"   generator {gen['wall_seconds']} s, {gen['peak_rss_mb']} MB", flush=True)
        home = work / f"home_{orders}"
        run = pipeline(raw, home, work, str(orders))
        print(
            f"   goodpulse run {run['wall_seconds']} s wall, {run['cpu_seconds']} s CPU, "
            f"{run['peak_rss_mb']} MB; layers {run['layers']}",
            flush=True,
        )
        fl = floor(raw)
        lay = run["layers"]
        from goodpulse_dagster.gold.assets import CUSTOMER_TABLES_OP

        # The one step that computes customer_360 (with customer_unified_lifecycle).
        c360 = lay["lake_phase"] + run_step(run, CUSTOMER_TABLES_OP)
        ratios = {
            "customer_360_over_floor": round(c360 / fl["customer_360_seconds"], 1),
            "whole_run_over_floor": round(run["wall_seconds"] / fl["customer_360_seconds"], 1),
        }
        print(f"   floor {fl}; ratios {ratios}", flush=True)
        results["scales"].append(
            {
                "orders": orders,
                "generator": gen,
                "run": run,
                "floor": fl,
                "warehouse": warehouse_check(home),
                "ratios": ratios,
            }
        )
    if args.incremental_scale:
        print(f"== incremental refresh at {args.incremental_scale:,} orders", flush=True)
        full = next(
            (s["run"] for s in results["scales"] if s["orders"] == args.incremental_scale), None
        )
        results["incremental"] = incremental(
            args.incremental_scale, work, args.regenerate, full, args.refresh_pairs
        )
        print(f"   refresh {results['incremental']['refresh']}", flush=True)
    (args.out / "benchmark.json").write_text(json.dumps(results, indent=1, default=str))
    (args.out / "README.md").write_text(markdown(results))
    print(markdown(results))
    return results


def run_step(run: dict, step_key: str) -> float:
    timings = json.loads(Path(run["timings_file"]).read_text())
    return timings["analytics_steps"].get(step_key, 0.0)


if __name__ == "__main__":
    main()
