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

A failing asset stops only itself and what depends on it: ``run`` materializes everything else,
then prints a summary naming each failed step and check with its cause, and exits with status 1.
A user error (bad input, a missing file or column, wrong settings, a held warehouse lock) is
printed as its message alone, exit status 2; ``--debug`` shows tracebacks. docs/data_quality.md,
"Runs", has the rules.

Nothing the command prints shows a secret embedded in a URL: every line, the tracebacks of
``--debug`` and of unexpected errors included, goes through ``settings.mask_url_secrets``
(``--s3-endpoint-url http://user:password@host`` is printed as ``http://***@host``; botocore
quotes the endpoint in its connection errors).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
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


def _home_command(sub, name: str, help_text: str, func) -> argparse.ArgumentParser:
    """A subcommand that works on a GoodPulse home (the location flags), run by ``func``."""
    command = sub.add_parser(name, help=help_text)
    _add_location_flags(command)
    command.set_defaults(func=func)
    return command


def _add_sample_flags(parser: argparse.ArgumentParser) -> None:
    """How much sample data to generate, and from which seed (generate, demo)."""
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)


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


def _mask(text: str) -> str:
    # Imported here, as every goodpulse_dagster module this one uses: the command starts
    # without loading the pipeline.
    from goodpulse_dagster.errors import mask_url_secrets

    return mask_url_secrets(text)


def _say(message: str) -> None:
    print(_mask(message), flush=True)


# Exit statuses: a run with failures (everything else materialized), and a user error.
EXIT_RUN_FAILED = 1
EXIT_USER_ERROR = 2


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
    from goodpulse_dagster.bronze.staging import orders_by_quarter as staged_orders_by_quarter
    from goodpulse_dagster.definitions import build_resources
    from goodpulse_dagster.partitions import PARTITION_KEY_FORMAT

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


def _selected_keys(defs, job_name: str, asset_selection) -> set:
    """The assets a run of ``job_name`` over ``asset_selection`` (None: the whole job) targets."""
    from dagster import AssetSelection

    from goodpulse_dagster.automation.jobs import analytics_selection, lake_selection

    if asset_selection is not None:
        return set(asset_selection)
    selection = {"lake_job": lake_selection, "analytics_job": analytics_selection}[job_name]
    return set(AssetSelection.resolve(selection, defs.resolve_asset_graph()))


def analytics_keys_without(defs, not_built: set) -> list:
    """The analytics assets that read none of ``not_built``, directly or not: a failed lake asset
    stops only what depends on it."""
    from dagster import AssetSelection

    from goodpulse_dagster.automation.jobs import analytics_selection

    graph = defs.resolve_asset_graph()
    keys = AssetSelection.resolve(analytics_selection, graph)
    if not_built:
        keys -= AssetSelection.resolve(AssetSelection.assets(*not_built).downstream(), graph)
    return sorted(keys, key=lambda k: k.to_user_string())


def run_failures(result) -> list:
    """A ``Failure`` for each failed step (the cause: the user error's message, dug out of
    Dagster's error chain) and each check that failed with ERROR (the cause: its description)."""
    from dagster import AssetCheckSeverity

    from goodpulse_dagster.run_trust import Failure, user_error_message

    run_id = result.run_id
    failures = []
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        error = event.event_specific_data.error
        # A step that failed because its blocking checks failed: the checks are listed below.
        if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
            continue
        cause = user_error_message(error) if error is not None else "failed"
        failures.append(Failure(f"step {event.step_key}", cause, run_id))
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR:
            where = evaluation.asset_key.to_user_string()
            if evaluation.partition:
                where += f" (quarter {evaluation.partition})"
            failures.append(
                Failure(
                    f"check {evaluation.check_name} of {where}",
                    evaluation.description or "no description recorded",
                    run_id,
                )
            )
    return failures


