"""The code paths that exist for speed and memory (docs/performance.md) give the same answers as
the plain ones: lake runs split into ranges of quarters, bronze routing restricted to a run's
window, and Arrow tables written to the warehouse (jobs run without output capture:
test_execution.py)."""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from dagster import (
    DagsterInstance,
    Definitions,
    asset,
    define_asset_job,
)

from goodpulse_dagster import schema
from goodpulse_dagster.bronze import parsing as bronze
from goodpulse_dagster.bronze import staging as staging_source
from goodpulse_dagster.bronze.staging import build_bronze, order_quarters
from goodpulse_dagster.cli import lake_run_ranges, run_pipeline
from goodpulse_dagster.definitions import build_definitions
from goodpulse_dagster.execution import execute_job_here
from goodpulse_dagster.resources.storage import LandingZoneResource
from goodpulse_dagster.resources.warehouse import WarehouseIOManager, WarehouseTable, write_arrow
from goodpulse_dagster.sample_data import generate
from goodpulse_dagster.settings import load_settings
from goodpulse_dagster_tests.fixtures.handmade_expected import C360, C360_ROWS, KPI_ROWS
from goodpulse_dagster_tests.fixtures.handmade_raw import write_handmade_raw
from goodpulse_dagster_tests.fixtures.handmade_silver import HANDMADE_AS_OF
from goodpulse_dagster_tests.pipeline import lake_settings
from goodpulse_dagster_tests.rawdata import write_table
from goodpulse_dagster_tests.test_gold_kpi import assert_frame

# --- lake runs in ranges of quarters -----------------------------------------------------------


def test_lake_run_ranges_hold_at_most_max_orders():
    quarters = [("q1", 10), ("q2", 30), ("q3", 5), ("q4", 50), ("q5", 1)]
    # q1 + q2 = 40 fits; q3 + q4 = 55 does not, and q4 alone (50) is over the limit but is one
    # quarter, so a range of its own; q5 would make q4's range 51.
    assert lake_run_ranges(quarters, 40) == [("q1", "q2"), ("q3", "q3"), ("q4", "q4"), ("q5", "q5")]
    assert lake_run_ranges(quarters, 96) == [("q1", "q5")]
    assert lake_run_ranges(quarters, 95) == [("q1", "q4"), ("q5", "q5")]
    assert lake_run_ranges([], 10) == []


def test_lake_run_max_orders_must_be_a_positive_whole_number():
    assert load_settings({"GOODPULSE_LAKE_RUN_MAX_ORDERS": "250000"}).lake_run_max_orders == 250_000
    with pytest.raises(ValueError, match="GOODPULSE_LAKE_RUN_MAX_ORDERS"):
        load_settings({"GOODPULSE_LAKE_RUN_MAX_ORDERS": "1e6"})
    with pytest.raises(ValueError, match="at least 1"):
        load_settings({"GOODPULSE_LAKE_RUN_MAX_ORDERS": "0"})


@pytest.mark.slow
def test_a_lake_phase_in_several_runs_gives_the_hand_worked_figures(tmp_path):
    # The hand-made scenario has 20 orders over six quarters; at most 4 orders per run splits the
    # lake phase into several runs (the first builds the dimension tables, the others only the
    # order-grain tables). The warehouse must hold exactly the hand-worked figures.
    raw = write_handmade_raw(tmp_path / "raw")
    settings = lake_settings(
        tmp_path / "home",
        raw,
        GOODPULSE_AS_OF=HANDMADE_AS_OF.isoformat(),
        GOODPULSE_LAKE_RUN_MAX_ORDERS="4",
    )
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        run_pipeline(settings)
    assert "runs ..." in printed.getvalue() and "did not pass" not in printed.getvalue()
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        assert_frame(
            con.sql("SELECT * FROM gold.customer_360 ORDER BY customer_unique_id").df(),
            C360,
            C360_ROWS,
        )
        for name, columns in schema.KPI_TABLES.items():
            assert_frame(con.sql(f"SELECT * FROM kpi.{name}").df(), columns, KPI_ROWS[name])
    finally:
        con.close()


def _benchmark_module():
    spec = importlib.util.spec_from_file_location(
        "run_benchmark", Path(__file__).parents[1] / "benchmarks" / "run_benchmark.py"
    )
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    return benchmark


def test_the_benchmark_puts_every_step_in_its_layer():
    # The benchmark's per-layer seconds come from step keys: each asset's step must land in its
    # layer, each check's step under checks (a multi-asset step once fell under checks).
    benchmark = _benchmark_module()
    graph = build_definitions(load_settings()).resolve_asset_graph()
    steps = {}
    for assets_def in graph.assets_defs:
        if assets_def.is_executable:
            layers = {key.path[0] for key in assets_def.keys} or {"checks"}
            assert len(layers) == 1, assets_def.node_def.name
            steps[assets_def.node_def.name] = layers.pop()
    assert {benchmark.layer_of(step) for step in steps} == set(benchmark.LAYERS) | {"checks"}
    assert {step: benchmark.layer_of(step) for step in steps} == steps


