"""Gold: customer-level tables in the DuckDB warehouse (schema ``gold``), per METRICS.md.

Thin wrappers: load silver (every quarter) and gold inputs, call the pure transforms in
``transforms/gold.py`` with the ``analytics`` settings, attach schema and row-count metadata.
"""

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    MetadataValue,
    Output,
    asset,
    multi_asset,
)

from goodpulse_dagster.assets.common import (
    DUCKDB_POOL,
    PREVIEW_ROWS,
    frame_to_markdown,
    warehouse_asset_args,
    warehouse_asset_out,
)
from goodpulse_dagster.resources.parquet_io import DATASET_INPUT
from goodpulse_dagster.resources.storage import AnalyticsSettings, ReportsResource
from goodpulse_dagster.resources.warehouse import ARROW_INPUT
from goodpulse_dagster.retries import STEP_RETRY_POLICY, user_errors_fail_fast
from goodpulse_dagster.run_trust import guard_upstream_checks
from goodpulse_dagster.schema import (
    CHURN_RISK_BANDS,
    GOLD,
    SILVER,
)
from goodpulse_dagster.transforms.gold import (
    SEGMENTATION_INPUT_COLUMNS,
    build_cohort_retention,
    build_customer_segmentation,
    build_customer_tables,
)
from goodpulse_dagster.transforms.predictions import (
    PREDICTIONS_CUSTOMER_360_COLUMNS,
    build_customer_predictions,
)
from goodpulse_dagster.transforms.sql import decimals_to_float

CODE_VERSION = "2"  # 2: cohort_retention.is_complete (issue 20)
# Scanned by DuckDB in place (a Parquet dataset on local storage): the transforms read a few of
# its columns (resources/parquet_io.py).
LIFECYCLE = AssetIn(key=AssetKey([SILVER, "unified_user_lifecycle"]), metadata=DATASET_INPUT)
CUSTOMER_360_KEY = AssetKey([GOLD, "customer_360"])


def _gold_output(table: pd.DataFrame | pa.Table, output_name: str = "result") -> Output:
    # The preview is presentation: money as floats (the stored table keeps exact decimals).
    preview = decimals_to_float(preview_rows(table) if isinstance(table, pa.Table) else table)
    return Output(
        table,
        output_name=output_name,
        metadata={
            "dagster/row_count": len(table),
            "preview": MetadataValue.md(frame_to_markdown(preview, total_rows=len(table))),
        },
    )


def _gold_asset(name: str, ins: dict[str, AssetIn], build):
    @asset(
        name=name,
        ins=ins,
        code_version=CODE_VERSION,
        **warehouse_asset_args(GOLD),
    )
    def _gold(
        context: AssetExecutionContext,
        analytics: AnalyticsSettings,
        reports: ReportsResource,
        **inputs,
    ) -> Output:
        with user_errors_fail_fast():
            guard_upstream_checks(context, reports.directory)
            return _gold_output(build(analytics.params(), **inputs))

    return _gold


def preview_rows(table: pa.Table) -> pd.DataFrame:
    """The first ``PREVIEW_ROWS`` customers by id of a customer-grain table (whose rows come in
    no particular order): a top-k, not a sort of the whole table."""
    key = "customer_unique_id"
    # On the key column alone: on the whole table it took 0.2 s at 1M customers, this 0.03 s.
    first = pc.select_k_unstable(table.select([key]), PREVIEW_ROWS, [(key, "ascending")])
    # One-row slices: ``take`` on a table of many chunks first concatenates them (0.2 s).
    rows = pa.concat_tables([table.slice(i, 1) for i in first.to_pylist()])
    return rows.sort_by(key).to_pandas()


CUSTOMER_TABLES_OP = "gold__customer_tables"
CUSTOMER_TABLES = ("customer_360", "customer_unified_lifecycle")
CUSTOMER_TABLE_INPUTS = {
    "lifecycle": LIFECYCLE,
    "closed_deals": AssetIn(key=AssetKey([SILVER, "closed_deals"])),
    "leads": AssetIn(key=AssetKey([SILVER, "marketing_qualified_leads"])),
    "sellers": AssetIn(key=AssetKey([SILVER, "sellers"])),
}


