"""No table passes through Python between steps (issue 17).

The customer-grain tables: gold writes customer_360 and customer_unified_lifecycle inside the
warehouse, and the steps that read customer_360 (segmentation, KPI) get a relation over the
warehouse table, not its rows. The lake: every bronze and silver asset hands the Parquet IO
manager a ``LakeOutput`` (files DuckDB wrote) and every lake input is a ``LakeDataset`` (the
objects' URIs, scanned in place), never an Arrow table.
"""

import contextlib
import io
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, Definitions

from goodpulse_dagster import engine, lake_layout
from goodpulse_dagster.asset_conventions import LAKE_IO_MANAGER, WAREHOUSE_IO_MANAGER
from goodpulse_dagster.automation.jobs import ANALYTICS_JOB, LAKE_JOB, partition_range_tags
from goodpulse_dagster.cli import run_pipeline
from goodpulse_dagster.definitions import build_definitions
from goodpulse_dagster.engine import Relation
from goodpulse_dagster.resources.lake_data import LakeDataset, LakeOutput
from goodpulse_dagster.resources.parquet_io import ParquetLakeIOManager
from goodpulse_dagster.resources.warehouse import InPlace, WarehouseIOManager
from goodpulse_dagster_tests.fixtures.handmade_expected import C360_ROWS
from goodpulse_dagster_tests.fixtures.handmade_raw import write_handmade_raw
from goodpulse_dagster_tests.fixtures.handmade_silver import HANDMADE_AS_OF
from goodpulse_dagster_tests.pipeline import QUIET, lake_settings

pytestmark = pytest.mark.slow

HANDLED: list[tuple[str, str, str]] = []  # (output or input, asset key, value type)
LAKE_HANDLED: list[tuple[str, str, str]] = []  # the same, of the Parquet IO manager


class RecordingWarehouseIOManager(WarehouseIOManager):
    """The warehouse IO manager, noting the type of every value it is handed or hands out."""

    def handle_output(self, context, obj):
        HANDLED.append(("output", context.asset_key.to_user_string(), type(obj).__name__))
        super().handle_output(context, obj)

    def load_input(self, context):
        value = super().load_input(context)
        HANDLED.append(("input", context.asset_key.to_user_string(), type(value).__name__))
        return value


class RecordingParquetIOManager(ParquetLakeIOManager):
    """The Parquet IO manager, noting the type of every value it is handed or hands out."""

    def handle_output(self, context, obj):
        LAKE_HANDLED.append(("output", context.asset_key.to_user_string(), type(obj).__name__))
        super().handle_output(context, obj)

    def load_input(self, context):
        value = super().load_input(context)
        LAKE_HANDLED.append(("input", context.asset_key.to_user_string(), type(value).__name__))
        return value


@pytest.fixture(scope="module")
def handled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("streaming")
    raw = write_handmade_raw(tmp / "raw")
    settings = lake_settings(tmp / "home", raw, GOODPULSE_AS_OF=HANDMADE_AS_OF.isoformat())
    with contextlib.redirect_stdout(io.StringIO()):
        run_pipeline(settings)  # the lake (and a first analytics run), as the CLI runs it
    instance = DagsterInstance.ephemeral()
    defs = build_definitions(settings)
    recording = Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        resources={
            **defs.resources,
            WAREHOUSE_IO_MANAGER: RecordingWarehouseIOManager(
                database=str(settings.warehouse_path)
            ),
            LAKE_IO_MANAGER: RecordingParquetIOManager(lake=defs.resources["lake"]),
        },
        executor=defs.executor,
    )
    HANDLED.clear()
    LAKE_HANDLED.clear()
    # The lake for every quarter of the hand-made orders in one run, then the analytics.
    lake = recording.resolve_job_def(LAKE_JOB).execute_in_process(
        run_config=QUIET,
        instance=instance,
        tags=partition_range_tags("2016-10-01", "2018-07-01"),
    )
    assert lake.success
    result = recording.resolve_job_def(ANALYTICS_JOB).execute_in_process(
        run_config=QUIET, instance=instance
    )
    assert result.success
    return list(HANDLED), settings, list(LAKE_HANDLED)


def test_gold_customer_tables_are_written_in_the_warehouse(handled):
    events, *_ = handled
    outputs = {key: kind for what, key, kind in events if what == "output"}
    assert outputs["gold/customer_360"] == InPlace.__name__
    assert outputs["gold/customer_unified_lifecycle"] == InPlace.__name__


def test_readers_of_the_customer_grain_tables_get_a_relation_not_their_rows(handled):
    events, *_ = handled
    customer_grain = ("gold/customer_360", "gold/customer_predictions")
    loads = [(key, kind) for what, key, kind in events if what == "input" and key in customer_grain]
    # The segmentation, KPI, prediction and check steps all read them in the warehouse.
    assert {key for key, _ in loads} == set(customer_grain)
    assert {kind for _, kind in loads} == {Relation.__name__}
    outputs = {key: kind for what, key, kind in events if what == "output"}
    assert outputs["gold/customer_predictions"] == InPlace.__name__


