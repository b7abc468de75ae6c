"""The ``goodpulse`` command.

    goodpulse generate --orders N --seed S --out DIR [--messy] [--layout full|quarterly]
    goodpulse run      [--raw-dir DIR] [--home DIR] [--storage local|s3] [--s3-bucket B] ...
    goodpulse kpis     [--home DIR]
    goodpulse report   [--home DIR]
    goodpulse demo     [--orders N] [--home DIR]   generate sample data, run, report

``run`` materializes every asset through Dagster (with DAGSTER_HOME set, runs, metadata and check
results land in that instance, where ``dagster dev`` shows them): first bronze and silver for
every quarter that has data, in one run (or in runs of consecutive quarters of at most
``GOODPULSE_LAKE_RUN_MAX_ORDERS`` orders), then gold, KPIs and the report, and prints the headline
KPIs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

# Flags that map onto the GOODPULSE_* environment (settings.py reads the environment only).
_ENV_FLAGS = {
    "home": "GOODPULSE_HOME",
    "raw_dir": "GOODPULSE_RAW_DIR",
    "storage": "GOODPULSE_STORAGE",
    "s3_bucket": "GOODPULSE_S3_BUCKET",
    "s3_endpoint_url": "GOODPULSE_S3_ENDPOINT_URL",
    "warehouse": "GOODPULSE_WAREHOUSE",
}
QUIET_LOGGING = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _add_location_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--home", help="working directory (default: $GOODPULSE_HOME or ./.goodpulse)"
    )
    parser.add_argument("--raw-dir", help="local landing zone (default: $GOODPULSE_HOME/raw)")
    parser.add_argument(
        "--storage", choices=["local", "s3"], help="where raw files and the lake are"
    )
    parser.add_argument("--s3-bucket", help="bucket holding raw/ and lake/ (storage=s3)")
    parser.add_argument("--s3-endpoint-url", help="S3-compatible endpoint (MinIO, R2, LocalStack)")
    parser.add_argument("--warehouse", help="DuckDB warehouse file")


def _apply_location_flags(args: argparse.Namespace) -> None:
    for attr, var in _ENV_FLAGS.items():
        value = getattr(args, attr, None)
        if value:
            os.environ[var] = str(Path(value).absolute()) if attr in ("home", "raw_dir") else value


def _instance():
    """The Dagster instance at $DAGSTER_HOME when set (runs then show in `dagster dev` with the
    same DAGSTER_HOME), else an in-memory one. Not a default on disk: the SQLite event log syncs
    every event to disk, which costs ~40 ms an event here, more than the data work of a run."""
    from dagster import DagsterInstance

    if os.environ.get("DAGSTER_HOME"):
        return DagsterInstance.get()
    return DagsterInstance.ephemeral()


def _say(message: str) -> None:
    print(message, flush=True)


def _materialized(result) -> list[tuple[str, int | None]]:
    rows = []
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        count = mat.metadata.get("dagster/row_count")
        rows.append((mat.asset_key.to_user_string(), count.value if count else None))
    return rows


def step_seconds(result) -> dict[str, float]:
    """Wall seconds of each successful step of a finished run, keyed by step key (the duration
    Dagster records on STEP_SUCCESS: the step's compute, IO manager loads and stores)."""
    seconds: dict[str, float] = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_SUCCESS" and event.step_key:
            seconds[event.step_key] = round(event.event_specific_data.duration_ms / 1000, 4)
    return seconds


def orders_by_quarter(settings) -> list[tuple[str, int]]:
    """(partition key, orders) of the quarters that hold at least one order, oldest first."""
    from goodpulse_dagster.definitions import build_resources
    from goodpulse_dagster.partitions import PARTITION_KEY_FORMAT
    from goodpulse_dagster.sources.staging import orders_by_quarter as staged_orders_by_quarter

    landing = build_resources(settings)["landing"]
    counts = staged_orders_by_quarter(landing.zone(), landing.staging_path)
    return [(q.strftime(PARTITION_KEY_FORMAT), n) for q, n in counts]


def lake_run_ranges(
    quarter_orders: list[tuple[str, int]], max_orders: int
) -> list[tuple[str, str]]:
    """Split consecutive quarters into (first, last) ranges of at most ``max_orders`` orders each
    (a quarter holding more is a range of its own). A lake run holds its range's tables in memory,
    so this bounds a run's memory by ``max_orders``, not by the size of the data."""
    ranges: list[tuple[str, str]] = []
    first = last = None
    total = 0
    for key, orders in quarter_orders:
        if first is not None and total + orders > max_orders:
            ranges.append((first, last))
            first = None
        if first is None:
            first, total = key, 0
        last, total = key, total + orders
    if first is not None:
        ranges.append((first, last))
    return ranges


def _range_tags(first: str, last: str) -> dict[str, str]:
    # The tags Dagster's single-run backfills put on a run over a range of partitions.
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def run_pipeline(settings=None) -> dict:
    """Materialize everything: lake (all quarters with data), then analytics. Returns timings.

    The lake phase is one run when the data holds at most ``settings.lake_run_max_orders``
    orders, else one run per range of quarters (``lake_run_ranges``): the first run also builds
    the dimension tables, the others only the order-grain tables of their quarters."""
    from dagster import BetaWarning

    warnings.filterwarnings("ignore", category=BetaWarning)
    from goodpulse_dagster.automation.jobs import ANALYTICS_JOB, LAKE_JOB, ORDER_GRAIN_LAKE_KEYS
    from goodpulse_dagster.definitions import build_definitions
    from goodpulse_dagster.execution import execute_job_here
    from goodpulse_dagster.settings import load_settings

    settings = settings or load_settings()
    defs = build_definitions(settings)
    instance = _instance()
    timings: dict = {"lake_steps": {}}

    start = time.perf_counter()
    quarter_orders = orders_by_quarter(settings)
    if not quarter_orders:
        raise SystemExit(f"no orders found in the landing zone ({settings.raw_dir})")
    ranges = lake_run_ranges(quarter_orders, settings.lake_run_max_orders)
    _say(
        f"[1/2] bronze + silver: {len(quarter_orders)} quarters ({quarter_orders[0][0]} .. "
        f"{quarter_orders[-1][0]}), {sum(n for _, n in quarter_orders):,} orders"
        + (f", in {len(ranges)} runs" if len(ranges) > 1 else "")
        + " ..."
    )
    lake_results = []
    for number, (first, last) in enumerate(ranges):
        result = execute_job_here(
            defs.resolve_job_def(LAKE_JOB),
            instance=instance,
            run_config=QUIET_LOGGING,
            tags=_range_tags(first, last),
            # Dimension tables are built once, by the first run.
            asset_selection=None if number == 0 else list(ORDER_GRAIN_LAKE_KEYS),
        )
        lake_results.append(result)
        for key, seconds in step_seconds(result).items():
            timings["lake_steps"][key] = timings["lake_steps"].get(key, 0.0) + seconds
    timings["lake_seconds"] = time.perf_counter() - start
    materialized = sum(len(_materialized(r)) for r in lake_results)
    _say(f"      {materialized} assets materialized in {timings['lake_seconds']:.1f} s")

    start = time.perf_counter()
    _say("[2/2] gold, KPIs and report ...")
    analytics = execute_job_here(
        defs.resolve_job_def(ANALYTICS_JOB), instance=instance, run_config=QUIET_LOGGING
    )
    timings["analytics_seconds"] = time.perf_counter() - start
    timings["analytics_steps"] = step_seconds(analytics)
    _say(
        f"      {len(_materialized(analytics))} assets materialized in "
        f"{timings['analytics_seconds']:.1f} s"
    )
    failed = [
        e.asset_check_key.to_user_string()
        for r in [*lake_results, analytics]
        for e in r.get_asset_check_evaluations()
        if not e.passed
    ]
    if failed:
        _say(f"      checks that did not pass: {', '.join(failed)}")
    return timings


def headline_kpis(warehouse: Path) -> dict[str, float | str]:
    """The headline KPIs, read from the warehouse."""
    import duckdb

    if not warehouse.exists():
        raise SystemExit(f"no warehouse at {warehouse}: run `goodpulse run` first")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        northstar = con.sql("SELECT * FROM kpi.northstar").df().iloc[0].to_dict()
        active = con.sql(
            "SELECT revenue_share FROM kpi.lifecycle_revenue WHERE lifecycle_stage = 'Active'"
        ).fetchall()
        p1 = con.sql(
            "SELECT grain, period1_retention FROM kpi.period1_retention WHERE is_headline"
        ).fetchall()
        top = con.sql(
            "SELECT max(top_n_revenue_share), count(*) FILTER (is_top_n) "
            "FROM kpi.city_concentration"
        ).fetchall()
        one_time = con.sql(
            "SELECT customer_share FROM kpi.frequency_distribution "
            "WHERE frequency_tier = 'One-time'"
        ).fetchall()
    finally:
        con.close()
    out: dict[str, float | str] = dict(northstar)
    out["one_time_customer_share"] = one_time[0][0] if one_time else None
    out["active_revenue_share"] = active[0][0] if active else None
    for grain, value in p1:
        out[f"{grain}_period1_retention"] = value
    out[f"top_{top[0][1]}_cities_revenue_share"] = top[0][0]
    return out


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.2f}"
    return str(value)


