"""The DuckDB warehouse IO manager (gold, kpi and quarantine schemas).

An asset ``[schema, table]`` is the table ``schema.table`` of the warehouse file. The IO manager
does what dagster-duckdb-pandas's ``DuckDBPandasIOManager`` did for us before, with Dagster's
public ``ConfigurableIOManager`` only, and five changes:

- one connection to the warehouse file for the life of the IO manager (a run in the CLI's
  in-process executor, a step's process under ``dagster dev``), closed when Dagster tears the
  resource down, instead of one per load and per store. Opening the file costs ~30 ms here, and an
  analytics run loads and stores ~100 times. A lock held by another process is retried briefly,
  then reported with the process that holds it (``connect_warehouse``);
- a table whose columns changed since the last run (a new release added one) is recreated
  rather than inserted into, so an existing warehouse takes the new schema;
- an empty DataFrame still creates (or empties) its table. The stock handler skipped the write,
  so a first run with no rows would leave no table for BI tools and downstream assets to read;
- an input whose ``AssetIn`` metadata says ``{"load_as": "arrow"}`` (``ARROW_INPUT``) is loaded
  as an Arrow table instead of a pandas DataFrame. The gold and KPI transforms run DuckDB SQL over
  either; Arrow skips the pandas conversion (object columns for the 32-character ids) that made
  each load of customer_360 cost ~5x the read and ~3x the memory (docs/performance.md);
- an asset may return an Arrow table (the two customer-grain gold tables do): it is written
  straight from Arrow, without a pandas copy. At 1M customers that is 1.3 s for customer_360,
  against 1.5 s to convert the query result to pandas plus 2.3 s to write the DataFrame. Its
  rows are written in no particular order, which leaves the next checkpoint nothing to compress.

A partitioned asset (none in GoodPulse today; kept for the quarterly ones a release may add) is
one table whose rows of the run's partitions are replaced: ``partition_expr`` in its metadata
names the column, as dagster-duckdb asked for.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from dagster import (
    ConfigurableIOManager,
    ConfigurableResource,
    InputContext,
    OutputContext,
    TimeWindowPartitionsDefinition,
)
from pydantic import Field

from goodpulse_dagster import memory_budget
from goodpulse_dagster.engine import Relation, install_macros, use_connection
from goodpulse_dagster.errors import UserError
from goodpulse_dagster.schema import GOLD, KPI, TABLE_SPECS
from goodpulse_dagster.sql_helpers import sql_list

# The ``AssetIn`` metadata key that chooses what a warehouse input is loaded as.
LOAD_AS = "load_as"
ARROW_INPUT = {LOAD_AS: "arrow"}
# An input left in the warehouse: an ``engine.Relation`` over the table, for a step that runs its
# models in the warehouse (``WarehouseResource.engine``), so a customer-grain table is never
# copied into Python.
RELATION_INPUT = {LOAD_AS: "relation"}
# A held lock is retried this long (another step of the duckdb pool closing its connection takes
# milliseconds), then reported: a process that keeps the file open will not let go by itself.
LOCK_RETRY_SECONDS = 2.0
LOCK_RETRY_INTERVAL = 0.25
# The name a Python object is registered under while DuckDB copies it into a table.
_REGISTERED_OUTPUT = "_goodpulse_output"
_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


class WarehouseLockedError(UserError):
    """Another process holds the warehouse file open for writing."""


def _lock_holder(message: str) -> str:
    """ "PID 1234, <command line>" from DuckDB's lock error ("Conflicting lock is held in <exe>
    (PID 1234) by user ..."), the command line read with psutil when the process is visible."""
    match = re.search(r"\(PID (\d+)\)", message)
    if match is None:
        return "another process"
    pid = int(match.group(1))
    try:
        import psutil

        process = psutil.Process(pid)
        name = " ".join(process.cmdline())[:120] or process.name()
    except Exception:  # gone already, or not ours to inspect: the PID alone still helps
        return f"process {pid}"
    return f"process {pid} ({name})"


