"""Benchmark of the whole GoodPulse pipeline at several scales (GitHub issues 7 and 17).

    python benchmarks/run_benchmark.py --scales 1000000 3000000 [10000000] --out benchmarks/results
        [--incremental-scale 1000000] [--refresh-pairs 3] [--work benchmarks/work]
        [--regenerate] [--max-rss-gb 18] [--merge] [--free-home] [--floor-only]

For each scale it

1. generates Olist-shaped data with ``goodpulse generate`` (rows/s, peak RSS), reused from the
   work directory on later runs unless ``--regenerate``;
2. runs ``goodpulse run`` as a subprocess on a fresh home: wall and CPU seconds, the peak RSS
   of the process tree (psutil, every 50 ms) and the peak size of the spill folder
   (``<home>/tmp/duckdb``, every 0.5 s), its progress lines echoed as they come. The run writes
   the duration of every Dagster step (``GOODPULSE_TIMINGS_FILE``), grouped here into bronze,
   silver, gold, KPI, report, quarantine and checks, the rest being Dagster's own overhead and
   imports. Then the disk it used: the raw CSVs, the staging cache, the lake by layer, the
   warehouse file (``measure.home_disk``);
3. runs the full floor (``full_floor.py``: the whole analysis, every silver table it reads and
   every gold and KPI table, from the same CSVs in one DuckDB process with the run's memory
   budget), as a subprocess measured the same way, and checks that it computed what the
   warehouse holds (customers, total revenue, the northstar row);
4. times the customer_360 floor of earlier rounds (``floor_customer_360.sql``, one query, in
   this process), kept for continuity with earlier results;
5. writes ``<out>/benchmark.json`` and ``<out>/README.md`` (with the machine described, ratios
   and the targets of issues 7 and 17) after every scale, so a stopped benchmark keeps what it
   measured.

A step that fails (an error, or a process tree over ``--max-rss-gb``) is recorded with its step,
its error and what was measured until then (wall seconds, peak RSS, spill, the last progress
line), and the benchmark goes on: with the next step of that scale when it does not need the
failed one, then the next scale. With ``--merge`` the scales measured now replace those of the
same size in an existing ``<out>/benchmark.json`` and the others are kept: a 30M run can be run
once, alone, and merged. With ``--merge --floor-only`` only the floors of the given scales are
measured, and each scale keeps the run it has recorded (its time says when it was measured).

With ``--incremental-scale N`` it also generates N orders in the per-quarter layout, runs the
pipeline on every quarter but the last, adds the last quarter's drops and times the refresh:
the lake runs the landing-zone sensor requests for those files (the plan and run requests of
``automation/``: the order-grain bronze + silver tables of that quarter) and then gold, KPI and
report (``analytics_job``), in a subprocess, as a share of the full run.

The Spark engine (issue 18) has its own benchmark, ``benchmarks/spark_benchmark.py``: local
Spark vs DuckDB on the same generated files, per layer, with the driver's and the Spark
server's memory (docs/scale-out.md, "Results").

Work files (data, homes, floor databases, logs) go under ``--work`` (gitignored). Not a test:
nothing asserts on the timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the sibling modules, also when loaded by path (the tests)
    sys.path.insert(0, str(HERE))

from benchmark_report import TARGETS, markdown  # noqa: E402
from measure import MeasuredFailure, home_disk, mb  # noqa: E402
from measure import run_measured as _run_measured  # noqa: E402

FLOOR_SQL = HERE / "floor_customer_360.sql"
FULL_FLOOR = HERE / "full_floor.py"
SEED = 42
LAYERS = ("bronze", "silver", "gold", "kpi", "report", "quarantine")

MAX_RSS_MB: int | None = None  # --max-rss-gb: stop a child whose process tree exceeds it


def run_measured(cmd: list[str], **kwargs) -> dict:
    """``measure.run_measured`` under this benchmark's ``--max-rss-gb``."""
    return _run_measured(cmd, max_rss_mb=MAX_RSS_MB, **kwargs)


def goodpulse_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "goodpulse_dagster.cli", *args]


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a child working in ``home``: the CLI's in-memory Dagster instance, as
    a user runs it, and the default spill folder of that home (unless the caller's environment
    names one: then every child spills there)."""
    env = {**os.environ, "GOODPULSE_HOME": str(home), **extra}
    env.pop("DAGSTER_HOME", None)
    return env


def spill_dir(env: dict[str, str]) -> Path:
    """The spill folder the child's memory budget names (settings.py's default: the home's)."""
    from goodpulse_dagster.settings import memory_budget_from_env

    return memory_budget_from_env(env).temp_directory


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
    """``goodpulse run`` on a fresh ``home``: its measurement, layers and disk."""
    shutil.rmtree(home, ignore_errors=True)
    timings_file = work / f"timings_{label}.json"
    timings_file.unlink(missing_ok=True)
    env = child_env(home, GOODPULSE_TIMINGS_FILE=str(timings_file))
    cmd = goodpulse_cmd("run", "--home", str(home), "--raw-dir", str(raw))
    measured = run_measured(cmd, env=env, log=work / f"run_{label}.log", spill_dir=spill_dir(env))
    timings = json.loads(timings_file.read_text())
    return {
        **measured,
        "layers": summarise_steps(timings),
        "timings_file": str(timings_file),
        "disk": home_disk(home),
    }