def test_the_benchmark_splits_a_refresh_into_its_parts():
    # A 27.2 s refresh whose lake run took 9.3 s and analytics run 14.3 s, where any one-quarter
    # lake run costs 3.5 s: 3.6 s of process start and exit, 5.8 s for the quarter's data.
    parts = _benchmark_module().refresh_parts(
        {"wall_seconds": 27.2}, {"lake_seconds": 9.3, "analytics_seconds": 14.3}, 3.5
    )
    assert parts == {
        "process_start_and_exit": 3.6,
        "lake_phase": 9.3,
        "lake_run_fixed": 3.5,
        "lake_for_the_quarter": 5.8,
        "analytics_phase": 14.3,
    }


# --- bronze routing restricted to a run's window -----------------------------------------------


@pytest.fixture(scope="module")
def messy_zone(tmp_path_factory):
    """A small messy export (orphans, unroutable and unreadable rows) and its landing zone."""
    tmp = tmp_path_factory.mktemp("messy")
    generate(tmp / "raw", orders=3_000, seed=7, messy=True)
    # Plus an order from before the first partition and one without a purchase time, each with
    # an item: rows no window holds, which every window's quarantine must still list.
    _append_copy(
        tmp / "raw" / schema.ORDERS.file_name,
        {"order_id": "early", "order_purchase_timestamp": "2015-03-01 10:00:00"},
    )
    _append_copy(
        tmp / "raw" / schema.ORDERS.file_name,
        {"order_id": "undated", "order_purchase_timestamp": ""},
    )
    items = tmp / "raw" / schema.SOURCE_TABLES["order_items"].file_name
    _append_copy(items, {"order_id": "early"})
    _append_copy(items, {"order_id": "undated"})
    landing = LandingZoneResource(raw_dir=str(tmp / "raw"), staging_dir=str(tmp / "staging"))
    return landing.zone(), landing.staging_path