def connect_warehouse(database: str, read_only: bool = False, config: dict | None = None):
    """``duckdb.connect``, retried for at most ``LOCK_RETRY_SECONDS`` while another process holds
    the file's lock, then a ``WarehouseLockedError`` naming that process. The connection gets
    the process's memory budget (memory_budget.py).

    dagster-duckdb retried 10 times with doubling waits: a run stayed silent for ~105 s before
    failing with DuckDB's raw error."""
    deadline = time.monotonic() + LOCK_RETRY_SECONDS
    while True:
        try:
            con = duckdb.connect(database=database, read_only=read_only, config=config or {})
            memory_budget.in_force().apply(con)
            return con
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLockedError(
                    f"The warehouse {Path(database)} is locked by {_lock_holder(str(error))}. "
                    "Close that process (or wait for it to finish) and run again."
                ) from error
            time.sleep(LOCK_RETRY_INTERVAL)


# --- One connection per process and warehouse file -------------------------------------------

# The IO manager and the steps that work in the warehouse (``WarehouseResource``) share it: DuckDB
# lets one process hold a file open for writing, and a model writing a table in place must see
# the tables the IO manager wrote, in the same transaction history.
_SHARED: dict[str, duckdb.DuckDBPyConnection] = {}


def shared_connection(database: str, config: dict | None = None) -> duckdb.DuckDBPyConnection:
    """The process's connection to ``database``, opened read-write on first use, with the models'
    macros (once per connection, not per step)."""
    key = str(Path(database).resolve())
    if key not in _SHARED:
        connection = connect_warehouse(
            database, config={"custom_user_agent": "dagster", **(config or {})}
        )
        install_macros(connection)
        _SHARED[key] = connection
    return _SHARED[key]


def close_shared_connection(database: str) -> None:
    """Close it (the end of a run or of a step's process), releasing the file."""
    connection = _SHARED.pop(str(Path(database).resolve()), None)
    if connection is not None:
        connection.close()


@dataclass(frozen=True)
class InPlace:
    """The value of an output its step wrote into the warehouse itself (``Session.create_table``):
    the IO manager records it, there is nothing to write."""

    rows: int


# --- Which rows of which table an asset is ---------------------------------------------------


@dataclass(frozen=True)
class WarehouseTable:
    """The warehouse rows of one asset output or input: ``schema.table``, restricted to the
    run's partitions when ``partition_filter`` (a SQL condition) is set."""

    schema: str
    table: str
    columns: tuple[str, ...] | None = None
    partition_filter: str | None = None

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def where(self) -> str:
        return f" WHERE {self.partition_filter}" if self.partition_filter else ""

    def select(self) -> str:
        columns = ", ".join(self.columns) if self.columns else "*"
        return f"SELECT {columns} FROM {self.name}{self.where}"


def _partition_filter(context: OutputContext | InputContext, partition_expr: str | None) -> str:
    """The SQL condition selecting the rows of the context's partitions."""
    if partition_expr is None:
        raise ValueError(
            f"Asset '{context.asset_key.to_user_string()}' has partitions, but no "
            "'partition_expr' metadata naming the column that holds them."
        )
    if not context.asset_partition_keys:
        return "FALSE"  # no partition: no rows (an input of an empty range reads none)
    if isinstance(context.asset_partitions_def, TimeWindowPartitionsDefinition):
        window = context.asset_partitions_time_window
        start, end = (t.strftime(_TIMESTAMP_FORMAT) for t in (window.start, window.end))
        return f"{partition_expr} >= '{start}' AND {partition_expr} < '{end}'"
    return f"{partition_expr} IN {sql_list(list(context.asset_partition_keys))}"


def warehouse_table(context: OutputContext | InputContext) -> WarehouseTable:
    """Where an asset lives: its key ``[..., schema, table]``; the ``columns`` an input asks
    for (its ``AssetIn`` metadata); the partitions of the run."""
    path = context.asset_key.path
    if len(path) < 2:
        raise ValueError(
            f"Asset '{context.asset_key.to_user_string()}' has no key prefix: a warehouse asset's "
            "key is [schema, table]."
        )
    # An output's own definition metadata, or for an input the upstream output's.
    output = context if isinstance(context, OutputContext) else context.upstream_output
    partition_filter = None
    if context.has_asset_partitions:
        expr = (output.definition_metadata or {}).get("partition_expr")
        partition_filter = _partition_filter(context, expr)
    columns = (context.definition_metadata or {}).get("columns")
    return WarehouseTable(
        schema=path[-2],
        table=path[-1],
        columns=tuple(columns) if columns else None,
        partition_filter=partition_filter,
    )


# --- Writing ----------------------------------------------------------------------------------