def full_floor(raw: Path, work: Path, label: str) -> dict:
    """``full_floor.py`` in a child process on its own home (its spill folder), measured like
    the run; the floor database is removed afterwards (its size is recorded)."""
    home = work / f"floor_home_{label}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    database, result = home / "floor.duckdb", home / "floor.json"
    env = child_env(home)
    measured = run_measured(
        [sys.executable, str(FULL_FLOOR), str(raw), str(database), str(result)],
        env=env,
        log=work / f"floor_{label}.log",
        spill_dir=spill_dir(env),
    )
    out = {**measured, **json.loads(result.read_text()), "database_mb": mb(database.stat().st_size)}
    shutil.rmtree(home, ignore_errors=True)
    return out


def floor_customer_360(raw: Path) -> dict:
    """The floor of earlier rounds: customer_360's core columns in one query from the CSVs, in
    this process, under the run's memory budget (so it cannot take the machine's memory)."""
    import duckdb

    from goodpulse_dagster.settings import memory_budget_from_env

    sql = FLOOR_SQL.read_text().replace("{raw}", str(raw))
    con = duckdb.connect()
    try:
        memory_budget_from_env(child_env(raw.parent / "floor_customer_360_home")).apply(con)
        started = time.perf_counter()
        rows = con.execute(f"SELECT count(*), sum(lifetime_revenue) FROM ({sql})").fetchall()[0]
        seconds = time.perf_counter() - started
    finally:
        con.close()
    return {"customer_360_seconds": round(seconds, 2), "customers": rows[0], "revenue": rows[1]}


def warehouse_figures(home: Path) -> dict:
    """The warehouse's customers, total revenue and northstar row, by the floor's own query."""
    import duckdb
    from full_floor import comparable_figures

    from goodpulse_dagster.lake_layout import default_warehouse

    con = duckdb.connect(str(default_warehouse(home)), read_only=True)
    try:
        return comparable_figures(con)
    finally:
        con.close()


def floor_agrees(floor: dict, warehouse: dict) -> dict:
    """Whether the full floor computed what the pipeline's warehouse holds."""
    checks = {key: floor[key] == warehouse[key] for key in ("customers", "revenue", "northstar")}
    return {**checks, "all": all(checks.values())}


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
    # Hard links, not symlinks: the landing zone refuses a symlink to a file outside it
    # (landing/zone.py), and a hard link costs no copy.
    for path in source.rglob("*.csv"):
        if path.name in later or path in held_back:
            continue
        target = raw / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, target)
    home = work / f"home_{orders}_incremental"
    initial = pipeline(raw, home, work, f"{orders}_incremental_initial")
    before = work / f"home_{orders}_before_refresh"
    if pairs > 1:
        shutil.rmtree(before, ignore_errors=True)
        shutil.copytree(home, before, symlinks=True)
    for path in held_back:  # the new quarter lands
        target = raw / path.relative_to(source)
        os.link(path, target)
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
# --- one scale, robustly ------------------------------------------------------------------------


def _failure(step: str, error: Exception) -> dict:
    """A failed step as recorded: its error's message (the tail of the child's log) and what was
    measured until it failed."""
    partial = error.partial if isinstance(error, MeasuredFailure) else {}
    return {"step": step, "error": str(error)[-2000:], **partial}