def print_kpis(warehouse: Path) -> None:
    kpis = headline_kpis(warehouse)
    width = max(len(k) for k in kpis)
    _say("\nHeadline KPIs")
    for key, value in kpis.items():
        _say(f"  {key.ljust(width)}  {_format(value)}")


def write_report(settings) -> Path:
    from goodpulse_dagster.assets.report import report_from_warehouse

    paths = report_from_warehouse(settings.warehouse_path, settings.reports_dir)
    return paths["html"]


def cmd_generate(args: argparse.Namespace) -> None:
    from goodpulse_dagster.sources.generator import generate

    report = generate(
        args.out, orders=args.orders, seed=args.seed, messy=args.messy, layout=args.layout
    )
    _say(json.dumps(report.to_dict(), indent=2, default=str))


def cmd_run(args: argparse.Namespace) -> None:
    from goodpulse_dagster.settings import load_settings

    _apply_location_flags(args)
    settings = load_settings()
    started = time.perf_counter()
    timings = run_pipeline(settings)
    print_kpis(settings.warehouse_path)
    if os.environ.get("GOODPULSE_TIMINGS_FILE"):
        # For benchmarks/run_benchmark.py: the per-step wall times of this run.
        timings["total_seconds"] = time.perf_counter() - started
        Path(os.environ["GOODPULSE_TIMINGS_FILE"]).write_text(json.dumps(timings, indent=1))
    _say(f"\nDone in {time.perf_counter() - started:.1f} s. Warehouse: {settings.warehouse_path}")
    report = settings.reports_dir / "goodpulse_report.html"
    if report.exists():
        _say(f"Report: {report}")


