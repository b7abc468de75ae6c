"""What every asset shares: owners, kinds, column schemas and profiling metadata."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from datetime import date

import pandas as pd
import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    AssetSpec,
    BetaWarning,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
    map_asset_specs,
)

from goodpulse_dagster import engine, schema
from goodpulse_dagster.params import MetricParams
from goodpulse_dagster.resources.lake_data import LakeOutput
from goodpulse_dagster.retries import STEP_RETRY_POLICY
from goodpulse_dagster.schema.docs import asset_description
from goodpulse_dagster.settings import STORAGE_S3, load_settings
from goodpulse_dagster.sql_helpers import decimals_to_float, quote_ident

OWNERS = ["team:goodpulse-data"]
# The storage kind shown in the UI follows the environment (as hooli does): parquet locally, s3 in
# production.
LAKE_KIND = "s3" if load_settings().storage == STORAGE_S3 else "parquet"
LAKE_IO_MANAGER = "lake_io_manager"
WAREHOUSE_IO_MANAGER = "warehouse_io_manager"
# DuckDB allows one writer process per file: every asset that writes the warehouse runs in this
# concurrency pool, whose limit (1) is set in dagster.yaml / the instance.
DUCKDB_POOL = "duckdb"
# Metadata of every bronze materialization, read back by its check: the landing-zone files no
# table reads.
UNRECOGNISED_FILES = "unrecognised_files"
UNRECOGNISED_COUNT = "unrecognised_file_count"


@contextmanager
def single_run_backfills_allowed():
    """Define assets with ``BackfillPolicy.single_run()`` without Dagster 1.13's BetaWarning.

    The policy is beta, but it is what lets one run parse each raw file once for all quarters;
    without this every step process would print the warning once per asset (1,000+ lines a
    backfill in `dagster dev`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        yield


def warehouse_asset_args(layer: str) -> dict:
    """The ``@asset`` arguments every gold and KPI table shares: a DuckDB table in schema
    ``layer`` (its group and key prefix), written in the ``duckdb`` pool, refreshed by the
    analytics automation condition."""
    # Imported here: the automation package imports the silver assets (its sensor needs their
    # transforms), which import this module.
    from goodpulse_dagster.automation.conditions import analytics_automation_condition

    return {
        "key_prefix": [layer],
        "group_name": layer,
        "io_manager_key": WAREHOUSE_IO_MANAGER,
        "kinds": {"duckdb", "pandas"},
        "owners": OWNERS,
        "pool": DUCKDB_POOL,
        "automation_condition": analytics_automation_condition(),
        "tags": {"layer": layer},
        # Warehouse writes: a lock held for a moment, or a lake read on S3, is retried.
        "retry_policy": STEP_RETRY_POLICY,
    }


def warehouse_asset_out(layer: str, code_version: str) -> AssetOut:
    """``warehouse_asset_args`` as an ``AssetOut`` of a subsettable multi-asset (one step that
    computes several tables): the pool belongs to the op, and a subset run yields only the
    selected tables."""
    args = warehouse_asset_args(layer)
    # The pool and the retry policy belong to the op.
    args.pop("pool")
    args.pop("retry_policy")
    return AssetOut(code_version=code_version, is_required=False, **args)


def table_schema(columns: Mapping[str, str], descriptions: Mapping[str, str] | None = None):
    descriptions = descriptions or {}
    return TableSchema(
        columns=[
            TableColumn(name=c, type=t, description=descriptions.get(c)) for c, t in columns.items()
        ]
    )


def column_schema_metadata(columns: Mapping[str, str]) -> dict:
    return {"dagster/column_schema": table_schema(columns)}


def spec_column_schema(table: schema.TableSpec, values: Mapping[str, str]) -> TableSchema:
    """The column schema of a table spec: names, types and meanings."""
    return TableSchema(
        columns=[
            TableColumn(name=c.name, type=c.type, description=c.describe(values))
            for c in table.columns
        ]
    )


def document_table_assets(assets: list, params: MetricParams) -> list:
    """Every table asset with the description and column schema of its table spec (schema/),
    the settings in force filled into the prose (a changed threshold shows in the UI)."""
    values = schema.setting_values(params)

    def document(spec: AssetSpec) -> AssetSpec:
        table = schema.TABLE_SPECS.get(tuple(spec.key.path))
        if table is None:  # raw files and the report are not tables
            return spec
        return spec.replace_attributes(
            description=asset_description(table, values)
        ).merge_attributes(metadata={"dagster/column_schema": spec_column_schema(table, values)})

    return map_asset_specs(document, assets)


def arrow_column_types(schema: pa.Schema) -> dict[str, str]:
    """Column name -> Arrow type name (``decimal128(18, 2)``), as the UI shows a stored schema."""
    return {f.name: str(f.type) for f in schema}


def null_counts(output: LakeOutput) -> dict[str, int]:
    """NULLs per column of a lake output, in one SQL aggregate over its files (``count(col)``
    counts the non-NULL values); nothing is read into Python but the counts."""
    names = output.schema().names
    if not names:
        return {}
    counts = ", ".join(f"count({quote_ident(c)})" for c in names)
    with engine.session({"t": output.dataset()}) as s:
        [row] = s.sql(f"SELECT count(*), {counts} FROM t").fetchall()
    return {name: row[0] - n for name, n in zip(names, row[1:], strict=True)}


def profile_metadata(output: LakeOutput, key: AssetKey) -> dict:
    """Row count, null count per column and the column schema of a materialized lake table.

    The schema is the stored one (the bronze column_schema_change check compares it between
    runs: an export may add a column), each column with its meaning from the table spec: the UI
    shows the latest materialization's schema in place of the definition's. Lake columns name no
    setting (test_table_spec.py), so the defaults fill nothing in."""
    nulls = null_counts(output)
    rows = "\n".join(f"| {name} | {n:,} |" for name, n in nulls.items())
    spec = schema.TABLE_SPECS.get(tuple(key.path))
    values = schema.setting_values()
    meanings = {c.name: c.describe(values) for c in spec.columns} if spec else {}
    return {
        "dagster/row_count": output.row_count,
        "dagster/column_schema": table_schema(arrow_column_types(output.schema()), meanings),
        "null_counts": MetadataValue.md("| column | nulls |\n|---|---|\n" + rows),
        "null_cells": sum(nulls.values()),
    }


PREVIEW_ROWS = 15  # rows shown in a table's "preview" metadata


def frame_to_markdown(frame, max_rows: int = PREVIEW_ROWS, total_rows: int | None = None) -> str:
    """A Markdown table of the first rows of a DataFrame (for UI metadata previews);
    ``total_rows`` when ``frame`` is already only the head of a larger table."""
    head = frame.head(max_rows)
    total_rows = len(frame) if total_rows is None else total_rows

    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:,.4f}".rstrip("0").rstrip(".")
        return str(value).replace("|", "\\|")

    lines = [
        "| " + " | ".join(map(str, head.columns)) + " |",
        "|" + "---|" * len(head.columns),
    ]
    lines += [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in head.itertuples(index=False)
    ]
    if total_rows > len(head):
        lines.append(f"\n_{total_rows - len(head):,} more rows_")
    return "\n".join(lines)


def partition_window(context: AssetExecutionContext) -> tuple[date, date] | None:
    """[start, end) of the run's partition range, or None for an unpartitioned run."""
    # Test the asset, not the run: an unpartitioned asset in a partitioned run has no window.
    if context.assets_def.partitions_def is None:
        return None
    window = context.partition_time_window
    return window.start.date(), window.end.date()


def warehouse_output(table: pd.DataFrame, output_name: str = "result") -> Output:
    """The Output of a small warehouse table (segments, cohorts): row count and a Markdown
    preview (money as floats: the preview is presentation, the stored table keeps exact
    decimals). The customer-grain tables are written in place (``resources.warehouse.InPlace``)."""
    preview = decimals_to_float(table)
    return Output(
        table,
        output_name=output_name,
        metadata={
            "dagster/row_count": len(table),
            "preview": MetadataValue.md(frame_to_markdown(preview, total_rows=len(table))),
        },
    )
