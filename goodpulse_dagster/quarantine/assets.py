"""Quarantine: every row bronze or silver set aside, queryable in the warehouse.

One asset per source table, ``quarantine/<table>``, loads the table's lake quarantine objects
(``quarantine/<table>/bronze.parquet`` and ``quarantine/<table>/silver[/<quarter>].parquet``) into
the DuckDB table ``quarantine.<table>`` with the columns of ``schema.QUARANTINE_COLUMNS``, e.g.::

    SELECT rule, reason, source_file, source_line FROM quarantine.order_items WHERE layer = 'bronze';

The table is written in the warehouse itself (``CREATE OR REPLACE TABLE ... AS SELECT ... FROM
read_parquet(...)``, the quarantine columns cast to their declared types) and handed to the
warehouse IO manager as ``InPlace``: its rows never pass through Python, and a query of the
quarantine finds the same typed (possibly empty) table every time. Re-runs replace the whole
table, so they never duplicate rows.

The eleven assets are one multi-asset: each is materialized, shown and selected on its own
(``can_subset``), and a run of several writes them in one step (they were eleven steps of a few
milliseconds of work each and ~0.1 s of Dagster's per-step cost).
"""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    MetadataValue,
    Output,
    multi_asset,
)

from goodpulse_dagster import lake_layout
from goodpulse_dagster.asset_conventions import (
    DUCKDB_POOL,
    OWNERS,
    WAREHOUSE_IO_MANAGER,
)
from goodpulse_dagster.engine import cast_select, connect
from goodpulse_dagster.resources.storage import LakeResource
from goodpulse_dagster.resources.warehouse import InPlace, WarehouseResource
from goodpulse_dagster.retries import STEP_RETRY_POLICY
from goodpulse_dagster.schema import (
    BRONZE,
    QUARANTINE,
    QUARANTINE_COLUMNS,
    SILVER,
    SOURCE_TABLES,
    SourceTable,
)
from goodpulse_dagster.sql_helpers import quote_ident

CODE_VERSION = "1"


def quarantine_source_sql(lake: LakeResource, table: str) -> str:
    """A SELECT of every quarantine object of a table in the lake (bronze, silver, every
    quarter) with exactly the quarantine columns; no row when there are none. The caller's
    connection must be able to read the lake (``LakeDataset.prepare``)."""
    store = lake.store()
    relpaths = [
        p
        for p in store.list(lake_layout.quarantine_folder(table))
        if lake_layout.is_parquet_object(p)
    ]
    if relpaths:
        return cast_select(f"SELECT * FROM {lake.dataset(relpaths).sql()}", QUARANTINE_COLUMNS)
    nulls = ", ".join(f"NULL::{t} AS {quote_ident(c)}" for c, t in QUARANTINE_COLUMNS.items())
    return f"SELECT {nulls} WHERE FALSE"


def write_quarantine_table(lake: LakeResource, table: str) -> tuple[int, str]:
    """``quarantine.<table>`` replaced by the lake's quarantine rows, written by DuckDB in the
    database of ``connect()`` (the warehouse inside ``WarehouseResource.engine``); its row count
    and a Markdown summary per layer and rule."""
    target = f"{QUARANTINE}.{table}"
    con = connect()
    try:
        relpaths = lake.store().list(lake_layout.quarantine_folder(table))
        if relpaths:
            lake.dataset(relpaths[:1]).prepare(con)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {QUARANTINE}")
        con.execute(f"CREATE OR REPLACE TABLE {target} AS {quarantine_source_sql(lake, table)}")
        counts = con.execute(
            f"SELECT layer, rule, count(*) FROM {target} GROUP BY ALL ORDER BY 1, 2"
        ).fetchall()
    finally:
        con.close()
    return sum(n for _, _, n in counts), _summary(counts)


def _summary(counts: list[tuple[str, str, int]]) -> str:
    lines = ["| layer | rule | rows |", "|---|---|---|"]
    lines += [f"| {layer} | {rule} | {n:,} |" for layer, rule, n in counts]
    return "\n".join(lines)


QUARANTINE_OP = "quarantine__tables"


def _quarantine_out(table: SourceTable) -> AssetOut:
    return AssetOut(
        key_prefix=[QUARANTINE],
        io_manager_key=WAREHOUSE_IO_MANAGER,
        is_required=False,  # a subset run yields only the selected tables
        kinds={"duckdb"},
        owners=OWNERS,
        code_version=CODE_VERSION,
        # No automation condition: the lake run that sets rows aside loads them
        # (automation/jobs.py, lake_selection).
        tags={"layer": QUARANTINE},
    )


@multi_asset(
    name=QUARANTINE_OP,
    outs={t.name: _quarantine_out(t) for t in SOURCE_TABLES.values()},
    deps=[AssetKey([layer, t]) for t in SOURCE_TABLES for layer in (BRONZE, SILVER)],
    internal_asset_deps={t: {AssetKey([BRONZE, t]), AssetKey([SILVER, t])} for t in SOURCE_TABLES},
    can_subset=True,
    pool=DUCKDB_POOL,
    # It reads the lake's quarantine objects and writes the warehouse.
    retry_policy=STEP_RETRY_POLICY,
    group_name=QUARANTINE,
)
def quarantine_tables(
    context: AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
):
    written = {}
    with warehouse.engine():
        for table in SOURCE_TABLES:
            if AssetKey([QUARANTINE, table]) in context.selected_asset_keys:
                written[table] = write_quarantine_table(lake, table)
    for table, (rows, summary) in written.items():
        yield Output(
            InPlace(rows),
            output_name=table,
            metadata={
                "dagster/table_name": f"{QUARANTINE}.{table}",
                "by_layer_and_rule": MetadataValue.md(summary),
            },
        )


quarantine_assets = [quarantine_tables]