def drop_if_columns_changed(table: WarehouseTable, columns: list[str], connection) -> bool:
    """Drop an unpartitioned warehouse table whose columns are not ``columns`` (in order).

    The pandas path empties the table and INSERTs into it, which fails (or, with the same number
    of columns, mixes them up positionally) once a release changes a table's columns: a warehouse
    from the previous release must still take the new table. The whole table is rewritten on every
    materialization anyway, so dropping it loses nothing. Returns whether it dropped the table."""
    if table.partition_filter:
        return False
    existing = connection.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [table.schema, table.table],
    ).fetchall()
    if not existing or [name for (name,) in existing] == list(columns):
        return False
    connection.execute(f"DROP TABLE {table.name}")
    return True


def _table_exists(table: WarehouseTable, connection) -> bool:
    return bool(
        connection.execute(
            "SELECT 1 FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
            [table.schema, table.table],
        ).fetchall()
    )


def _declared_columns(table: WarehouseTable, frame: pd.DataFrame) -> str | None:
    """``name TYPE, ...`` of the table's spec (schema/), when the frame has exactly its columns."""
    spec = TABLE_SPECS.get((table.schema, table.table))
    if spec is None or [c.name for c in spec.columns] != [str(c) for c in frame.columns]:
        return None
    return ", ".join(f"{c.name} {c.type}" for c in spec.columns)


def write_pandas(table: WarehouseTable, frame: pd.DataFrame, connection) -> None:
    """Replace the table's rows (of the run's partitions) by ``frame``'s. An existing table keeps
    its column types (INSERT casts to them); an empty frame still creates the table."""
    connection.register(_REGISTERED_OUTPUT, frame)
    try:
        if not _table_exists(table, connection):
            declared = _declared_columns(table, frame)
            if declared is None:
                connection.execute(
                    f"CREATE TABLE {table.name} AS SELECT * FROM {_REGISTERED_OUTPUT}"
                )
                return
            # With the declared types: a zero-row frame's columns have none (pandas object
            # columns without a value become DuckDB's "NULL" type), and the table would keep
            # them when rows come.
            connection.execute(f"CREATE TABLE {table.name} ({declared})")
        else:
            connection.execute(f"DELETE FROM {table.name}{table.where}")
        if not frame.empty:
            connection.execute(f"INSERT INTO {table.name} SELECT * FROM {_REGISTERED_OUTPUT}")
    finally:
        connection.unregister(_REGISTERED_OUTPUT)


def write_arrow(table: WarehouseTable, rows: pa.Table, connection) -> None:
    """Replace the whole table by ``rows`` (a change of columns included)."""
    if table.partition_filter:
        raise ValueError(f"{table.name}: partitioned warehouse tables are written from DataFrames")
    connection.register(_REGISTERED_OUTPUT, rows)
    # Rows in any order (these tables have none): DuckDB then writes each thread's full row
    # groups to the file as it inserts. Keeping the order of the Arrow batches, it kept a
    # part-filled row group in memory at every batch that did not end on a row group boundary,
    # and compressed them all at the next checkpoint, when the connection closed: 0.7-1.7 s per
    # customer-grain table at 1M customers, against none now.
    connection.execute("SET preserve_insertion_order = false")
    try:
        connection.execute(
            f"CREATE OR REPLACE TABLE {table.name} AS SELECT * FROM {_REGISTERED_OUTPUT}"
        )
    finally:
        connection.execute("RESET preserve_insertion_order")
        connection.unregister(_REGISTERED_OUTPUT)


# --- Reading ----------------------------------------------------------------------------------


def _same_as_fetchdf(table: pa.Table) -> bool:
    """Whether ``arrow_to_pandas`` gives the frame DuckDB's ``fetchdf`` gives: it does for every
    warehouse table except integer columns holding NULLs (DuckDB may make those Int64)."""
    return not any(
        pa.types.is_integer(f.type) and table.column(i).null_count
        for i, f in enumerate(table.schema)
    )


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """The DataFrame ``fetchdf`` would give (same dtypes: DATE as datetime64[us], DECIMAL money as
    float64), built from Arrow, which is 2-3x faster for wide tables of strings (6.3 s -> 2.8 s for
    customer_360 at 1M). Money is exact in the warehouse; a pandas reader (the report, charts,
    checks that compute in Python) gets floats, as ``fetchdf`` gives them: Decimal objects would
    break float arithmetic. An Arrow input (``ARROW_INPUT``) keeps the exact decimals."""
    for i, f in enumerate(table.schema):
        if pa.types.is_date(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.timestamp("us")))
        elif pa.types.is_decimal(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.float64()))
    return table.to_pandas()