def step_tracebacks(results) -> list[str]:
    """The full error (traceback and causes) of every failed step, for ``--debug``."""
    return [
        f"{e.step_key}:\n{e.event_specific_data.error.to_string()}"
        for r in results
        for e in r.all_events
        if e.event_type_value == "STEP_FAILURE" and e.event_specific_data.error is not None
    ]


def _run_showing_progress(phase, quarters: int, job, **run):
    """``execute_job_here(job, **run)``, each finished step shown on ``phase`` (a
    ``run_progress.PhaseProgress``) as the step's hook reports it (automation/progress.py);
    ``quarters``: how many of the phase's quarters the run covers."""
    from goodpulse_dagster.automation.progress import listening
    from goodpulse_dagster.execution import execute_job_here

    phase.start_run(quarters)
    with listening(lambda steps: phase.step(steps.done, steps.total)):
        result = execute_job_here(job, **run)
    phase.end_run()
    return result


def run_pipeline(settings=None) -> dict:
    """Materialize everything: lake (all quarters with data), then analytics. Returns timings,
    and under ``failures`` what failed (``run_trust.Failure``s), under ``results`` the runs.

    The lake phase is one run when the data holds at most ``settings.lake_run_max_orders``
    orders, else one run per range of quarters (``lake_run_ranges``): the first run also builds
    the dimension tables, the others only the order-grain tables of their quarters. A lake asset
    that fails (or is held back by a failed blocking check) stops only its dependents: the
    analytics run leaves out what reads it, and is skipped when that is everything."""
    from dagster import BetaWarning

    warnings.filterwarnings("ignore", category=BetaWarning)
    from goodpulse_dagster.automation.jobs import (
        ANALYTICS_JOB,
        LAKE_JOB,
        ORDER_GRAIN_LAKE_KEYS,
        partition_range_tags,
    )
    from goodpulse_dagster.definitions import build_definitions
    from goodpulse_dagster.errors import UserError
    from goodpulse_dagster.run_progress import PhaseProgress, ProgressDisplay
    from goodpulse_dagster.settings import load_settings

    settings = settings or load_settings()
    defs = build_definitions(settings)
    instance = _instance()
    timings: dict = {"lake_steps": {}}

    start = time.perf_counter()
    quarter_orders = orders_by_quarter(settings)
    if not quarter_orders:
        raise UserError(f"No orders found in the landing zone {settings.raw_dir}.")
    ranges = lake_run_ranges(quarter_orders, settings.lake_run_max_orders)
    _say(
        f"[1/2] bronze + silver: {len(quarter_orders)} quarters ({quarter_orders[0][0]} .. "
        f"{quarter_orders[-1][0]}), {sum(n for _, n in quarter_orders):,} orders"
        + (f", in {len(ranges)} runs" if len(ranges) > 1 else "")
        + " ..."
    )
    # Progress on stderr as the steps finish (run_progress.py; automation/progress.py says how
    # the steps report): stdout keeps the results.
    display = ProgressDisplay()
    lake = PhaseProgress("lake", display, quarters=len(quarter_orders), runs=len(ranges))
    quarter_keys = [key for key, _ in quarter_orders]
    lake_results, targeted, built = [], set(), set()
    for number, (first, last) in enumerate(ranges):
        # Dimension tables are built once, by the first run.
        selection = None if number == 0 else list(ORDER_GRAIN_LAKE_KEYS)
        result = _run_showing_progress(
            lake,
            quarter_keys.index(last) - quarter_keys.index(first) + 1,
            defs.resolve_job_def(LAKE_JOB),
            instance=instance,
            run_config=QUIET_LOGGING,
            tags=partition_range_tags(first, last),
            asset_selection=selection,
            raise_on_error=False,
        )
        lake_results.append(result)
        targeted |= _selected_keys(defs, LAKE_JOB, selection)
        built |= {e.asset_key for e in result.get_asset_materialization_events()}
        for key, seconds in step_seconds(result).items():
            timings["lake_steps"][key] = timings["lake_steps"].get(key, 0.0) + seconds
    lake.finish()
    timings["lake_seconds"] = time.perf_counter() - start
    materialized = sum(len(_materialized(r)) for r in lake_results)
    _say(f"      {materialized} assets materialized in {timings['lake_seconds']:.1f} s")

    # Not built in this invocation: failed, or held back by a failed blocking check upstream.
    not_built = targeted - built
    selection = analytics_keys_without(defs, not_built)
    start = time.perf_counter()
    results = list(lake_results)
    timings["skipped_analytics"] = None
    if selection:
        _say("[2/2] gold, KPIs and report ...")
        progress = PhaseProgress("analytics", display)
        analytics = _run_showing_progress(
            progress,
            0,
            defs.resolve_job_def(ANALYTICS_JOB),
            instance=instance,
            run_config=QUIET_LOGGING,
            asset_selection=selection if not_built else None,
            raise_on_error=False,
        )
        progress.finish()
        results.append(analytics)
        timings["analytics_steps"] = step_seconds(analytics)
        _say(
            f"      {len(_materialized(analytics))} assets materialized in "
            f"{time.perf_counter() - start:.1f} s"
        )
    else:
        timings["skipped_analytics"] = "every asset it reads failed in the lake run"
        timings["analytics_steps"] = {}
        _say(f"[2/2] gold, KPIs and report: skipped, {timings['skipped_analytics']}")
    timings["analytics_seconds"] = time.perf_counter() - start
    warned = [
        e.asset_check_key.to_user_string()
        for r in results
        for e in r.get_asset_check_evaluations()
        if not e.passed
    ]
    if warned:
        _say(f"      checks that did not pass: {', '.join(warned)}")
    timings["failures"] = [f for r in results for f in run_failures(r)]
    timings["results"] = results
    return timings


