"""The DuckDB warehouse IO manager (gold, kpi and quarantine schemas).

It is dagster-duckdb-pandas's ``DuckDBPandasIOManager`` with five changes:

- one connection to the warehouse file for the life of the IO manager (a run in the CLI's
  in-process executor, a step's process under ``dagster dev``), closed when Dagster tears the
  resource down, instead of one per load and per store. Opening the file costs ~30 ms here, and an
  analytics run loads and stores ~100 times;

- a table whose columns changed since the last run (a new release added one) is recreated
  rather than inserted into, so an existing warehouse takes the new schema;
- an empty DataFrame still creates (or empties) its table. The stock handler skips the write, so
  a first run with no rows would leave no table for BI tools and downstream assets to read;
- an input whose ``AssetIn`` metadata says ``{"load_as": "arrow"}`` (``ARROW_INPUT``) is loaded
  as an Arrow table instead of a pandas DataFrame. The gold and KPI transforms run DuckDB SQL over
  either; Arrow skips the pandas conversion (object columns for the 32-character ids) that made
  each load of customer_360 cost ~5x the read and ~3x the memory (docs/performance.md);
- an asset may return an Arrow table (the two customer-grain gold tables do): it is written
  straight from Arrow, without a pandas copy. At 1M customers that is 1.3 s for customer_360,
  against 1.5 s to convert the query result to pandas plus 2.3 s to write the DataFrame. Its
  rows are written in no particular order, which leaves the next checkpoint nothing to compress.
"""

import re
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
from dagster import InputContext, OutputContext
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler
from pydantic import PrivateAttr

from goodpulse_dagster.errors import UserError
from goodpulse_dagster.resources.parquet_io import LOAD_AS

ARROW_INPUT = {LOAD_AS: "arrow"}
# A held lock is retried this long (another step of the duckdb pool closing its connection takes
# milliseconds), then reported: a process that keeps the file open will not let go by itself.
LOCK_RETRY_SECONDS = 2.0
LOCK_RETRY_INTERVAL = 0.25


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
    the file's lock, then a ``WarehouseLockedError`` naming that process.

    Replaces ``dagster._utils.backoff`` (10 retries with doubling waits): it kept a run silent
    for ~105 s before failing with DuckDB's raw error."""
    deadline = time.monotonic() + LOCK_RETRY_SECONDS
    while True:
        try:
            return duckdb.connect(database=database, read_only=read_only, config=config or {})
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLockedError(
                    f"The warehouse {Path(database)} is locked by {_lock_holder(str(error))}. "
                    "Close that process (or wait for it to finish) and run again."
                ) from error
            time.sleep(LOCK_RETRY_INTERVAL)


def drop_if_columns_changed(table_slice: TableSlice, columns: list[str], connection) -> bool:
    """Drop an unpartitioned warehouse table whose columns are not ``columns`` (in order).

    The stock pandas handler empties the table and INSERTs into it, which fails (or, with the same
    number of columns, mixes them up positionally) once a release changes a table's columns: a
    warehouse from the previous release must still take the new table. The whole table is
    rewritten on every materialization anyway, so dropping it loses nothing. Returns whether it
    dropped the table."""
    if table_slice.partition_dimensions:
        return False
    existing = connection.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [table_slice.schema, table_slice.table],
    ).fetchall()
    if not existing or [name for (name,) in existing] == list(columns):
        return False
    connection.execute(f"DROP TABLE {table_slice.schema}.{table_slice.table}")
    return True


class EmptySafeDuckDBPandasTypeHandler(DuckDBPandasTypeHandler):
    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection
    ):
        if drop_if_columns_changed(table_slice, [str(c) for c in obj.columns], connection):
            context.log.info(
                f"{table_slice.schema}.{table_slice.table}: columns changed since the last run; "
                "the table is recreated with the new ones"
            )
        if obj.empty:
            # CREATE ... AS SELECT from a zero-row frame creates the table with its columns.
            connection.execute(
                f"create table if not exists {table_slice.schema}.{table_slice.table} "
                "as select * from obj"
            )
            context.add_output_metadata({"dagster/row_count": 0})
            return
        super().handle_output(context, table_slice, obj, connection)

    def load_input(
        self, context: InputContext, table_slice: TableSlice, connection
    ) -> pd.DataFrame | pa.Table:
        query = DuckDbClient.get_select_statement(table_slice)
        table = connection.sql(query).to_arrow_table()
        if (context.definition_metadata or {}).get(LOAD_AS) == "arrow":
            return table
        return arrow_to_pandas(table) if _same_as_fetchdf(table) else connection.sql(query).df()


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


class DuckDBArrowTypeHandler(DbTypeHandler[pa.Table]):
    """Writes an Arrow table to its warehouse table (replacing it) and loads one as Arrow."""

    @property
    def supported_types(self):
        return [pa.Table]

    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: pa.Table, connection
    ):
        if table_slice.partition_dimensions:
            raise ValueError(
                f"{table_slice.schema}.{table_slice.table}: partitioned warehouse tables are "
                "written from pandas DataFrames"
            )
        name = "_goodpulse_output"
        connection.register(name, obj)
        # Rows in any order (these tables have none): DuckDB then writes each thread's full row
        # groups to the file as it inserts. Keeping the order of the Arrow batches, it kept a
        # part-filled row group in memory at every batch that did not end on a row group
        # boundary, and compressed them all at the next checkpoint, when the connection closed:
        # 0.7-1.7 s per customer-grain table at 1M customers, against none now.
        connection.execute("SET preserve_insertion_order = false")
        try:
            # The whole table is replaced: the IO manager has emptied it already, and a replace
            # also follows a change of columns.
            connection.execute(
                f"create or replace table {table_slice.schema}.{table_slice.table} "
                f"as select * from {name}"
            )
        finally:
            connection.execute("RESET preserve_insertion_order")
            connection.unregister(name)
        context.add_output_metadata({"dagster/row_count": obj.num_rows})

    def load_input(self, context: InputContext, table_slice: TableSlice, connection) -> pa.Table:
        return connection.sql(DuckDbClient.get_select_statement(table_slice)).to_arrow_table()


class SharedConnectionDuckDbClient(DuckDbClient):
    """``DuckDbClient`` whose ``connect`` hands out one connection, opened on first use and kept
    until ``close``. Opened read-write, as the stock client opens it, but retried only briefly
    while another process holds the file's lock (``connect_warehouse``)."""

    def __init__(self):
        self._connection: duckdb.DuckDBPyConnection | None = None

    @contextmanager
    def connect(self, context, table_slice):
        if self._connection is None:
            self._connection = connect_warehouse(
                context.resource_config["database"],
                config={
                    "custom_user_agent": "dagster",
                    **context.resource_config["connection_config"],
                },
            )
        yield self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class WarehouseIOManager(DuckDBPandasIOManager):
    _client: SharedConnectionDuckDbClient | None = PrivateAttr(default=None)

    @staticmethod
    def type_handlers():
        return [EmptySafeDuckDBPandasTypeHandler(), DuckDBArrowTypeHandler()]

    def create_io_manager(self, context) -> DbIOManager:
        self._client = SharedConnectionDuckDbClient()
        return DbIOManager(
            db_client=self._client,
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="WarehouseIOManager",
        )

    def teardown_after_execution(self, context) -> None:
        # Dagster calls this when the run (in-process) or the step's process is done with the
        # IO manager, failed runs included: the warehouse file is released for other processes.
        if self._client is not None:
            self._client.close()