def measure_scale(
    orders: int,
    work: Path,
    regenerate: bool,
    say=print,
    free_home: bool = False,
    recorded: dict | None = None,
) -> dict:
    """Every measurement of one scale; a failed step is recorded in ``failures`` and the steps
    that do not need it still run. With ``free_home`` the run's home is removed before the full
    floor runs (at 30M orders the two together need more disk than the machine has).

    With ``recorded`` (this scale's entry of an earlier benchmark: ``--floor-only``) the run is
    not measured again: its run, warehouse figures and disk are kept, with the time they were
    measured (``run_measured_at``), and only the floors are measured, on data generated again
    with the same seed (the generator is deterministic: the floor's figures are then compared
    with the recorded warehouse's, as after a run)."""
    entry: dict = {
        "orders": orders,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "failures": [],
    }
    raw, home, label = work / f"raw_{orders}", work / f"home_{orders}", str(orders)
    if recorded is not None:
        entry["run_measured_at"] = recorded.get("run_measured_at", recorded["measured_at"])
        entry["failures"] = [
            f for f in recorded.get("failures", []) if f["step"] not in FLOOR_STEPS
        ]
        for key in ("run", "warehouse"):
            if recorded.get(key) is not None:
                entry[key] = recorded[key]

    def step(name: str, run):
        started = time.perf_counter()
        try:
            return run()
        except Exception as error:  # recorded, and the benchmark goes on
            failure = _failure(name, error)
            entry["failures"].append(failure)
            say(
                f"   {name} FAILED after {time.perf_counter() - started:.0f} s "
                f"(peak RSS {failure.get('peak_rss_mb', '?')} MB): {str(error).splitlines()[0]}"
            )
            return None

    gen = step("generate", lambda: generate(orders, raw, "full", regenerate, work))
    if gen is None:
        return entry
    entry["generator"] = gen
    say(f"   generator {gen['wall_seconds']} s, {gen['peak_rss_mb']} MB, {gen['csv_mb']} MB of CSV")
    run = (
        entry.get("run")
        if recorded is not None
        else step("run", lambda: pipeline(raw, home, work, label))
    )
    if run is not None and recorded is None:  # a run measured now
        entry["run"] = run
        lay, disk = run["layers"], run["disk"]
        say(
            f"   goodpulse run {run['wall_seconds']} s wall, {run['cpu_seconds']} s CPU, "
            f"peak RSS {run['peak_rss_mb']} MB, peak spill {run['peak_spill_mb']} MB"
        )
        say("   layers: " + ", ".join(f"{k} {lay[k]}" for k in (*LAYERS, "checks")))
        say(
            f"   disk: staging {disk['staging_mb']} MB, lake {disk['lake_mb']} MB "
            f"{disk['lake_by_layer_mb']}, warehouse {disk['warehouse_mb']} MB"
        )
        entry["warehouse"] = step("warehouse", lambda: warehouse_figures(home))
    if free_home:  # its disk is recorded and its figures read: the floor gets the space
        shutil.rmtree(home, ignore_errors=True)
    floor = step("floor", lambda: full_floor(raw, work, label))
    if floor is not None:
        entry["full_floor"] = floor
        say(
            f"   full floor {floor['seconds']} s ({floor['wall_seconds']} s with process start), "
            f"peak RSS {floor['peak_rss_mb']} MB, peak spill {floor['peak_spill_mb']} MB"
        )
    c360 = step("floor_customer_360", lambda: floor_customer_360(raw))
    if c360 is not None:
        entry["floor"] = c360
    if entry.get("warehouse") and floor is not None:
        entry["floor_agrees"] = floor_agrees(floor, entry["warehouse"])
        say(f"   floor agrees with the warehouse: {entry['floor_agrees']}")
    # After a failed run, what it had written when it stopped.
    disk = run["disk"] if run else home_disk(home)
    failed_run = next((f for f in entry["failures"] if f["step"] == "run"), {})
    spill = (run or failed_run).get("peak_spill_mb")
    entry["disk"] = {"raw_csv_mb": gen["csv_mb"], **disk, "spill_peak_mb": spill}
    entry["ratios"] = scale_ratios(entry)
    say(f"   ratios {entry['ratios']}")
    return entry


# The steps of a scale that ``--floor-only`` measures again.
FLOOR_STEPS = ("generate", "floor", "floor_customer_360")


def scale_ratios(entry: dict) -> dict:
    """whole run / full floor, and the customer_360 ratios of earlier rounds, as measured."""
    run, floor, c360 = entry.get("run"), entry.get("full_floor"), entry.get("floor")
    ratios = {}
    if run and floor:
        # Both as wall time of their process, start-up included.
        ratios["whole_run_over_full_floor"] = round(run["wall_seconds"] / floor["wall_seconds"], 1)
    if run and c360:
        from goodpulse_dagster.gold.assets import CUSTOMER_TABLES_OP

        seconds = c360["customer_360_seconds"]
        # The one step that computes customer_360 (with customer_unified_lifecycle).
        c360_run = run["layers"]["lake_phase"] + run_step(run, CUSTOMER_TABLES_OP)
        ratios["customer_360_over_floor"] = round(c360_run / seconds, 1)
        ratios["whole_run_over_floor"] = round(run["wall_seconds"] / seconds, 1)
    return ratios


def run_step(run: dict, step_key: str) -> float:
    timings = json.loads(Path(run["timings_file"]).read_text())
    return timings["analytics_steps"].get(step_key, 0.0)