def _wants_arrow(context: InputContext) -> bool:
    """An input typed ``pa.Table`` or marked ``ARROW_INPUT``; anything else is a DataFrame."""
    typing_type = context.dagster_type.typing_type
    if isinstance(typing_type, type) and issubclass(typing_type, pa.Table):
        return True
    return (context.definition_metadata or {}).get(LOAD_AS) == "arrow"


# --- The IO manager ---------------------------------------------------------------------------


class WarehouseIOManager(ConfigurableIOManager):
    """Gold, KPI and quarantine tables in the DuckDB warehouse file (see the module doc)."""

    database: str = Field(description="Path to the DuckDB warehouse file.")
    connection_config: dict[str, Any] = Field(
        default={}, description="DuckDB configuration options of the connection."
    )

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """The process's one connection to the warehouse (``shared_connection``)."""
        return shared_connection(self.database, self.connection_config)

    def teardown_after_execution(self, context) -> None:
        # Dagster calls this when the run (in-process) or the step's process is done with the
        # IO manager, failed runs included: the warehouse file is released for other processes.
        close_shared_connection(self.database)

    def handle_output(self, context: OutputContext, obj: pd.DataFrame | pa.Table | InPlace) -> None:
        if not isinstance(obj, pd.DataFrame | pa.Table | InPlace):
            raise TypeError(
                f"{context.asset_key.to_user_string()}: the warehouse stores pandas DataFrames, "
                f"Arrow tables and tables written in place, got {type(obj).__name__}"
            )
        table = warehouse_table(context)
        connection = self._connect()
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {table.schema}")
        if isinstance(obj, InPlace):
            rows = obj.rows
        elif isinstance(obj, pa.Table):
            write_arrow(table, obj, connection)
            rows = obj.num_rows
        else:
            if drop_if_columns_changed(table, [str(c) for c in obj.columns], connection):
                context.log.info(
                    f"{table.name}: columns changed since the last run; "
                    "the table is recreated with the new ones"
                )
            write_pandas(table, obj, connection)
            rows = len(obj)
        count_key = "dagster/partition_row_count" if table.partition_filter else "dagster/row_count"
        context.add_output_metadata(
            {count_key: rows, "Query": table.select(), "dagster/table_name": table.name}
        )

    def load_input(self, context: InputContext) -> pd.DataFrame | pa.Table | Relation:
        table = warehouse_table(context)
        if (context.definition_metadata or {}).get(LOAD_AS) == "relation":
            return Relation(table.select())
        connection = self._connect()
        arrow = connection.sql(table.select()).to_arrow_table()
        if _wants_arrow(context):
            return arrow
        if _same_as_fetchdf(arrow):
            return arrow_to_pandas(arrow)
        return connection.sql(table.select()).df()


class WarehouseResource(ConfigurableResource):
    """The warehouse as the engine of a gold or KPI step: ``with warehouse.engine(): ...`` runs
    every model of the block in the warehouse file (the same connection as the IO manager's), so
    its ``RELATION_INPUT`` inputs are read in place and ``Session.create_table`` writes results
    where they belong, none of them copied into Python."""

    database: str = Field(description="Path to the DuckDB warehouse file.")

    @contextmanager
    def engine(self) -> Iterator[None]:
        connection = shared_connection(self.database)
        for schema in (GOLD, KPI):
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        with use_connection(connection):
            yield

    def query(self, sql: str) -> pa.Table:
        """A small result (counts, a summary) of ``sql`` over the warehouse, as Arrow."""
        return shared_connection(self.database).sql(sql).to_arrow_table()

    def first_customers(self, table: str, rows: int) -> pd.DataFrame:
        """The first ``rows`` customers by id of a customer-grain table (a top-k in the
        warehouse): the UI's preview of it."""
        return (
            shared_connection(self.database)
            .sql(f"SELECT * FROM {table} ORDER BY customer_unique_id LIMIT {int(rows)}")
            .to_arrow_table()
            .to_pandas()
        )

    def teardown_after_execution(self, context) -> None:
        close_shared_connection(self.database)