def cmd_kpis(args: argparse.Namespace) -> None:
    from goodpulse_dagster.settings import load_settings

    _apply_location_flags(args)
    print_kpis(load_settings().warehouse_path)


def cmd_report(args: argparse.Namespace) -> None:
    from goodpulse_dagster.settings import load_settings

    _apply_location_flags(args)
    _say(f"Report: {write_report(load_settings())}")


def cmd_demo(args: argparse.Namespace) -> None:
    """The embedded default: generated sample data in $GOODPULSE_HOME/raw, then ``run``."""
    from goodpulse_dagster.settings import load_settings

    _apply_location_flags(args)
    settings = load_settings()
    if settings.storage != "local":
        raise SystemExit("demo uses local storage; use `goodpulse run` for S3")
    from goodpulse_dagster.sources.generator import generate

    started = time.perf_counter()
    report = generate(settings.raw_dir, orders=args.orders, seed=args.seed)
    _say(
        f"Generated {report.orders:,} orders (seed {report.seed}) into {settings.raw_dir} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    cmd_run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="goodpulse", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write Olist-shaped sample data (Kaggle layout)")
    gen.add_argument("--orders", type=int, default=100_000)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--out", required=True)
    gen.add_argument("--messy", action="store_true", help="inject what real exports contain")
    gen.add_argument("--layout", choices=["full", "quarterly"], default="full")
    gen.set_defaults(func=cmd_generate)

    run = sub.add_parser("run", help="materialize every asset and print the headline KPIs")
    _add_location_flags(run)
    run.set_defaults(func=cmd_run)

    kpis = sub.add_parser("kpis", help="print the headline KPIs from the warehouse")
    _add_location_flags(kpis)
    kpis.set_defaults(func=cmd_kpis)

    report = sub.add_parser("report", help="write the executive report from the warehouse")
    _add_location_flags(report)
    report.set_defaults(func=cmd_report)

    demo = sub.add_parser("demo", help="generate sample data, run everything, write the report")
    _add_location_flags(demo)
    demo.add_argument("--orders", type=int, default=100_000)
    demo.add_argument("--seed", type=int, default=42)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
