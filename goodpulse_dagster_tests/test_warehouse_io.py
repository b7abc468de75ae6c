"""The warehouse IO manager (resources/warehouse.py) on a real DuckDB file: tables replaced, empty
tables created with their columns, a change of columns taken, Arrow inputs, per-partition
replacement, and one connection per run."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
from dagster import (
    AssetIn,
    AssetKey,
    DagsterInstance,
    Definitions,
    StaticPartitionsDefinition,
    asset,
    define_asset_job,
)

from goodpulse_dagster.execution import execute_job_here
from goodpulse_dagster.resources import warehouse
from goodpulse_dagster.resources.warehouse import ARROW_INPUT, WarehouseIOManager
from goodpulse_dagster.schema import TABLE_SPECS

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _run(database, assets, selection=None, partition_key=None):
    defs = Definitions(
        assets=assets,
        resources={"io_manager": WarehouseIOManager(database=str(database))},
        jobs=[define_asset_job("all", selection=selection)],
    )
    result = execute_job_here(
        defs.resolve_job_def("all"), DagsterInstance.ephemeral(), QUIET, partition_key=partition_key
    )
    assert result.success
    return result


def _rows(database, sql):
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def test_a_frame_replaces_its_table_and_an_empty_one_still_creates_it(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    frames = {"sales": pd.DataFrame({"city": ["a", "b"], "revenue": [1.5, 2.0]})}

    @asset(key_prefix=["gold"])
    def sales() -> pd.DataFrame:
        return frames["sales"]

    @asset(key_prefix=["kpi"])
    def nothing() -> pd.DataFrame:
        return pd.DataFrame(
            {"n": pd.Series([], dtype="int64"), "share": pd.Series([], dtype=float)}
        )

    result = _run(database, [sales, nothing])
    _run(database, [sales, nothing])  # a re-run replaces the rows: no duplicates
    assert _rows(database, "SELECT city, revenue FROM gold.sales ORDER BY city") == [
        ("a", 1.5),
        ("b", 2.0),
    ]
    assert _rows(database, "SELECT count(*) FROM kpi.nothing") == [(0,)]
    assert _rows(
        database,
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'nothing' ORDER BY ordinal_position",
    ) == [("n", "BIGINT"), ("share", "DOUBLE")]
    metadata = {
        e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert metadata["gold/sales"]["dagster/row_count"].value == 2
    assert metadata["gold/sales"]["dagster/table_name"].value == "gold.sales"
    assert metadata["kpi/nothing"]["dagster/row_count"].value == 0

    # A release adds a column: the table is recreated with it.
    frames["sales"] = pd.DataFrame({"city": ["c"], "orders": [3], "revenue": [9.0]})
    _run(database, [sales, nothing])
    assert _rows(database, "SELECT * FROM gold.sales") == [("c", 3, 9.0)]


def test_an_empty_frame_of_a_declared_table_gets_the_declared_types(tmp_path):
    # The hand-worked fixture has too few repeat customers for a churn monitor: the frame is
    # empty, its text and date columns pandas objects without a value. The table still has
    # the types its spec declares (schema/), not DuckDB's "NULL" type.
    spec = TABLE_SPECS[("kpi", "churn_risk_monitor")]
    database = tmp_path / "warehouse.duckdb"

    @asset(key_prefix=["kpi"])
    def churn_risk_monitor() -> pd.DataFrame:
        return pd.DataFrame({c.name: pd.Series([], dtype=object) for c in spec.columns})

    _run(database, [churn_risk_monitor])
    types = dict(
        _rows(
            database,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'churn_risk_monitor'",
        )
    )
    assert types["as_of"] == "DATE"
    assert types["value_segment"] == "VARCHAR"
    assert types == {c.name: c.type for c in spec.columns}


def test_an_input_is_a_frame_or_with_arrow_input_an_arrow_table(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    seen = {}

    @asset(key_prefix=["gold"])
    def lines() -> pd.DataFrame:
        return pd.DataFrame({"id": ["x", "y", "z"], "amount": [1.0, 2.0, 4.0]})

    @asset(key_prefix=["kpi"], ins={"lines": AssetIn(key=AssetKey(["gold", "lines"]))})
    def total(lines: pd.DataFrame) -> pd.DataFrame:
        seen["frame"] = lines
        return pd.DataFrame({"total": [lines["amount"].sum()]})

    @asset(
        key_prefix=["kpi"],
        ins={
            "lines": AssetIn(
                key=AssetKey(["gold", "lines"]), metadata={**ARROW_INPUT, "columns": ["amount"]}
            )
        },
    )
    def largest(lines) -> pd.DataFrame:
        seen["arrow"] = lines
        return pd.DataFrame({"largest": [max(lines.column("amount").to_pylist())]})

    _run(database, [lines, total, largest])
    assert isinstance(seen["frame"], pd.DataFrame)
    assert seen["frame"].sort_values("id")["id"].tolist() == ["x", "y", "z"]
    # Only the columns the input asks for.
    assert isinstance(seen["arrow"], pa.Table) and seen["arrow"].column_names == ["amount"]
    assert sorted(seen["arrow"].column("amount").to_pylist()) == [1.0, 2.0, 4.0]
    assert _rows(database, "SELECT total FROM kpi.total") == [(7.0,)]
    assert _rows(database, "SELECT largest FROM kpi.largest") == [(4.0,)]


def test_a_partitioned_table_has_its_partition_replaced_and_the_others_kept(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    values = {"north": 1, "south": 2}

    @asset(
        key_prefix=["gold"],
        partitions_def=StaticPartitionsDefinition(["north", "south"]),
        metadata={"partition_expr": "region"},
    )
    def regions(context) -> pd.DataFrame:
        key = context.partition_key
        return pd.DataFrame({"region": [key, key], "value": [values[key], values[key] * 10]})

    _run(database, [regions], partition_key="north")
    _run(database, [regions], partition_key="south")
    values["north"] = 5
    _run(database, [regions], partition_key="north")
    assert _rows(database, "SELECT region, value FROM gold.regions ORDER BY region, value") == [
        ("north", 5),
        ("north", 50),
        ("south", 2),
        ("south", 20),
    ]


def test_a_run_opens_the_warehouse_once_and_releases_it(tmp_path, monkeypatch):
    database = tmp_path / "warehouse.duckdb"
    opened = []
    connect = warehouse.connect_warehouse

    def counting_connect(*args, **kwargs):
        opened.append(args)
        return connect(*args, **kwargs)

    monkeypatch.setattr(warehouse, "connect_warehouse", counting_connect)

    @asset(key_prefix=["gold"])
    def first() -> pd.DataFrame:
        return pd.DataFrame({"n": [1]})

    @asset(key_prefix=["gold"])
    def second(first: pd.DataFrame) -> pd.DataFrame:
        return first

    @asset(key_prefix=["kpi"])
    def third(second: pd.DataFrame) -> pa.Table:
        return pa.Table.from_pandas(second)

    _run(database, [first, second, third])
    # Three stores and two loads, one connection.
    assert len(opened) == 1
    # Released at the end of the run: another process (a read-only connection) may open it.
    assert _rows(database, "SELECT n FROM kpi.third") == [(1,)]