def _append_copy(path, changes: dict[str, str]) -> None:
    """Append a copy of the file's first record with ``changes`` applied."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        first = next(reader)
        columns = reader.fieldnames
    with open(path, "a", newline="", encoding="utf-8") as fh:
        csv.DictWriter(fh, fieldnames=columns, lineterminator="\n").writerow({**first, **changes})


def _sorted_rows(table: pa.Table, drop: tuple[str, ...]) -> list[tuple]:
    frame = table.drop_columns([c for c in drop if c in table.column_names]).to_pandas()
    return sorted(map(tuple, frame.astype(str).itertuples(index=False)))


@pytest.mark.parametrize("table", schema.PARTITIONED_TABLES)
def test_window_builds_add_up_to_the_full_build(messy_zone, table):
    zone, staging = messy_zone
    full = build_bronze(table, zone, staging)
    quarters = order_quarters(zone, staging)
    windows = []
    for start in quarters:
        end = date(start.year + (start.month == 10), (start.month + 2) % 12 + 1, 1)
        windows.append(build_bronze(table, zone, staging, (start, end)))
    # Every row is in the window of its quarter, once; the quarantine (the table's complete set
    # of rejected rows) is the same whatever the window.
    ingested = (schema.INGESTED_AT_COLUMN,)
    assert sum(w.table.num_rows for w in windows) == full.table.num_rows
    assert _sorted_rows(pa.concat_tables([w.table for w in windows]), ingested) == _sorted_rows(
        full.table, ingested
    )
    stamp = ("quarantined_at",)
    for window in windows:
        assert _sorted_rows(window.quarantine, stamp) == _sorted_rows(full.quarantine, stamp)


def test_the_messy_export_exercises_orphans_and_unroutable_rows(messy_zone):
    # What the window builds above must keep whatever the window: rows of unknown orders and
    # orders that have no quarter.
    zone, staging = messy_zone
    rules = {
        rule
        for table in schema.PARTITIONED_TABLES
        for rule in build_bronze(table, zone, staging).quarantine.column("rule").to_pylist()
    }
    assert {"orphan", "unroutable"} <= rules, rules


def test_files_known_to_have_no_orphans_are_not_checked_again(tmp_path, monkeypatch):
    raw, staging_dir = tmp_path / "raw", tmp_path / "staging"
    orders_dir = raw / schema.ORDERS.drop_dir
    items_dir = raw / schema.SOURCE_TABLES["order_items"].drop_dir

    def orders(path, *ids):
        rows = [
            {"order_id": i, "customer_id": f"cust-{i}", "order_status": "delivered",
             "order_purchase_timestamp": "2017-02-01 10:00:00"}
            for i in ids
        ]  # fmt: skip
        write_table(path, "orders", rows)

    def items(path, *ids):
        rows = [{"order_id": i, "order_item_id": "1", "price": "10.0"} for i in ids]
        write_table(path, "order_items", rows)

    checked = []

    def spy(*args, **kwargs):
        routed = bronze.route_staged_rows(*args, **kwargs)
        checked.append(sorted(Path(p).name for p in args[7]))  # orphan_check_paths
        return routed

    monkeypatch.setattr(staging_source, "route_staged_rows", spy)
    landing = LandingZoneResource(raw_dir=str(raw), staging_dir=str(staging_dir))

    def orphan_ids() -> list[str]:
        built = build_bronze("order_items", landing.zone(), landing.staging_path)
        return sorted(
            r.split("order_id ")[1].split(" ")[0]
            for r in built.quarantine.column("reason").to_pylist()
        )

    orders(orders_dir / "2017-Q1.csv", "a", "b")
    items(items_dir / "2017-Q1.csv", "a", "b")
    assert orphan_ids() == []
    first_items = checked[-1]
    assert len(first_items) == 1
    # A new quarter: only the new items file is checked; the first one had no orphans under a
    # subset of today's orders files.
    orders(orders_dir / "2017-Q2.csv", "c")
    items(items_dir / "2017-Q2.csv", "c", "ghost")
    assert orphan_ids() == ["ghost"]
    assert len(checked[-1]) == 1 and checked[-1] != first_items
    # The files with orphans are checked every time: the quarantine stays complete.
    assert orphan_ids() == ["ghost"]
    assert len(checked[-1]) == 1 and checked[-1] != first_items
    # An orders file changed (order b withdrawn): the orders files are no longer a superset of
    # those the first items file was checked against, so it is checked again and b's item is
    # an orphan now.
    orders(orders_dir / "2017-Q1.csv", "a")
    assert orphan_ids() == ["b", "ghost"]
    assert len(checked[-1]) == 2


# --- Arrow tables in the warehouse -------------------------------------------------------------


def test_arrow_tables_are_written_and_read_back_with_their_types(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    with_nulls = pa.table(
        {
            "id": pa.array(["a", "b"], pa.string()),
            "line": pa.array([7, None], pa.int64()),
            "day": pa.array([date(2018, 1, 31), None], pa.date32()),
        }
    )
    empty = pa.schema([("rule", pa.string()), ("line", pa.int64())]).empty_table()
    seen = {}

    @asset(key_prefix=["gold"])
    def lines() -> pa.Table:
        return with_nulls

    @asset(key_prefix=["gold"])
    def nothing() -> pa.Table:
        return empty

    @asset(key_prefix=["gold"])
    def reader(lines: pa.Table, nothing: pa.Table) -> pd.DataFrame:
        seen["lines"], seen["nothing"] = lines, nothing
        return pd.DataFrame({"n": [lines.num_rows + nothing.num_rows]})

    defs = Definitions(
        assets=[lines, nothing, reader],
        resources={"io_manager": WarehouseIOManager(database=str(database))},
        jobs=[define_asset_job("all")],
    )
    for _ in range(2):  # a re-run replaces the tables: no duplicated rows
        assert execute_job_here(defs.resolve_job_def("all"), DagsterInstance.ephemeral()).success
    assert seen["lines"].equals(with_nulls)
    assert seen["nothing"].schema == empty.schema and seen["nothing"].num_rows == 0
    # The run released the file: a read-only connection (another configuration) opens it.
    con = duckdb.connect(str(database), read_only=True)
    try:
        types = con.sql(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'gold' ORDER BY table_name, ordinal_position"
        ).fetchall()
        assert types == [
            ("lines", "id", "VARCHAR"),
            ("lines", "line", "BIGINT"),
            ("lines", "day", "DATE"),
            ("nothing", "rule", "VARCHAR"),
            ("nothing", "line", "BIGINT"),
            ("reader", "n", "BIGINT"),
        ]
        assert con.sql("SELECT n FROM gold.reader").fetchall() == [(2,)]
    finally:
        con.close()


def test_an_arrow_write_keeps_no_row_order_and_leaves_the_session_as_it_was(tmp_path):
    # The customer-grain tables are written without keeping row order (no checkpoint left to
    # compress at close); the small tables written after them on the same connection keep theirs.
    rows = 300_000
    table = pa.table({"id": pa.array(range(rows), pa.int64())})
    # 131,072-row batches (DuckDB's default fetch size) straddle its 122,880-row row groups.
    straddling = pa.Table.from_batches(table.to_batches(max_chunksize=131_072))
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        con.execute("CREATE SCHEMA gold")
        write_arrow(WarehouseTable(schema="gold", table="ids"), straddling, con)
        assert con.sql("SELECT current_setting('preserve_insertion_order')").fetchall() == [(True,)]
        assert con.sql(
            "SELECT count(*), count(DISTINCT id), min(id), max(id), sum(id) FROM gold.ids"
        ).fetchall() == [(rows, rows, 0, rows - 1, rows * (rows - 1) // 2)]
    finally:
        con.close()
