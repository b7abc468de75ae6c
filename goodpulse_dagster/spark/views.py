"""The warehouse side of a Spark run: each gold, KPI and prediction table Spark wrote becomes a
view in the DuckDB warehouse over its Parquet files, so the report, ``goodpulse kpis``, the UI
and any BI tool read ``gold.customer_360`` as they do after a DuckDB run.

A view, not a copy: the table stays in the lake (at a billion orders the warehouse file would
otherwise hold the customer tables twice). Each column is cast to its declared type
(``schema``), so the view's types are the DuckDB table's whatever Parquet types the cluster's
Spark version writes (Spark's INT for a DuckDB BIGINT day count, TIMESTAMP_NTZ).
"""

from __future__ import annotations

from goodpulse_dagster import lake_layout, schema
from goodpulse_dagster.sql_helpers import quote_ident, quote_literal


def view_sql(layer: str, table: str, folder: str) -> str:
    """``CREATE OR REPLACE VIEW <layer>.<table>`` over the Parquet files of ``folder``."""
    columns = schema.table_spec(layer, table).column_types
    select = ", ".join(
        f"CAST({quote_ident(c)} AS {t}) AS {quote_ident(c)}" for c, t in columns.items()
    )
    files = quote_literal(lake_layout.spark_dataset_files(folder))
    return f"CREATE OR REPLACE VIEW {layer}.{table} AS SELECT {select} FROM read_parquet({files})"


def create_view(connection, layer: str, table: str, folder: str) -> None:
    """Replace the warehouse's ``layer.table`` by a view over ``folder``'s Parquet (a table of
    that name, left by a DuckDB run, is dropped first: a view cannot replace a table)."""
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
    kind = connection.execute(
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
        [layer, table],
    ).fetchall()
    if kind and kind[0][0] == "BASE TABLE":
        connection.execute(f"DROP TABLE {layer}.{table}")
    connection.execute(view_sql(layer, table, folder))
