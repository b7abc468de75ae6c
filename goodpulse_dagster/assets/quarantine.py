"""Quarantine: every row bronze or silver set aside, queryable in the warehouse.

One asset per source table, ``quarantine/<table>``, loads the table's lake quarantine objects
(``quarantine/<table>/bronze.parquet`` and ``quarantine/<table>/silver[/<quarter>].parquet``) into
the DuckDB table ``quarantine.<table>`` with the columns of ``schema.QUARANTINE_COLUMNS``, e.g.::

    SELECT rule, reason, source_file, source_line FROM quarantine.order_items WHERE layer = 'bronze';

The table is written directly with DuckDB from Arrow rather than returned as a DataFrame to the
warehouse IO manager: a round trip through pandas would turn ``source_line`` (BIGINT with NULLs)
into DOUBLE and an empty table's text columns into untyped ones, and a query of the quarantine
should find the same typed (possibly empty) table every time. ``CREATE OR REPLACE`` in one
transaction replaces the whole table, so re-runs never duplicate rows. The asset keeps
``io_manager_key`` = the warehouse IO manager, whose naming (schema = key prefix, table = name)
it follows, so a downstream asset can still load it as a DataFrame.
"""

import time

import duckdb
import pyarrow as pa
from dagster import (
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
)

from goodpulse_dagster.assets.common import (
    DUCKDB_POOL,
    OWNERS,
    WAREHOUSE_IO_MANAGER,
    column_schema_metadata,
)
from goodpulse_dagster.automation.conditions import analytics_automation_condition
from goodpulse_dagster.resources.lake import LakeStore
from goodpulse_dagster.resources.storage import LakeResource, WarehouseResource
from goodpulse_dagster.schema import (
    BRONZE,
    QUARANTINE,
    QUARANTINE_COLUMNS,
    SILVER,
    SOURCE_TABLES,
    SourceTable,
)
from goodpulse_dagster.transforms.sql import arrow_schema, concat, conform, quote_ident

CODE_VERSION = "1"


def read_quarantine_objects(store: LakeStore, table: str) -> pa.Table:
    """Every quarantine object of a table in the lake (bronze, silver, every quarter), as one
    table with exactly the quarantine columns; empty (with the schema) when there are none."""
    relpaths = [p for p in store.list(f"{QUARANTINE}/{table}") if p.endswith(".parquet")]
    parts = [conform(store.read_table(p), QUARANTINE_COLUMNS) for p in relpaths]
    return concat(parts, arrow_schema(QUARANTINE_COLUMNS))


def _connect(database: str, attempts: int = 10) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting while another process holds its write lock (as the DuckDB IO
    manager does; the ``duckdb`` pool keeps such waits short)."""
    for attempt in range(attempts):
        try:
            return duckdb.connect(database)
        except duckdb.IOException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


def write_warehouse_table(database: str, schema: str, table: str, rows: pa.Table) -> None:
    """Replace ``schema.table`` in the DuckDB file with ``rows`` (typed by their Arrow schema,
    so an empty table keeps its columns)."""
    con = _connect(database)
    try:
        con.register("rows_to_write", rows)
        con.execute("BEGIN TRANSACTION")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
        con.execute(
            f"CREATE OR REPLACE TABLE {quote_ident(schema)}.{quote_ident(table)} AS "
            "SELECT * FROM rows_to_write"
        )
        con.execute("COMMIT")
    finally:
        con.close()


def _summary(rows: pa.Table) -> str:
    counts: dict[tuple[str, str], int] = {}
    for layer, rule in zip(
        rows.column("layer").to_pylist(), rows.column("rule").to_pylist(), strict=True
    ):
        counts[(layer, rule)] = counts.get((layer, rule), 0) + 1
    lines = ["| layer | rule | rows |", "|---|---|---|"]
    lines += [f"| {layer} | {rule} | {n:,} |" for (layer, rule), n in sorted(counts.items())]
    return "\n".join(lines)


def build_quarantine_asset(table: SourceTable):
    @asset(
        name=table.name,
        key_prefix=[QUARANTINE],
        group_name=QUARANTINE,
        deps=[AssetKey([BRONZE, table.name]), AssetKey([SILVER, table.name])],
        description=(
            f"Quarantined rows of `{table.name}`: one row per record bronze could not read or "
            "route (malformed, unparseable, unroutable, orphan) or silver set aside (null or "
            "duplicate key, orphan, negative value, out of range), with layer, rule, source "
            "file, line and reason. Replaced on every run from the lake's quarantine objects."
        ),
        io_manager_key=WAREHOUSE_IO_MANAGER,
        kinds={"duckdb"},
        owners=OWNERS,
        code_version=CODE_VERSION,
        metadata=column_schema_metadata(QUARANTINE_COLUMNS),
        pool=DUCKDB_POOL,
        automation_condition=analytics_automation_condition(),
        tags={"layer": QUARANTINE},
    )
    def _quarantine(lake: LakeResource, warehouse: WarehouseResource) -> MaterializeResult:
        rows = read_quarantine_objects(lake.store(), table.name)
        write_warehouse_table(warehouse.database, QUARANTINE, table.name, rows)
        return MaterializeResult(
            metadata={
                "dagster/row_count": rows.num_rows,
                "dagster/table_name": f"{QUARANTINE}.{table.name}",
                "by_layer_and_rule": MetadataValue.md(_summary(rows)),
            }
        )

    return _quarantine


quarantine_assets = [build_quarantine_asset(t) for t in SOURCE_TABLES.values()]
