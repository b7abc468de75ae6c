"""Small helpers shared by the transforms: DuckDB <-> Arrow types, quoting, running SQL on tables."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa

_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
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
    return pa.schema([(name, arrow_type(t)) for name, t in columns.items()])


def empty_table(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: list[str] | tuple[str, ...]) -> str:
    """A SQL list literal of strings: ('a', 'b')."""
    return "(" + ", ".join(quote_literal(v) for v in values) + ")"


_DATABASE: tuple[int, duckdb.DuckDBPyConnection] | None = None
_DATABASE_LOCK = threading.Lock()


def connect() -> duckdb.DuckDBPyConnection:
    """A fresh connection (a cursor) to this process's one in-memory DuckDB database.

    Opening a new in-memory database (``duckdb.connect()``) costs 40-60 ms here, a cursor on an
    open one ~10 us: the transforms run hundreds of small queries per run. A cursor has its own
    registered tables and temporary tables, dropped when it is closed, so callers stay isolated
    (threads included). The database is re-opened in a forked child (keyed by process id).
    """
    global _DATABASE
    with _DATABASE_LOCK:
        if _DATABASE is None or _DATABASE[0] != os.getpid():
            _DATABASE = (os.getpid(), duckdb.connect(":memory:"))
        return _DATABASE[1].cursor()


def run_sql(query: str, params: list[Any] | None = None, **tables: Any) -> pa.Table:
    """Run one query over named Arrow tables / DataFrames and return an Arrow table."""
    con = connect()
    try:
        for name, table in tables.items():
            con.register(name, table)
        return con.sql(query, params=params or None).to_arrow_table()
    finally:
        con.close()


def conform(table: pa.Table, columns: Mapping[str, str]) -> pa.Table:
    """Select and cast ``table`` to exactly ``columns`` (order and types): the declared schema."""
    return table.select(list(columns)).cast(arrow_schema(columns))


def decimals_to_float(table: Any) -> Any:
    """``table`` (Arrow or pandas) with every decimal column as float64: for presentation only
    (reports, charts, UI metadata), which compute with floats. Stored tables keep exact money."""
    if isinstance(table, pa.Table):
        for i, f in enumerate(table.schema):
            if pa.types.is_decimal(f.type):
                table = table.set_column(i, f.name, table.column(i).cast(pa.float64()))
        return table
    decimal_columns = [
        c
        for c, dtype in table.dtypes.items()
        if getattr(dtype, "pyarrow_dtype", None) is not None
        and pa.types.is_decimal(dtype.pyarrow_dtype)
    ]
    if not decimal_columns:
        return table
    return table.astype({c: "float64" for c in decimal_columns})


def concat(tables: list[pa.Table], schema: pa.Schema | None = None) -> pa.Table:
    """Concatenate tables whose columns may differ (extra source columns): union by name."""
    tables = [t for t in tables if t is not None]
    if not tables:
        if schema is None:
            raise ValueError("concat of no tables needs a schema")
        return empty_table(schema)
    return pa.concat_tables(tables, promote_options="permissive")