def test_the_in_place_tables_hold_the_hand_worked_customers(handled):
    _, settings, _ = handled
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        ids = con.sql("SELECT customer_unique_id FROM gold.customer_360 ORDER BY 1").fetchall()
        unified = con.sql("SELECT count(*) FROM gold.customer_unified_lifecycle").fetchall()
    finally:
        con.close()
    assert [i for (i,) in ids] == sorted(row[0] for row in C360_ROWS)
    assert unified == [(len(C360_ROWS),)]


def test_every_lake_value_is_files_or_a_dataset_never_a_table(handled):
    *_, lake_events = handled
    outputs = {(key, kind) for what, key, kind in lake_events if what == "output"}
    inputs = {(key, kind) for what, key, kind in lake_events if what == "input"}
    # Every bronze and silver asset of the lake run wrote through the IO manager: 11 source
    # tables in each layer and the lifecycle.
    assert len({key for key, _ in outputs}) == 23
    assert {kind for _, kind in outputs} == {LakeOutput.__name__}
    # Silver read bronze and its parents, gold, KPI, predictions and checks the lifecycle.
    assert "silver/unified_user_lifecycle" in {key for key, _ in inputs}
    assert "bronze/orders" in {key for key, _ in inputs}
    assert {kind for _, kind in inputs} == {LakeDataset.__name__}
    assert pa.Table.__name__ not in {kind for *_, kind in lake_events}


# --- the per-partition COPY -------------------------------------------------------------------


def _hand_made_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Three rows in 2017-Q1, one in 2017-Q2, none in 2017-Q3; ids VARCHAR, money DECIMAL."""
    con.execute(
        """
        CREATE TEMP TABLE hand_made AS
        SELECT * FROM (VALUES
            ('a', 1.50::DECIMAL(18,2), DATE '2017-01-01', TIMESTAMP '2017-01-02 10:00:00'),
            ('b', NULL::DECIMAL(18,2), DATE '2017-01-01', TIMESTAMP '2017-02-03 11:00:00'),
            ('c', 3.25::DECIMAL(18,2), DATE '2017-01-01', TIMESTAMP '2017-03-04 12:00:00'),
            ('d', 4.00::DECIMAL(18,2), DATE '2017-04-01', TIMESTAMP '2017-05-05 13:00:00')
        ) AS t(id, amount, _partition, seen_at)
        """
    )


QUARTERS = ["2017-01-01", "2017-04-01", "2017-07-01"]
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("amount", pa.decimal128(18, 2)),
        ("_partition", pa.date32()),
        ("seen_at", pa.timestamp("us")),
    ]
)


def test_copy_partitions_writes_one_file_per_key_the_empty_one_with_the_schema(tmp_path):
    con = engine.connect()
    try:
        _hand_made_rows(con)
        files = engine.copy_partitions(con, "hand_made", tmp_path, QUARTERS)
    finally:
        con.close()
    assert sorted(files) == QUARTERS
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{q}.parquet" for q in QUARTERS]
    q1, q2, q3 = (pq.read_table(files[q]) for q in QUARTERS)
    assert q1.column("id").to_pylist() == ["a", "b", "c"]  # in the table's order
    assert q1.column("amount").to_pylist()[1] is None
    assert q2.column("id").to_pylist() == ["d"]
    assert q2.column("_partition").to_pylist() == [date(2017, 4, 1)]
    # The empty quarter is a file with the schema and no row; every column stays nullable,
    # though DuckDB knows Q2 has no NULL (it would write such a column REQUIRED).
    assert q3.num_rows == 0
    for table in (q1, q2, q3):
        assert table.schema.equals(SCHEMA), table.schema


def test_copy_partitions_again_replaces_the_files(tmp_path):
    con = engine.connect()
    try:
        _hand_made_rows(con)
        engine.copy_partitions(con, "hand_made", tmp_path, QUARTERS)
        con.execute("DELETE FROM hand_made WHERE id IN ('a', 'd')")
        files = engine.copy_partitions(con, "hand_made", tmp_path, QUARTERS)
    finally:
        con.close()
    assert pq.read_table(files["2017-01-01"]).column("id").to_pylist() == ["b", "c"]
    assert pq.read_table(files["2017-04-01"]).num_rows == 0


def test_copy_partitions_refuses_rows_of_another_partition(tmp_path):
    con = engine.connect()
    try:
        _hand_made_rows(con)
        with pytest.raises(ValueError, match="1 rows belong to partitions outside this run"):
            engine.copy_partitions(con, "hand_made", tmp_path, QUARTERS[:1] + QUARTERS[2:])
    finally:
        con.close()


def test_a_lake_output_counts_its_rows_and_reads_back_through_a_dataset(tmp_path):
    con = engine.connect()
    try:
        _hand_made_rows(con)
        output = LakeOutput.write(con, "hand_made", tmp_path, QUARTERS, partitioned=True)
    finally:
        con.close()
    assert output.row_count == 4
    assert output.dataset().count_rows() == 4
    assert output.schema().equals(SCHEMA)
    assert sorted(output.to_arrow().column("id").to_pylist()) == ["a", "b", "c", "d"]
    output.discard()
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_published_files_leave_no_scratch_behind(handled):
    _, settings, _ = handled
    scratch = lake_layout.lake_output_dir(settings.home)
    # Every file DuckDB wrote was moved into the lake, and the run's folders removed.
    assert not scratch.exists() or list(scratch.rglob("*")) == []
