"""The one engine: how a SQL model (``models/<layer>/<table>.sql``) is found and executed.

A model is a DuckDB SELECT over named inputs (the tables it reads, registered under their names)
with named ``$parameters``. Nothing else in the package knows how a model runs: the transforms
call ``run_model`` (or open a ``Session`` when a build runs several steps on the same tables),
the engine opens the connection, registers the inputs, binds the parameters the model uses and
returns an Arrow table shaped as the table's declared columns.

Shared building blocks live in ``models/_shared/``:

* ``<name>.sql``: common CTEs (say, "completed orders"), pulled into a model with a line
  ``-- include: <name>``; one definition without a templating language. Each such file is one
  or more CTE definitions ending with a comma, so it sits between ``WITH`` and the model's own
  CTEs.
* ``macros.sql``: DuckDB macros (SQL functions such as ``period_is_complete``), created once in
  the process's database, so every cursor sees them.

Every table of the package is typed by one mapping (``arrow_type``), DuckDB type name -> Arrow.

Lake tables are written by DuckDB itself (``copy_to_parquet``, ``copy_partitions``): a query's
rows go to Parquet files without passing through Python (resources/lake_data.py).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import duckdb
import pandas as pd
import pyarrow as pa

from goodpulse_dagster import memory_budget
from goodpulse_dagster.errors import UserError

MODELS_DIR = Path(__file__).resolve().parent / "models"
SHARED = "_shared"
MACROS = f"{SHARED}/macros"


@dataclass(frozen=True)
class Relation:
    """An input that stays where it is: a SELECT the database the model runs in can answer (a
    warehouse table, ``SELECT ... FROM gold.customer_360``). It is registered as a temporary view,
    so nothing is copied into Python; it is valid only on that database (``use_connection``)."""

    sql: str


@runtime_checkable
class Bindable(Protocol):
    """An input that binds itself to a connection as a view (a lake dataset:
    ``resources/lake_data.LakeDataset``, read where it lies, only the columns a query uses)."""

    def bind(self, con: duckdb.DuckDBPyConnection, name: str) -> None: ...


# An input table: DuckDB scans any of these in place (a Bindable and a Relation are read where
# they lie; Arrow tables and DataFrames are small tables computed in Python, or tests' rows).
Input = pd.DataFrame | pa.Table | Relation | Bindable

_INCLUDE = re.compile(r"^--\s*include:\s*(\w+)\s*$", re.MULTILINE)
_PARAMETER = re.compile(r"\$([A-Za-z_]\w*)")
_COMMENT = re.compile(r"--[^\n]*")


# --- model files -------------------------------------------------------------------------------


@functools.cache
def model_sql(name: str) -> str:
    """The SQL text of model ``name`` (``"gold/customer_360"``), its includes expanded."""
    path = MODELS_DIR / f"{name}.sql"
    if not path.is_file():
        raise KeyError(f"no SQL model {name!r} (expected {path})")
    text = path.read_text(encoding="utf-8")
    return _INCLUDE.sub(lambda m: model_sql(f"{SHARED}/{m.group(1)}").strip(), text)


def model_names(layer: str) -> tuple[str, ...]:
    """The models of one layer folder, by file name without ``.sql``."""
    return tuple(sorted(p.stem for p in (MODELS_DIR / layer).glob("*.sql")))


def used_params(sql: str, params: Mapping[str, object]) -> dict[str, object]:
    """DuckDB rejects named parameters a statement does not use: keep those written ``$name``
    (outside comments: a model's header names its parameters)."""
    used = set(_PARAMETER.findall(_COMMENT.sub("", sql)))
    return {k: v for k, v in params.items() if k in used}


def _bind(sql: str, params: Mapping[str, object] | Sequence[object] | None) -> Any:
    """Named parameters (a mapping) trimmed to those ``sql`` uses; positional ones as given."""
    if params is None:
        return None
    if isinstance(params, Mapping):
        return used_params(sql, params) or None
    return list(params) or None


# --- types -------------------------------------------------------------------------------------

_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
    # DuckDB's INTEGER is 32-bit, and so are the source columns declared INTEGER (bronze and
    # silver: order_item_id, review_score, payment_installments, ...), stored as int32 since they
    # were first written. No gold, KPI or prediction table declares INTEGER: each declares its
    # counts, days and ranks BIGINT (DuckDB's count(*) and date_diff type), hence int64. (gold.py
    # once had its own mapping, INTEGER -> int64, which no gold column ever used.)
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
}

_DECIMAL = re.compile(r"DECIMAL\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)")


