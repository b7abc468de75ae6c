"""The DuckDB warehouse IO manager (gold, kpi and quarantine schemas).

It is dagster-duckdb-pandas's ``DuckDBPandasIOManager`` with one change: an empty DataFrame still
creates (or empties) its table. The stock handler skips the write, so a first run with no rows
would leave no table for BI tools and downstream assets to read.
"""

import pandas as pd
from dagster import OutputContext
from dagster._core.storage.db_io_manager import TableSlice
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler


class EmptySafeDuckDBPandasTypeHandler(DuckDBPandasTypeHandler):
    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection
    ):
        if obj.empty:
            # CREATE ... AS SELECT from a zero-row frame creates the table with its columns.
            connection.execute(
                f"create table if not exists {table_slice.schema}.{table_slice.table} "
                "as select * from obj"
            )
            context.add_output_metadata({"dagster/row_count": 0})
            return
        super().handle_output(context, table_slice, obj, connection)


class WarehouseIOManager(DuckDBPandasIOManager):
    @staticmethod
    def type_handlers():
        return [EmptySafeDuckDBPandasTypeHandler()]