def failure_summary(failures) -> str:
    """What the CLI prints after a run with failures: one line per failed step or check."""
    lines = [f"\n{len(failures)} failure(s); everything that does not depend on them was built:"]
    lines += [f"  - {f.what}: {f.cause}" for f in failures]
    return "\n".join(lines)


def headline_kpis(warehouse: Path) -> dict[str, float | str]:
    """The headline KPIs, read from the warehouse."""
    from goodpulse_dagster.errors import UserError
    from goodpulse_dagster.resources.warehouse import connect_warehouse

    if not warehouse.exists():
        raise UserError(f"There is no warehouse at {warehouse}: run `goodpulse run` first.")
    con = connect_warehouse(str(warehouse), read_only=True)
    try:
        [(built,)] = con.sql(
            # A table, or a view over the Parquet a Spark run wrote (GOODPULSE_ENGINE=spark).
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'kpi' "
            "AND table_name = 'northstar'"
        ).fetchall()
        if not built:
            # A first run whose KPI step failed leaves a warehouse without them.
            raise UserError(
                f"The warehouse {warehouse} holds no KPI tables yet: no run has built them."
            )
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


def print_kpis(warehouse: Path, home: Path | None = None) -> None:
    """The headline KPIs, under the stale notice while failures followed the last good run."""
    from goodpulse_dagster.run_trust import read_state, stale_notice

    kpis = headline_kpis(warehouse)
    width = max(len(k) for k in kpis)
    notice = stale_notice(read_state(home)) if home is not None else None
    if notice:
        _say(f"\n{notice}")
    _say("\nHeadline KPIs")
    for key, value in kpis.items():
        _say(f"  {key.ljust(width)}  {_format(value)}")


def write_report(settings) -> Path:
    from goodpulse_dagster.report.assets import report_from_warehouse

    paths = report_from_warehouse(settings.warehouse_path, settings.reports_dir)
    return paths["html"]


def cmd_generate(args: argparse.Namespace) -> None:
    from goodpulse_dagster.sample_data import generate

    report = generate(
        args.out, orders=args.orders, seed=args.seed, messy=args.messy, layout=args.layout
    )
    _say(json.dumps(report.to_dict(), indent=2, default=str))


