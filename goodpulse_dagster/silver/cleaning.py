"""Silver: cleaned, deduplicated, standardised tables, and the order-grain unified_user_lifecycle.

Each source table is its model (``models/silver/<table>.sql``, the standardising SELECT: which
columns are trimmed, cased, zip-padded, renamed) followed by the generic silver rules of
``silver/rules.py`` (duplicates, keys, quarantine, counts). The functions here say
which rules apply to which table; two tables end with a model of their own:
``products__english_category`` and ``geolocation__by_zip_prefix``.
``unified_user_lifecycle`` is one model over the silver tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from goodpulse_dagster.engine import cast_select, model_sql, session, within_budget
from goodpulse_dagster.params import MetricParams
from goodpulse_dagster.resources.lake_data import LakeOutput
from goodpulse_dagster.schema import GEOLOCATION, ORDER_REVIEWS, SOURCE_TABLES, silver_table_columns

# The rules' constants are defined in silver_rules and re-exported here for the checks and tests
# that import them from this module.
from goodpulse_dagster.silver.rules import (
    BRAZIL_LAT,
    BRAZIL_LNG,
    LINE_AMOUNT_COLUMNS,
    NON_NEGATIVE_COLUMNS,
    REVIEW_SCORE_RANGE,
    Cleaner,
    CleanResult,
    Tabular,
)

__all__ = [
    "BRAZIL_LAT",
    "BRAZIL_LNG",
    "LINE_AMOUNT_COLUMNS",
    "NON_NEGATIVE_COLUMNS",
    "REVIEW_SCORE_RANGE",
    "CleanResult",
    "Tabular",
    "build_unified_user_lifecycle",
    "clean_geolocation",
    "clean_order_reviews",
    "clean_products",
    "clean_source",
    "write_unified_user_lifecycle",
]

# Reviews: one per order, the latest answered; ties go to the higher score, then the higher
# review_id, so the choice is the same on every run (METRICS.md "Core definitions").
LATEST_REVIEW_FIRST = (
    "review_answer_timestamp DESC NULLS LAST, review_score DESC NULLS LAST, review_id DESC"
)


def clean_source(
    table_name: str,
    bronze: Tabular,
    now: datetime,
    references: dict[str, tuple[str, Tabular]] | None = None,
    params: MetricParams | None = None,
    **output,
) -> CleanResult:
    """The generic silver rules for a source table (every table but reviews and geolocation).

    ``references`` maps a column to (parent table name, a table holding the parent's keys in a
    column of the same name). ``params`` gives the line-amount ceiling (default MetricParams()).
    ``output``: where the Parquet files go (``Cleaner``'s ``folder`` and ``partition_keys``).
    """
    params = params or MetricParams()
    cleaner = Cleaner(SOURCE_TABLES[table_name], bronze, now, **output)
    cleaner.standardise_and_dedup()
    cleaner.resolve_keys()
    cleaner.check_keys()
    cleaner.check_values(params.max_line_amount)
    cleaner.check_non_negative()
    cleaner.check_references(references or {})
    return cleaner.result()


def clean_order_reviews(bronze: Tabular, now: datetime, **output) -> CleanResult:
    """One review per order: the latest answered (ties: higher score, then higher review_id)."""
    cleaner = Cleaner(ORDER_REVIEWS, bronze, now, **output)
    cleaner.standardise_and_dedup()
    cleaner.resolve_keys(order_by=LATEST_REVIEW_FIRST, supersede=True)
    cleaner.check_keys()
    # After the latest review is chosen: an invalid latest score is quarantined and the order has
    # no score (an older review is not promoted: the latest answer is the customer's last word).
    cleaner.check_review_scores()
    return cleaner.result()


def clean_products(
    bronze: Tabular,
    translation: Tabular,
    now: datetime,
    params: MetricParams | None = None,
    **output,
) -> CleanResult:
    """Products with renamed columns and the English category name (NULL when untranslated)."""
    cleaner = Cleaner(SOURCE_TABLES["products"], bronze, now, **output)
    cleaner.standardise_and_dedup()
    cleaner.resolve_keys()
    cleaner.check_keys()
    cleaner.check_values((params or MetricParams()).max_line_amount)
    return cleaner.result("silver/products__english_category", translation=translation)


def clean_geolocation(bronze: Tabular, now: datetime, **output) -> CleanResult:
    """One row per zip prefix from the in-Brazil points: median lat/lng, modal city and state."""
    cleaner = Cleaner(GEOLOCATION, bronze, now, **output)
    cleaner.standardise_and_dedup()
    cleaner.check_points()
    kept_points = cleaner.con.execute("SELECT count(*) FROM points").fetchall()[0][0]
    result = cleaner.result("silver/geolocation__by_zip_prefix")
    # Several points per prefix collapse into one row: "superseded", as for reviews.
    result.counts["superseded"] = kept_points - result.counts["output_rows"]
    return result


# The silver tables the lifecycle's models read, by the names they read them under.
LIFECYCLE_INPUTS = {
    "orders": "orders",
    "customers": "customers",
    "items": "order_items",
    "payments": "order_payments",
    "reviews": "order_reviews",
    "products": "products",
}
# The steps of models/silver/unified_user_lifecycle.sql, in order.
LIFECYCLE_STEPS = (
    "silver/unified_user_lifecycle__order_customers",
    "silver/unified_user_lifecycle__item_totals",
    "silver/unified_user_lifecycle__payment_totals",
    "silver/unified_user_lifecycle__rows",
)


def write_unified_user_lifecycle(
    orders: Tabular,
    customers: Tabular,
    items: Tabular,
    payments: Tabular,
    reviews: Tabular,
    products: Tabular,
    folder: Path | None = None,
    partition_keys: Sequence[str] | None = None,
) -> LakeOutput:
    """One row per order (every status) with its customer, money, review and delivery facts,
    written by DuckDB to one Parquet file per partition key (default: the quarters it holds).

    Inputs are silver tables (lake datasets, which DuckDB scans in place, or Arrow tables);
    order-grain inputs are for the same partitions as ``orders``.
    """
    inputs = {
        "orders": orders,
        "customers": customers,
        "items": items,
        "payments": payments,
        "reviews": reviews,
        "products": products,
    }
    model = model_sql("silver/unified_user_lifecycle")
    columns = silver_table_columns("unified_user_lifecycle")
    with session(inputs) as s:
        # Its steps, each a temporary table DuckDB can spill (the comment atop each says why).
        for step in LIFECYCLE_STEPS:
            s.materialize(step)
        with within_budget("silver/unified_user_lifecycle"):
            s.connection.execute(f"CREATE TEMP TABLE lifecycle AS {cast_select(model, columns)}")
        return LakeOutput.write(s.connection, "lifecycle", folder, partition_keys, True)


def build_unified_user_lifecycle(*tables: Tabular) -> pa.Table:
    """``write_unified_user_lifecycle`` read back as one Arrow table: tests and inspection."""
    return write_unified_user_lifecycle(*tables).to_arrow()