# --- results ------------------------------------------------------------------------------------


def merged(previous: dict | None, results: dict) -> dict:
    """``results`` with the scales of ``previous`` it did not measure (``--merge``), in order of
    scale; the incremental refresh of ``previous`` when this one did not measure one."""
    if not previous:
        return results
    mine = {s["orders"] for s in results["scales"]}
    kept = [s for s in previous.get("scales", []) if s["orders"] not in mine]
    out = {**results, "scales": sorted([*kept, *results["scales"]], key=lambda s: s["orders"])}
    if "incremental" not in results and "incremental" in previous:
        out["incremental"] = previous["incremental"]
    out["invocations"] = [*previous.get("invocations", []), *results["invocations"]]
    return out


def write_results(out: Path, results: dict) -> None:
    (out / "benchmark.json").write_text(json.dumps(results, indent=1, default=str))
    (out / "README.md").write_text(markdown(results))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="The module docstring (benchmarks/run_benchmark.py) says what each step measures.",
    )
    parser.add_argument(
        "--scales", type=int, nargs="*", default=[100_000, 1_000_000], help="orders per scale"
    )
    parser.add_argument(
        "--out", type=Path, default=HERE / "results", help="benchmark.json, README.md"
    )
    parser.add_argument("--work", type=Path, default=HERE / "work", help="data, homes and logs")
    parser.add_argument(
        "--incremental-scale",
        type=int,
        default=None,
        help="also time the refresh of one new quarter at this many orders",
    )
    parser.add_argument(
        "--refresh-pairs",
        type=int,
        default=1,
        help="repeat the refresh N times, each followed by a full run, and report the median "
        "pair (a shared machine's speed drifts between two measurements minutes apart)",
    )
    parser.add_argument("--regenerate", action="store_true", help="generate the data again")
    parser.add_argument(
        "--max-rss-gb",
        type=float,
        default=None,
        help="stop a child process whose process tree passes this RSS (recorded as a failure)",
    )
    parser.add_argument(
        "--free-home",
        action="store_true",
        help="remove each run's home once its disk and figures are recorded, before the floor",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other scales of an existing <out>/benchmark.json (these replace theirs)",
    )
    parser.add_argument(
        "--floor-only",
        action="store_true",
        help="measure only the floors of these scales, keeping the runs recorded in "
        "<out>/benchmark.json (needs --merge): a 30M run and its floor need more disk together "
        "than one machine may have",
    )
    args = parser.parse_args(argv)
    if args.floor_only and not args.merge:
        parser.error("--floor-only keeps the recorded runs: it needs --merge")
    global MAX_RSS_MB
    MAX_RSS_MB = int(args.max_rss_gb * 1024) if args.max_rss_gb else None
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    work = args.work.resolve()
    previous = None
    if args.merge and (args.out / "benchmark.json").exists():
        previous = json.loads((args.out / "benchmark.json").read_text())
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    argv_used = sys.argv[1:] if argv is None else argv
    results: dict = {
        "started_at": started,
        "argv": argv_used,
        "invocations": [{"started_at": started, "argv": argv_used}],
        "machine": machine(),
        "targets": TARGETS,
        "scales": [],
    }
    recorded = {s["orders"]: s for s in (previous or {}).get("scales", [])}
    for orders in args.scales:
        print(f"== {orders:,} orders", flush=True)
        if args.floor_only and orders not in recorded:
            parser.error(f"--floor-only: {args.out}/benchmark.json has no run of {orders:,}")
        results["scales"].append(
            measure_scale(
                orders,
                work,
                args.regenerate,
                free_home=args.free_home,
                recorded=recorded[orders] if args.floor_only else None,
            )
        )
        write_results(args.out, merged(previous, results))
    if args.incremental_scale:
        print(f"== incremental refresh at {args.incremental_scale:,} orders", flush=True)
        # The full run it is a share of: this invocation's, or (--merge) one already recorded.
        full = next(
            (
                s.get("run")
                for s in merged(previous, results)["scales"]
                if s["orders"] == args.incremental_scale
            ),
            None,
        )
        try:
            results["incremental"] = incremental(
                args.incremental_scale, work, args.regenerate, full, args.refresh_pairs
            )
            print(f"   refresh {results['incremental']['refresh']}", flush=True)
        except Exception as error:  # recorded, like a scale's failure
            results["incremental"] = {
                "orders": args.incremental_scale,
                "failure": _failure("incremental", error),
            }
            print(f"   incremental FAILED: {str(error).splitlines()[0]}", flush=True)
    results = merged(previous, results)
    write_results(args.out, results)
    print(markdown(results))
    return results


if __name__ == "__main__":
    main()
