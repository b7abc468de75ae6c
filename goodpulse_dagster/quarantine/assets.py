"""Quarantine: every row bronze or silver set aside, queryable in the warehouse.

One asset per source table, ``quarantine/<table>``, loads the table's lake quarantine objects
(``quarantine/<table>/bronze.parquet`` and ``quarantine/<table>/silver[/<quarter>].parquet``) into
the DuckDB table ``quarantine.<table>`` with the columns of ``schema.QUARANTINE_COLUMNS``, e.g.::

    SELECT rule, reason, source_file, source_line FROM quarantine.order_items WHERE layer = 'bronze';

The table goes to the warehouse IO manager as an Arrow table, not a DataFrame: a round trip
through pandas would turn ``source_line`` (BIGINT with NULLs) into DOUBLE and an empty table's
text columns into untyped ones, and a query of the quarantine should find the same typed
(possibly empty) table every time. The IO manager's Arrow handler replaces the whole table
(``CREATE OR REPLACE``), so re-runs never duplicate rows.

The eleven assets are one multi-asset: each is materialized, shown and selected on its own
(``can_subset``), and a run of several writes them in one step (they were eleven steps of a few
milliseconds of work each and ~0.1 s of Dagster's per-step cost).
"""

import pyarrow as pa
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
from goodpulse_dagster.engine import arrow_schema, conform
from goodpulse_dagster.resources.lake import LakeStore
from goodpulse_dagster.resources.storage import LakeResource
from goodpulse_dagster.retries import STEP_RETRY_POLICY
from goodpulse_dagster.schema import (
    BRONZE,
    QUARANTINE,
    QUARANTINE_COLUMNS,
    SILVER,
    SOURCE_TABLES,
    SourceTable,
)
from goodpulse_dagster.sql_helpers import concat

CODE_VERSION = "1"


def read_quarantine_objects(store: LakeStore, table: str) -> pa.Table:
    """Every quarantine object of a table in the lake (bronze, silver, every quarter), as one
    table with exactly the quarantine columns; empty (with the schema) when there are none."""
    relpaths = [
        p
        for p in store.list(lake_layout.quarantine_folder(table))
        if lake_layout.is_parquet_object(p)
    ]
    parts = [conform(store.read_table(p), QUARANTINE_COLUMNS) for p in relpaths]
    return concat(parts, arrow_schema(QUARANTINE_COLUMNS))


def _summary(rows: pa.Table) -> str:
    counts: dict[tuple[str, str], int] = {}
    for layer, rule in zip(
        rows.column("layer").to_pylist(), rows.column("rule").to_pylist(), strict=True
    ):
        counts[(layer, rule)] = counts.get((layer, rule), 0) + 1
    lines = ["| layer | rule | rows |", "|---|---|---|"]
    lines += [f"| {layer} | {rule} | {n:,} |" for (layer, rule), n in sorted(counts.items())]
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
def quarantine_tables(context: AssetExecutionContext, lake: LakeResource):
    store = lake.store()
    for table in SOURCE_TABLES:
        if AssetKey([QUARANTINE, table]) not in context.selected_asset_keys:
            continue
        rows = read_quarantine_objects(store, table)
        yield Output(
            rows,
            output_name=table,
            metadata={
                "dagster/table_name": f"{QUARANTINE}.{table}",
                "by_layer_and_rule": MetadataValue.md(_summary(rows)),
            },
        )


quarantine_assets = [quarantine_tables]