def arrow_type(duckdb_type: str) -> pa.DataType:
    """The Arrow type of a DuckDB type name; ``DECIMAL(p,s)`` (money) is ``decimal128(p, s)``."""
    name = duckdb_type.upper()
    decimal = _DECIMAL.fullmatch(name.strip())
    if decimal:
        return pa.decimal128(int(decimal.group(1)), int(decimal.group(2)))
    return _ARROW_TYPES[name]


def arrow_schema(columns: Mapping[str, str]) -> pa.Schema:
    """Arrow schema of a table spec from ``schema`` (column name -> DuckDB type)."""
    return pa.schema([(name, arrow_type(t)) for name, t in columns.items()])


def cast_select(query: str, columns: Mapping[str, str]) -> str:
    """SQL: ``query``'s ``columns`` (name -> DuckDB type), in that order and cast to those types:
    the declared schema applied by DuckDB, so the rows never leave it."""
    casts = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in columns.items())
    return f"SELECT {casts} FROM ({query})"


def _money_dtype(arrow: pa.DataType) -> pd.ArrowDtype | None:
    return pd.ArrowDtype(arrow) if pa.types.is_decimal(arrow) else None


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """A result table as the DataFrame the transforms return: money as a decimal128 ArrowDtype
    column (exact, and stored as DECIMAL(18,2); Decimal objects in an object column would be
    stored with a guessed width), DATE as ``datetime.date``, the rest as pyarrow's defaults."""
    return table.to_pandas(types_mapper=_money_dtype)


# --- the database ------------------------------------------------------------------------------

_DATABASE: tuple[int, duckdb.DuckDBPyConnection] | None = None
_DATABASE_LOCK = threading.Lock()
# The database models run in when not the process's in-memory one: the warehouse, while a gold or
# KPI step works in it (``use_connection``), so inputs and results never leave it.
_IN_USE: ContextVar[duckdb.DuckDBPyConnection | None] = ContextVar("goodpulse_engine", default=None)


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The shared macros (models/_shared/macros.sql) in ``con``'s database: every cursor on it
    sees them."""
    con.execute(model_sql(MACROS))


@contextmanager
def use_connection(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run every model of the block in ``con``'s database instead of the in-memory one: a step
    working in the warehouse reads its tables in place and writes its results there
    (``Session.create_table``). ``con``'s database must have the macros (``install_macros``,
    done once when it is opened)."""
    token = _IN_USE.set(con)
    try:
        yield
    finally:
        _IN_USE.reset(token)


def connect() -> duckdb.DuckDBPyConnection:
    """A fresh cursor on this process's one in-memory DuckDB database.

    Opening a new in-memory database costs 40-60 ms here, a cursor on an open one ~10 us, and the
    transforms run hundreds of small queries per run. A cursor has its own registered and
    temporary tables, dropped when it is closed, so callers (threads included) stay isolated. The
    database is re-opened in a forked child (keyed by process id), and gets the memory budget
    (memory_budget.py) and the shared macros when it is opened.
    """
    global _DATABASE
    in_use = _IN_USE.get()
    if in_use is not None:
        return in_use.cursor()
    with _DATABASE_LOCK:
        if _DATABASE is None or _DATABASE[0] != os.getpid():
            database = duckdb.connect(":memory:")
            memory_budget.in_force().apply(database)
            install_macros(database)
            _DATABASE = (os.getpid(), database)
        return _DATABASE[1].cursor()


# --- running models ------------------------------------------------------------------------------

# A model that only picks columns of one input (customer_360 of customer_unified_lifecycle).
_PROJECTION = re.compile(r"SELECT\s+(?P<columns>\w+(?:\s*,\s*\w+)*)\s+FROM\s+(?P<input>\w+)\s*;?")


def _projection(sql: str) -> tuple[list[str], str] | None:
    """``(columns, input)`` when ``sql`` is ``SELECT a, b, ... FROM input`` and nothing else."""
    match = _PROJECTION.fullmatch(_COMMENT.sub("", sql).strip())
    if match is None:
        return None
    return [c.strip() for c in match.group("columns").split(",")], match.group("input")


def _shaped(table: pa.Table, name: str, columns: Mapping[str, str] | None) -> pa.Table:
    """The result cast to the declared ``columns``, which it must have, in order."""
    if columns is None:
        return table
    if table.column_names != list(columns):
        raise ValueError(
            f"model {name!r} returned columns {table.column_names}, expected {list(columns)}"
        )
    return table.cast(arrow_schema(columns))


class MemoryBudgetExceededError(UserError):
    """A model needed more memory than the DuckDB budget allows and could not spill to disk."""


