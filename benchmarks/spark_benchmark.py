"""Local Spark vs DuckDB on the same files (GitHub issue 18): docs/scale-out.md, "Results".

    python benchmarks/spark_benchmark.py --scales 100000 [1000000] --out benchmarks/results
        [--work benchmarks/work]

For each scale it generates Olist-shaped data (``run_benchmark.generate``, reused from the work
directory), then runs ``goodpulse run`` twice on fresh homes, as a user runs it: with
``GOODPULSE_ENGINE=duckdb`` and with ``GOODPULSE_ENGINE=spark`` (``GOODPULSE_SPARK_REMOTE=local[2]``:
a local Spark Connect server started by each Dagster run). For each run: wall seconds, the
seconds of each layer (lifecycle, gold, KPI, predictions, from the run's step timings), and the
peak RSS of the Python process and, separately, of the Spark Connect server's JVM process tree
(psutil, every 100 ms). Then, where the Spark time goes, in this process on one local server:
session start, the median time of a trivial query (per-query overhead) and of one shuffle (a
GROUP BY over the 100k- or 1M-order lifecycle).

Writes ``<out>/spark_benchmark.json``. Not a test: nothing asserts on the timings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from run_benchmark import child_env, generate, goodpulse_cmd, machine  # noqa: E402

POLL_SECONDS = 0.1
TRIVIAL_QUERIES = 20


def spark_layer_of(step_key: str) -> str | None:
    """The layer of a step of either engine's run: lifecycle, gold, kpi, predictions, or None."""
    if step_key.startswith("silver__unified_user_lifecycle"):
        return "lifecycle"
    if step_key in ("predictions__spark", "kpi__predictions", "gold__customer_predictions"):
        return "predictions"
    if step_key.startswith("gold__") and not step_key.endswith("_checks"):
        return "gold"
    if step_key in ("kpi__spark", "kpi__tables"):
        return "kpi"
    return None


def _tree_rss(pid: int) -> tuple[int, int]:
    """(RSS of the non-Java processes, RSS of the Java processes) of ``pid``'s tree, bytes."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    python = java = 0
    for p in procs:
        try:
            rss = p.memory_info().rss
            if "java" in p.name().lower():
                java += rss
            else:
                python += rss
        except psutil.Error:
            continue
    return python, java


def run_pipeline(raw: Path, home: Path, work: Path, label: str, **env: str) -> dict:
    shutil.rmtree(home, ignore_errors=True)
    timings_file = work / f"timings_{label}.json"
    timings_file.unlink(missing_ok=True)
    child = child_env(home, GOODPULSE_TIMINGS_FILE=str(timings_file), **env)
    cmd = goodpulse_cmd("run", "--home", str(home), "--raw-dir", str(raw))
    peaks = {"python": 0, "java": 0}
    started = time.perf_counter()
    with open(work / f"run_{label}.log", "w") as log:
        proc = subprocess.Popen(cmd, env=child, stdout=log, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                python, java = _tree_rss(proc.pid)
                peaks["python"] = max(peaks["python"], python)
                peaks["java"] = max(peaks["java"], java)
                time.sleep(POLL_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        done.set()
        sampler.join()
    wall = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"{label}: goodpulse run exited {code}; see {work}/run_{label}.log")
    timings = json.loads(timings_file.read_text())
    layers = dict.fromkeys(("lifecycle", "gold", "kpi", "predictions"), 0.0)
    for phase in ("lake_steps", "analytics_steps"):
        for key, seconds in timings.get(phase, {}).items():
            layer = spark_layer_of(key)
            if layer:
                layers[layer] += seconds
    return {
        "wall_seconds": round(wall, 1),
        "layers": {k: round(v, 1) for k, v in layers.items()},
        "lake_phase": round(timings.get("lake_seconds", 0), 1),
        "analytics_phase": round(timings.get("analytics_seconds", 0), 1),
        "peak_python_rss_mb": peaks["python"] >> 20,
        "peak_jvm_rss_mb": peaks["java"] >> 20,
    }


def where_spark_time_goes(lifecycle_folder: Path) -> dict:
    """Session start, the per-query overhead and one shuffle, on one local server."""
    from goodpulse_dagster.spark.session import spark_session

    started = time.perf_counter()
    with spark_session("local[2]") as spark:
        start_seconds = time.perf_counter() - started
        trivial = []
        for _ in range(TRIVIAL_QUERIES):
            t = time.perf_counter()
            spark.sql("SELECT 1 AS one").collect()
            trivial.append(time.perf_counter() - t)
        lifecycle = spark.read.parquet(str(lifecycle_folder))
        shuffles = []
        for _ in range(3):
            t = time.perf_counter()
            lifecycle.groupBy("customer_unique_id").count().count()
            shuffles.append(time.perf_counter() - t)
    return {
        "session_start_seconds": round(start_seconds, 2),
        "trivial_query_median_ms": round(statistics.median(trivial) * 1000, 1),
        "shuffle_group_by_customer_median_seconds": round(statistics.median(shuffles), 2),
    }


def measure(orders: int, work: Path) -> dict:
    raw = work / f"raw_{orders}"
    data = generate(orders, raw, "full", False, work)
    duck = run_pipeline(raw, work / f"home_duckdb_{orders}", work, f"duckdb_{orders}")
    spark_home = work / f"home_spark_{orders}"
    spark = run_pipeline(
        raw, spark_home, work, f"spark_{orders}",
        GOODPULSE_ENGINE="spark", GOODPULSE_SPARK_REMOTE="local[2]",
    )  # fmt: skip
    lifecycle = spark_home / "lake" / "silver" / "unified_user_lifecycle"
    return {
        "orders": orders,
        "generate_seconds": data.get("wall_seconds"),
        "duckdb": duck,
        "spark": spark,
        "spark_over_duckdb": round(spark["wall_seconds"] / duck["wall_seconds"], 2),
        "spark_time": where_spark_time_goes(lifecycle),
        "machine_load_1m_before": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[100_000])
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--work", type=Path, default=HERE / "work")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "scales": []}
    for orders in args.scales:
        results["scales"].append(measure(orders, args.work))
        (args.out / "spark_benchmark.json").write_text(json.dumps(results, indent=1))
        print(json.dumps(results["scales"][-1], indent=1))
    return results


if __name__ == "__main__":
    main()
