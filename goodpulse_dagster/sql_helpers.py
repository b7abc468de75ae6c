"""Small helpers shared by the transforms: quoting, empty tables, presentation.

The DuckDB connection, the DuckDB -> Arrow types and running a model belong to the engine
(goodpulse_dagster/engine.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from goodpulse_dagster import engine


def run_sql(query: str, params: Sequence[Any] | None = None, **tables: Any) -> pa.Table:
    """Run one query over named Arrow tables / DataFrames (keyword arguments) with positional
    ``?`` parameters and return an Arrow table (``engine.run_sql`` with this older signature)."""
    return engine.run_sql(query, tables, params)


def empty_table(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: list[str] | tuple[str, ...]) -> str:
    """A SQL list literal of strings: ('a', 'b')."""
    return "(" + ", ".join(quote_literal(v) for v in values) + ")"


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