@contextmanager
def within_budget(model: str) -> Iterator[None]:
    """DuckDB's out-of-memory error, said as what to do about it: the budget in force is a
    setting (an operator that cannot spill, such as a window over every customer, needs its
    working set in memory)."""
    try:
        yield
    except duckdb.OutOfMemoryException as error:
        budget = memory_budget.in_force()
        raise MemoryBudgetExceededError(
            f"model {model} needed more memory than the DuckDB budget of {budget.memory_limit} "
            f"({error}). Raise GOODPULSE_MEMORY_LIMIT (now {budget.memory_limit}) or run with "
            "fewer GOODPULSE_THREADS; what DuckDB could spill went to "
            f"{budget.temp_directory}."
        ) from error


def bind_input(con: duckdb.DuckDBPyConnection, name: str, table: Any) -> None:
    """Make ``table`` (an ``Input``) readable as ``name`` on ``con``, copying nothing."""
    if isinstance(table, Relation):
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {table.sql}")
    elif isinstance(table, Bindable):
        table.bind(con, name)
    else:
        con.register(name, table)


class Session:
    """One cursor with named inputs, for a build of several steps over the same tables.

    ``materialize`` keeps a step's result as a temporary table the next steps read under its
    name; ``register`` adds a table computed in Python (the fitted model's scores). Closing the
    session drops both.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, inputs: Mapping[str, Any]):
        self._con = con
        # The Arrow inputs, by name: a projection model reads them directly (``run``).
        self._arrow: dict[str, pa.Table] = {}
        for name, table in inputs.items():
            self.register(name, table)

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The session's cursor (to write a result where it belongs: ``lake_data.LakeOutput``)."""
        return self._con

    def register(self, name: str, table: Any) -> None:
        bind_input(self._con, name, table)
        if isinstance(table, pa.Table):
            self._arrow[name] = table

    def unregister(self, name: str) -> None:
        # A registered Python object, or a view (a Relation, a lake dataset).
        self._con.unregister(name)
        self._con.execute(f"DROP VIEW IF EXISTS {name}")
        self._arrow.pop(name, None)

    def sql(self, sql: str, params: Mapping[str, object] | Sequence[object] | None = None):
        """A DuckDB relation of ``sql`` (not yet run)."""
        return self._con.sql(sql, params=_bind(sql, params))

    def run(
        self,
        name: str,
        params: Mapping[str, object] | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> pa.Table:
        """Model ``name``'s result, as an Arrow table of ``columns`` when they are given."""
        sql = model_sql(name)
        projection = _projection(sql)
        if projection is not None and projection[1] in self._arrow:
            # Arrow picks the columns without a copy; DuckDB would copy every string column
            # (0.3-0.8 s for customer_360 at 1M customers). The result is the same table.
            result = self._arrow[projection[1]].select(projection[0])
        else:
            with within_budget(name):
                result = self.sql(sql, params or {}).to_arrow_table()
        return _shaped(result, name, columns)

    def create_table(
        self,
        name: str,
        target: str,
        params: Mapping[str, object] | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> int:
        """Write model ``name``'s result as table ``target`` of the session's database (replacing
        it), cast to the declared ``columns``, without it passing through Python; its row count.

        Rows in any order (these tables have none): DuckDB then writes each thread's full row
        groups as it goes, instead of holding part-filled ones for the checkpoint."""
        sql = model_sql(name)
        if columns is not None:
            # A relation is bound, not run: its columns cost nothing.
            returned = self.sql(sql, params or {}).columns
            if returned != list(columns):
                raise ValueError(
                    f"model {name!r} returned columns {returned}, expected {list(columns)}"
                )
            sql = cast_select(sql, columns)
        statement = f"CREATE OR REPLACE TABLE {target} AS\n{sql}"
        self._con.execute("SET preserve_insertion_order = false")
        try:
            with within_budget(name):
                self._con.execute(statement, _bind(statement, params or {}))
        finally:
            self._con.execute("RESET preserve_insertion_order")
        return self._con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]

    def materialize(self, name: str, params: Mapping[str, object] | None = None) -> None:
        """Keep model ``name``'s result as the temporary table named after its last part
        (``gold/customer_predictions__summary`` -> ``summary``)."""
        table = name.rsplit("/", 1)[-1].rsplit("__", 1)[-1]
        sql = f"CREATE OR REPLACE TEMP TABLE {table} AS\n{model_sql(name)}"
        with within_budget(name):
            self._con.execute(sql, _bind(sql, params or {}))


@contextmanager
def session(inputs: Mapping[str, Any] | None = None) -> Iterator[Session]:
    """A ``Session`` over ``inputs`` on a private cursor, closed on exit."""
    con = connect()
    try:
        yield Session(con, inputs or {})
    finally:
        con.close()


def run_sql(
    sql: str,
    inputs: Mapping[str, Any],
    params: Mapping[str, object] | Sequence[object] | None = None,
) -> pa.Table:
    """Run one SELECT over named inputs (``Input``: lake datasets, Arrow tables, ...) as an Arrow
    table: for small results (counts, keys of a few rows)."""
    with session(inputs) as s:
        return s.sql(sql, params).to_arrow_table()


def run_model(
    name: str,
    inputs: Mapping[str, Any],
    params: Mapping[str, object] | None = None,
    columns: Mapping[str, str] | None = None,
) -> pa.Table:
    """Run model ``name`` over its named inputs with ``params`` and return its result, cast to
    ``columns`` (the table's declared columns, which the model must return in order)."""
    with session(inputs) as s:
        return s.run(name, params, columns)


# --- writing Parquet ------------------------------------------------------------------------------

# The partition column of the lake's order-grain tables (schema.PARTITION_COLUMN; not imported:
# the schema package imports this module).
_PARTITION_COLUMN = "_partition"
_PARTITION_KEY_FORMAT = "%Y-%m-%d"


def _columns(con: duckdb.DuckDBPyConnection, query: str) -> list[str]:
    """The column names of ``query`` (bound, not run)."""
    return con.sql(query).columns


def _nullable(con: duckdb.DuckDBPyConnection, query: str) -> str:
    """``query`` with every column written as nullable (Parquet OPTIONAL).

    DuckDB 2.0 writes a column REQUIRED when the query's statistics prove it has no NULL
    (duckdb#22144), so a quarter whose values happen to be all set would get another schema than
    one with a NULL, and than every object written before (all OPTIONAL). A CASE with a branch
    DuckDB cannot fold away keeps the column nullable; it costs ~3% of a COPY."""
    wrapped = ", ".join(
        f'CASE WHEN random() < 0 THEN NULL ELSE "{c}" END AS "{c}"' for c in _columns(con, query)
    )
    return f"SELECT {wrapped} FROM ({query})"


def copy_to_parquet(
    con: duckdb.DuckDBPyConnection,
    query: str,
    target: Path,
    params: Sequence[object] | None = None,
) -> None:
    """Write the rows of ``query`` (in its order) to the Parquet file ``target``, replacing it;
    a query without rows writes a file with the schema and no row."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    path = str(target).replace("'", "''")
    with within_budget(target.name):
        con.execute(
            f"COPY ({_nullable(con, query)}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)",
            list(params) if params else None,
        )


def copy_partitions(
    con: duckdb.DuckDBPyConnection,
    table: str,
    folder: Path,
    partition_keys: Sequence[str],
) -> dict[str, Path]:
    """One Parquet file ``<folder>/<key>.parquet`` per partition key with the rows of ``con``'s
    table ``table`` whose ``_partition`` is that quarter, in the table's order; an empty file (the
    schema, no row) for a key without rows.

    One ``COPY ... WHERE _partition = <key>`` per key, over a table (a temporary table, so the
    query behind it runs once). Against one ``PARTITION_BY`` COPY and a rename per file, on the
    1M generated orders (10 quarters, a shared machine): 1.7 s and 2.4 s per key, against 1.7 s
    and 3.3 s, no clear winner; the per-key COPY keeps each file's rows in the table's order,
    writes the empty quarters too, and leaves no Hive folders to clean.
    Raises if a row belongs to a partition outside ``partition_keys``."""
    if _PARTITION_COLUMN not in _columns(con, f"SELECT * FROM {table}"):
        raise ValueError(f"a partitioned lake table needs a '{_PARTITION_COLUMN}' column")
    keys = sorted(partition_keys)
    for key in keys:
        # A key is a date (the literals below cannot be anything else).
        datetime.strptime(key, _PARTITION_KEY_FORMAT)
    stray = con.execute(
        f"SELECT count(*) FROM {table} WHERE {_PARTITION_COLUMN} IS NULL "
        f"OR strftime({_PARTITION_COLUMN}, '{_PARTITION_KEY_FORMAT}') NOT IN "
        "(SELECT unnest(?::VARCHAR[]))",
        [keys],
    ).fetchall()[0][0]
    if stray:
        first, last = (keys[0], keys[-1]) if keys else ("-", "-")
        raise ValueError(f"{stray} rows belong to partitions outside this run ({first}..{last})")
    files = {}
    for key in keys:
        files[key] = Path(folder) / f"{key}.parquet"
        copy_to_parquet(
            con,
            f"SELECT * FROM {table} WHERE {_PARTITION_COLUMN} = '{key}'::DATE",
            files[key],
        )
    return files
