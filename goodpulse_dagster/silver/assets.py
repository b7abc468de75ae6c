"""Silver: cleaned, deduplicated, standardised tables and ``unified_user_lifecycle``.

Each asset loads its bronze table (and the silver dimensions it checks references against), calls a
pure transform from ``silver/cleaning.py``, writes what it rejected to the quarantine, and
attaches the counts that reconcile it with bronze.
"""

from collections.abc import Callable
from datetime import datetime

import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    BackfillPolicy,
    Output,
    asset,
)

from goodpulse_dagster import lake_layout
from goodpulse_dagster.asset_conventions import (
    LAKE_IO_MANAGER,
    LAKE_KIND,
    OWNERS,
    profile_metadata,
    single_run_backfills_allowed,
)
from goodpulse_dagster.params import MetricParams
from goodpulse_dagster.partitions import quarterly_partitions
from goodpulse_dagster.resources.parquet_io import DATASET_INPUT, split_by_partition
from goodpulse_dagster.resources.storage import AnalyticsSettings, LakeResource
from goodpulse_dagster.retries import STEP_RETRY_POLICY, user_errors_fail_fast
from goodpulse_dagster.schema import (
    BRONZE,
    SILVER,
    SOURCE_TABLES,
    silver_inputs,
    silver_references,
)
from goodpulse_dagster.silver.cleaning import (
    CleanResult,
    build_unified_user_lifecycle,
    clean_geolocation,
    clean_order_reviews,
    clean_products,
    clean_source,
)

CODE_VERSION = "1"

Transform = Callable[[pa.Table, dict[str, pa.Table], datetime, MetricParams], CleanResult]


def _generic(table_name: str) -> Transform:
    def transform(bronze_rows, parents, now, params):
        refs = {
            col: (parent, parents[parent]) for col, parent in silver_references(table_name).items()
        }
        return clean_source(table_name, bronze_rows, now, refs, params)

    return transform


TRANSFORMS: dict[str, tuple[Transform, tuple[str, ...]]] = {
    name: (_generic(name), silver_inputs(name)) for name in SOURCE_TABLES
}
TRANSFORMS["order_reviews"] = (lambda b, _p, now, _params: clean_order_reviews(b, now), ())
TRANSFORMS["geolocation"] = (lambda b, _p, now, _params: clean_geolocation(b, now), ())
TRANSFORMS["products"] = (
    lambda b, p, now, params: clean_products(b, p["category_translation"], now, params),
    silver_inputs("products"),
)


def write_silver_quarantine(
    context: AssetExecutionContext, lake: LakeResource, table_name: str, rows: pa.Table
) -> str:
    """One quarantine object per partition (or one for a dimension), replaced on every run."""
    if context.assets_def.partitions_def is not None:
        uri = ""
        for key, part in split_by_partition(rows, sorted(context.partition_keys)).items():
            uri = lake.write_quarantine(table_name, lake_layout.quarantine_name(SILVER, key), part)
        return uri
    return lake.write_quarantine(table_name, lake_layout.quarantine_name(SILVER), rows)


def _silver_lake_asset(name: str, ins: dict[str, AssetIn], partitioned: bool):
    """The ``@asset`` decorator of a silver table: stored in the lake, one run per backfill when
    it is partitioned by quarter."""
    return asset(
        name=name,
        key_prefix=[SILVER],
        group_name=SILVER,
        ins=ins,
        partitions_def=quarterly_partitions if partitioned else None,
        backfill_policy=BackfillPolicy.single_run() if partitioned else None,
        io_manager_key=LAKE_IO_MANAGER,
        kinds={"duckdb", LAKE_KIND},
        owners=OWNERS,
        code_version=CODE_VERSION,
        tags={"layer": SILVER},
        # It reads and writes the lake: transient S3 errors are retried.
        retry_policy=STEP_RETRY_POLICY,
    )


def build_silver_asset(table_name: str):
    table = SOURCE_TABLES[table_name]
    transform, parents = TRANSFORMS[table_name]
    ins = {"bronze_rows": AssetIn(key=AssetKey([BRONZE, table_name]))}
    # Parent tables are only looked up: a Parquet dataset reads just the key columns.
    ins.update(
        {
            parent: AssetIn(key=AssetKey([SILVER, parent]), metadata=DATASET_INPUT)
            for parent in parents
        }
    )

    @_silver_lake_asset(table_name, ins, table.partitioned)
    def _silver(
        context: AssetExecutionContext,
        lake: LakeResource,
        analytics: AnalyticsSettings,
        **inputs,
    ):
        bronze_rows = inputs.pop("bronze_rows")
        now = datetime.now().replace(microsecond=0)
        with user_errors_fail_fast():
            result = transform(bronze_rows, inputs, now, analytics.params())
        quarantine_uri = write_silver_quarantine(context, lake, table_name, result.quarantine)
        metadata = profile_metadata(result.table, context.asset_key)
        metadata.update({f"rows_{k}": int(v) for k, v in result.counts.items()})
        metadata["quarantine_uri"] = quarantine_uri
        return Output(result.table, metadata=metadata)

    return _silver


LIFECYCLE_INPUTS = {
    "orders": "orders",
    "customers": "customers",
    "items": "order_items",
    "payments": "order_payments",
    "reviews": "order_reviews",
    "products": "products",
}


def build_unified_user_lifecycle_asset():
    # Parquet datasets that the one DuckDB query scans in place: only the columns it uses are
    # read, and at 3M orders the six tables are not all held in memory as Arrow first.
    ins = {
        arg: AssetIn(key=AssetKey([SILVER, t]), metadata=DATASET_INPUT)
        for arg, t in LIFECYCLE_INPUTS.items()
    }

    @_silver_lake_asset("unified_user_lifecycle", ins, partitioned=True)
    # Not annotated pa.Table: the inputs are pyarrow datasets on local storage, tables on S3.
    def unified_user_lifecycle(
        context: AssetExecutionContext, orders, customers, items, payments, reviews, products
    ):
        table = build_unified_user_lifecycle(orders, customers, items, payments, reviews, products)
        return Output(table, metadata=profile_metadata(table, context.asset_key))

    return unified_user_lifecycle


with single_run_backfills_allowed():
    silver_assets = [build_silver_asset(name) for name in SOURCE_TABLES]
    silver_assets.append(build_unified_user_lifecycle_asset())