def _customer_table_out(name: str) -> AssetOut:
    return warehouse_asset_out(GOLD, CODE_VERSION)


@multi_asset(
    name=CUSTOMER_TABLES_OP,
    outs={name: _customer_table_out(name) for name in CUSTOMER_TABLES},
    ins=CUSTOMER_TABLE_INPUTS,
    # The lineage METRICS.md gives: customer_unified_lifecycle is customer_360 joined with the
    # first-order context (sellers for the first seller's state).
    internal_asset_deps={
        "customer_360": {
            CUSTOMER_TABLE_INPUTS[arg].key for arg in ("lifecycle", "closed_deals", "leads")
        },
        "customer_unified_lifecycle": {
            CUSTOMER_360_KEY,
            LIFECYCLE.key,
            CUSTOMER_TABLE_INPUTS["sellers"].key,
        },
    },
    # Each table is its own asset (materialized, checked and shown on its own), but one query
    # computes both (transforms/gold.build_customer_tables): as two steps, the second recomputed
    # every customer's first order and loaded customer_360 back from the warehouse.
    can_subset=True,
    pool=DUCKDB_POOL,
    retry_policy=STEP_RETRY_POLICY,
    group_name=GOLD,
)
def customer_tables(
    context: AssetExecutionContext,
    analytics: AnalyticsSettings,
    reports: ReportsResource,
    lifecycle,
    closed_deals: pa.Table,
    leads: pa.Table,
    sellers: pa.Table,
):
    with user_errors_fail_fast():
        guard_upstream_checks(context, reports.directory)
        tables = build_customer_tables(lifecycle, closed_deals, leads, sellers, analytics.params())
    for name in CUSTOMER_TABLES:
        if AssetKey([GOLD, name]) in context.selected_asset_keys:
            yield _gold_output(getattr(tables, name), output_name=name)


@asset(
    name="customer_predictions",
    ins={
        "lifecycle": LIFECYCLE,
        "customer_360": AssetIn(
            key=CUSTOMER_360_KEY,
            metadata={**ARROW_INPUT, "columns": list(PREDICTIONS_CUSTOMER_360_COLUMNS)},
        ),
    },
    code_version=CODE_VERSION,
    **warehouse_asset_args(GOLD),
)
def customer_predictions(
    context: AssetExecutionContext,
    analytics: AnalyticsSettings,
    reports: ReportsResource,
    lifecycle,
    customer_360: pa.Table,
) -> Output:
    guard_upstream_checks(context, reports.directory)
    predictions = build_customer_predictions(lifecycle, customer_360, analytics.params())
    output = _gold_output(predictions.table)
    bands = pc.value_counts(predictions.table.column("churn_risk")).to_pylist()
    counts = {row["values"]: row["counts"] for row in bands}
    # The fit (parameters, log-likelihood, convergence; checks/predictions.py reads it) and the
    # customers per band, plotted across runs in the UI.
    metadata = {
        **output.metadata,
        **predictions.fit.metadata(),
        **{f"{band.lower()}_risk_customers": counts.get(band, 0) for band in CHURN_RISK_BANDS},
        "model_as_of": predictions.fit.cut.isoformat(),
    }
    return Output(predictions.table, metadata=metadata)


gold_assets = [
    customer_tables,
    customer_predictions,
    _gold_asset(
        "customer_segmentation",
        {
            # Loaded as Arrow, not pandas (the transform queries it with DuckDB), and only the
            # columns it reads (docs/performance.md).
            "customer_360": AssetIn(
                key=CUSTOMER_360_KEY,
                metadata={**ARROW_INPUT, "columns": list(SEGMENTATION_INPUT_COLUMNS)},
            )
        },
        lambda params, customer_360: build_customer_segmentation(customer_360),
    ),
    _gold_asset(
        "cohort_retention",
        {"lifecycle": LIFECYCLE},
        lambda params, lifecycle: build_cohort_retention(lifecycle, params),
    ),
]