def cmd_run(args: argparse.Namespace) -> None:
    from goodpulse_dagster import memory_budget
    from goodpulse_dagster.errors import UserError
    from goodpulse_dagster.run_trust import record_failures
    from goodpulse_dagster.settings import load_settings

    _apply_location_flags(args)
    settings = load_settings()
    # Every DuckDB database of the run gets this budget; a bad GOODPULSE_MEMORY_LIMIT stops here.
    _say(memory_budget.in_force().describe())
    started = time.perf_counter()
    timings = run_pipeline(settings)
    failures, results = timings.pop("failures"), timings.pop("results")
    if failures:
        # The report asset records good runs; failures are recorded here (and by the guard of
        # the analytics steps, for runs started elsewhere). Marks the published report stale.
        record_failures(settings.home, failures)
    if settings.warehouse_path.exists():
        try:
            print_kpis(settings.warehouse_path, settings.home)
        except UserError as error:
            if not failures:
                raise
            # The failures below say why; they must still be printed.
            _say(f"\n{error}")
    if os.environ.get("GOODPULSE_TIMINGS_FILE"):
        # For benchmarks/run_benchmark.py: the per-step wall times of this run.
        timings["total_seconds"] = time.perf_counter() - started
        Path(os.environ["GOODPULSE_TIMINGS_FILE"]).write_text(json.dumps(timings, indent=1))
    _say(f"\nDone in {time.perf_counter() - started:.1f} s. Warehouse: {settings.warehouse_path}")
    report = settings.reports_dir / "goodpulse_report.html"
    if report.exists():
        _say(f"Report: {report}")
    if failures:
        if getattr(args, "debug", False):
            _say("\n".join(step_tracebacks(results)))
        _say(failure_summary(failures))
        raise SystemExit(EXIT_RUN_FAILED)


def cmd_kpis(args: argparse.Namespace) -> None:
    from goodpulse_dagster.settings import load_settings

    _apply_location_flags(args)
    settings = load_settings()
    print_kpis(settings.warehouse_path, settings.home)


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
        from goodpulse_dagster.errors import UserSettingsError

        raise UserSettingsError("`goodpulse demo` uses local storage; use `goodpulse run` for S3.")
    from goodpulse_dagster.sample_data import generate

    started = time.perf_counter()
    report = generate(settings.raw_dir, orders=args.orders, seed=args.seed)
    _say(
        f"Generated {report.orders:,} orders (seed {report.seed}) into {settings.raw_dir} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    cmd_run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="goodpulse", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--debug", action="store_true", help="show Python tracebacks of errors and failed steps"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write Olist-shaped sample data (Kaggle layout)")
    _add_sample_flags(gen)
    gen.add_argument("--out", required=True)
    gen.add_argument("--messy", action="store_true", help="inject what real exports contain")
    gen.add_argument("--layout", choices=["full", "quarterly"], default="full")
    gen.set_defaults(func=cmd_generate)

    _home_command(sub, "run", "materialize every asset and print the headline KPIs", cmd_run)
    _home_command(sub, "kpis", "print the headline KPIs from the warehouse", cmd_kpis)
    _home_command(sub, "report", "write the executive report from the warehouse", cmd_report)
    demo = _home_command(
        sub, "demo", "generate sample data, run everything, write the report", cmd_demo
    )
    _add_sample_flags(demo)
    return parser


def main(argv: list[str] | None = None) -> None:
    from goodpulse_dagster.errors import UserError

    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except UserError as error:
        # One or two plain sentences, no traceback: the user can fix it from the message.
        if args.debug:
            print(_mask(traceback.format_exc()), file=sys.stderr, flush=True)
        else:
            print(f"goodpulse: {error}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_USER_ERROR) from None
    except Exception:
        # A bug, or an environment failure (S3 unreachable): the traceback, as Python prints it
        # for an uncaught exception and with its status 1, but with secrets in URLs masked.
        print(_mask(traceback.format_exc()), file=sys.stderr, flush=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main(sys.argv[1:])
