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


def unknown_keys_sql(column: str, child: str, parent: str) -> str:
    """SQL: the distinct non-null values of ``column`` in the relation ``child`` that are no key
    of the relation ``parent`` (same column name): what a reference check reports.

    An anti-join, not ``NOT IN``: DuckDB builds an anti-join's hash table on the smaller side (a
    ``NOT IN``'s always on the parent), so the check's memory follows a quarter of orders rather
    than the customers dimension of every quarter, which out of a memory budget spilled on every
    quarter; and a small parent (sellers) is still the side built. Same answer as ``NOT IN``
    over the parent's non-null keys, for the child's non-null values.
    """
    c = quote_ident(column)
    return (
        f"SELECT DISTINCT {c} FROM (SELECT {c} FROM {child} WHERE {c} IS NOT NULL) AS named "
        f"ANTI JOIN {parent} USING ({c})"
    )


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
