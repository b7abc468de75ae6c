"""The one place for table names, file names and column lists.

Every layer (generator, landing zone, bronze, silver, gold, KPI, checks, docs) imports its column
lists from here, so a schema change is made once and cannot drift between code, checks and the UI.

Types are DuckDB SQL types. Raw files are read as text and cast with ``TRY_CAST`` in bronze, so a
value that does not parse is caught (and quarantined) instead of failing the whole file. Money is
``MONEY`` (DECIMAL(18,2)): 'NaN', 'inf' or '12;50' in a money column does not parse and is
rejected in bronze.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Layers, also the asset key prefixes and group names.
BRONZE = "bronze"
SILVER = "silver"
GOLD = "gold"
KPI = "kpi"
REPORT = "report"
QUARANTINE = "quarantine"

# Column added to every order-grain bronze/silver table: the first day of the purchase quarter of
# the row's order (DATE). It is the partition key of the row, kept so that reading several
# partitions back still tells which quarter each row came from.
PARTITION_COLUMN = "_partition"
# Ingestion columns added in bronze.
SOURCE_FILE_COLUMN = "_source_file"
INGESTED_AT_COLUMN = "_ingested_at"
INGESTION_COLUMNS = (SOURCE_FILE_COLUMN, INGESTED_AT_COLUMN)

TIMESTAMP = "TIMESTAMP"
VARCHAR = "VARCHAR"
DOUBLE = "DOUBLE"
INTEGER = "INTEGER"
BIGINT = "BIGINT"
DATE = "DATE"
# Money (R$): exact decimals with two places, end to end (source amounts, silver, gold, KPI), so the
# same input always gives bit-identical totals whatever order DuckDB sums in. A SUM of it is a
# DECIMAL(38,2) in DuckDB: every query casts its sums back to MONEY. Averages, shares and rates stay
# DOUBLE, computed from the exact sums (so they are deterministic too).
MONEY = "DECIMAL(18,2)"


@dataclass(frozen=True)
class SourceTable:
    """A source table of the Olist export, as it lands in the raw zone.

    ``columns`` are in the exact Kaggle order (the generator writes them in this order and bronze
    requires them). ``required`` columns must be present in a file; the others are optional
    descriptive columns that are filled with NULL when an export leaves them out.
    """

    name: str
    file_name: str
    columns: dict[str, str]
    primary_key: tuple[str, ...]
    description: str
    partitioned: bool = False
    # Columns that hold zip prefixes: kept as 5-character strings with leading zeros.
    zip_columns: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    # Renames applied in silver (misspelt Kaggle headers).
    silver_renames: dict[str, str] = field(default_factory=dict)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.optional)

    @property
    def drop_dir(self) -> str:
        """Folder name for per-quarter drops (``orders/2017-Q1.csv``)."""
        return self.name


ORDER_STATUSES = (
    "delivered",
    "shipped",
    "canceled",
    "unavailable",
    "invoiced",
    "processing",
    "created",
    "approved",
)

ORDERS = SourceTable(
    name="orders",
    file_name="olist_orders_dataset.csv",
    columns={
        "order_id": VARCHAR,
        "customer_id": VARCHAR,
        "order_status": VARCHAR,
        "order_purchase_timestamp": TIMESTAMP,
        "order_approved_at": TIMESTAMP,
        "order_delivered_carrier_date": TIMESTAMP,
        "order_delivered_customer_date": TIMESTAMP,
        "order_estimated_delivery_date": TIMESTAMP,
    },
    primary_key=("order_id",),
    description="One row per order (all statuses).",
    partitioned=True,
)
CUSTOMERS = SourceTable(
    name="customers",
    file_name="olist_customers_dataset.csv",
    columns={
        "customer_id": VARCHAR,
        "customer_unique_id": VARCHAR,
        "customer_zip_code_prefix": VARCHAR,
        "customer_city": VARCHAR,
        "customer_state": VARCHAR,
    },
    primary_key=("customer_id",),
    description="One row per customer_id (an order's customer key); customer_unique_id is the person.",
    zip_columns=("customer_zip_code_prefix",),
)
ORDER_ITEMS = SourceTable(
    name="order_items",
    file_name="olist_order_items_dataset.csv",
    columns={
        "order_id": VARCHAR,
        "order_item_id": INTEGER,
        "product_id": VARCHAR,
        "seller_id": VARCHAR,
        "shipping_limit_date": TIMESTAMP,
        "price": MONEY,
        "freight_value": MONEY,
    },
    primary_key=("order_id", "order_item_id"),
    description="One row per order item line.",
    partitioned=True,
)
ORDER_PAYMENTS = SourceTable(
    name="order_payments",
    file_name="olist_order_payments_dataset.csv",
    columns={
        "order_id": VARCHAR,
        "payment_sequential": INTEGER,
        "payment_type": VARCHAR,
        "payment_installments": INTEGER,
        "payment_value": MONEY,
    },
    primary_key=("order_id", "payment_sequential"),
    description="One row per payment of an order (split payments have several).",
    partitioned=True,
)
ORDER_REVIEWS = SourceTable(
    name="order_reviews",
    file_name="olist_order_reviews_dataset.csv",
    columns={
        "review_id": VARCHAR,
        "order_id": VARCHAR,
        "review_score": INTEGER,
        "review_comment_title": VARCHAR,
        "review_comment_message": VARCHAR,
        "review_creation_date": TIMESTAMP,
        "review_answer_timestamp": TIMESTAMP,
    },
    # Bronze keeps every review; silver keeps one per order (the latest answered).
    primary_key=("order_id",),
    description="Reviews; bronze keeps every review, silver one per order.",
    partitioned=True,
    optional=("review_comment_title", "review_comment_message"),
)
PRODUCTS = SourceTable(
    name="products",
    file_name="olist_products_dataset.csv",
    columns={
        "product_id": VARCHAR,
        "product_category_name": VARCHAR,
        "product_name_lenght": INTEGER,
        "product_description_lenght": INTEGER,
        "product_photos_qty": INTEGER,
        "product_weight_g": DOUBLE,
        "product_length_cm": DOUBLE,
        "product_height_cm": DOUBLE,
        "product_width_cm": DOUBLE,
    },
    primary_key=("product_id",),
    description="One row per product.",
    optional=(
        "product_name_lenght",
        "product_description_lenght",
        "product_photos_qty",
        "product_weight_g",
        "product_length_cm",
        "product_height_cm",
        "product_width_cm",
    ),
    silver_renames={
        "product_name_lenght": "product_name_length",
        "product_description_lenght": "product_description_length",
    },
)
SELLERS = SourceTable(
    name="sellers",
    file_name="olist_sellers_dataset.csv",
    columns={
        "seller_id": VARCHAR,
        "seller_zip_code_prefix": VARCHAR,
        "seller_city": VARCHAR,
        "seller_state": VARCHAR,
    },
    primary_key=("seller_id",),
    description="One row per seller.",
    zip_columns=("seller_zip_code_prefix",),
)
GEOLOCATION = SourceTable(
    name="geolocation",
    file_name="olist_geolocation_dataset.csv",
    columns={
        "geolocation_zip_code_prefix": VARCHAR,
        "geolocation_lat": DOUBLE,
        "geolocation_lng": DOUBLE,
        "geolocation_city": VARCHAR,
        "geolocation_state": VARCHAR,
    },
    primary_key=("geolocation_zip_code_prefix",),
    description="Bronze: many points per zip prefix; silver: one row per zip prefix.",
    zip_columns=("geolocation_zip_code_prefix",),
)
CATEGORY_TRANSLATION = SourceTable(
    name="category_translation",
    file_name="product_category_name_translation.csv",
    columns={
        "product_category_name": VARCHAR,
        "product_category_name_english": VARCHAR,
    },
    primary_key=("product_category_name",),
    description="Portuguese product category name -> English.",
)
MARKETING_QUALIFIED_LEADS = SourceTable(
    name="marketing_qualified_leads",
    file_name="olist_marketing_qualified_leads_dataset.csv",
    columns={
        "mql_id": VARCHAR,
        "first_contact_date": DATE,
        "landing_page_id": VARCHAR,
        "origin": VARCHAR,
    },
    primary_key=("mql_id",),
    description="Marketing-qualified seller leads (the Olist marketing funnel).",
)
CLOSED_DEALS = SourceTable(
    name="closed_deals",
    file_name="olist_closed_deals_dataset.csv",
    columns={
        "mql_id": VARCHAR,
        "seller_id": VARCHAR,
        "sdr_id": VARCHAR,
        "sr_id": VARCHAR,
        "won_date": TIMESTAMP,
        "business_segment": VARCHAR,
        "lead_type": VARCHAR,
        "lead_behaviour_profile": VARCHAR,
        "has_company": VARCHAR,
        "has_gtin": VARCHAR,
        "average_stock": VARCHAR,
        "business_type": VARCHAR,
        "declared_product_catalog_size": DOUBLE,
        "declared_monthly_revenue": MONEY,
    },
    primary_key=("mql_id",),
    description="Leads that closed and became sellers (closed_deals.seller_id -> sellers).",
    optional=(
        "sdr_id",
        "sr_id",
        "business_segment",
        "lead_behaviour_profile",
        "has_company",
        "has_gtin",
        "average_stock",
        "business_type",
        "declared_product_catalog_size",
        "declared_monthly_revenue",
    ),
)

SOURCE_TABLES: dict[str, SourceTable] = {
    t.name: t
    for t in (
        ORDERS,
        CUSTOMERS,
        ORDER_ITEMS,
        ORDER_PAYMENTS,
        ORDER_REVIEWS,
        PRODUCTS,
        SELLERS,
        GEOLOCATION,
        CATEGORY_TRANSLATION,
        MARKETING_QUALIFIED_LEADS,
        CLOSED_DEALS,
    )
}
PARTITIONED_TABLES = tuple(t.name for t in SOURCE_TABLES.values() if t.partitioned)
DIMENSION_TABLES = tuple(t.name for t in SOURCE_TABLES.values() if not t.partitioned)
FILE_TO_TABLE = {t.file_name: t.name for t in SOURCE_TABLES.values()}


def silver_columns(table: SourceTable) -> dict[str, str]:
    """Silver column names and types of a cleaned source table (renames applied)."""
    return {table.silver_renames.get(c, c): t for c, t in table.columns.items()}


# Silver tables beyond the 1:1 cleaned sources.
SILVER_EXTRA_COLUMNS: dict[str, dict[str, str]] = {
    # Products gain the English category name.
    "products": {"product_category_name_english": VARCHAR},
    # Geolocation becomes one row per zip prefix; n_points says how many in-Brazil points it had.
    "geolocation": {"geolocation_points": BIGINT},
}

UNIFIED_USER_LIFECYCLE_COLUMNS: dict[str, str] = {
    "order_id": VARCHAR,
    "customer_id": VARCHAR,
    "customer_unique_id": VARCHAR,
    "customer_city": VARCHAR,
    "customer_state": VARCHAR,
    "customer_zip_code_prefix": VARCHAR,
    "order_status": VARCHAR,
    "order_purchase_timestamp": TIMESTAMP,
    "order_approved_at": TIMESTAMP,
    "order_delivered_customer_date": TIMESTAMP,
    "order_estimated_delivery_date": TIMESTAMP,
    "purchase_month": DATE,
    "purchase_quarter": DATE,
    # Sum of payment_value, or price + freight when the order has no payment rows (METRICS.md).
    "order_revenue": MONEY,
    "item_count": BIGINT,
    "merchandise_value": MONEY,
    "freight_value": MONEY,
    "payment_count": BIGINT,
    # Payment type of the order's largest payment (ties: lowest payment_sequential).
    "payment_type": VARCHAR,
    "payment_installments": INTEGER,
    # Score of the latest review by answer time (ties: higher score).
    "review_score": INTEGER,
    # Fractional days from purchase to delivery; NULL when not delivered.
    "delivery_days": DOUBLE,
    # Delivered on or before the estimated date (date granularity); NULL without both dates.
    "is_on_time": "BOOLEAN",
    "first_item_product_id": VARCHAR,
    "first_item_seller_id": VARCHAR,
    "first_item_category": VARCHAR,
}


def silver_table_columns(name: str) -> dict[str, str]:
    """All silver columns of a table, in order, with the partition column for order-grain ones."""
    if name == "unified_user_lifecycle":
        cols = dict(UNIFIED_USER_LIFECYCLE_COLUMNS)
        cols[PARTITION_COLUMN] = DATE
        return cols
    table = SOURCE_TABLES[name]
    cols = silver_columns(table)
    if name == "products":
        # English name right after the Portuguese one.
        ordered: dict[str, str] = {}
        for c, t in cols.items():
            ordered[c] = t
            if c == "product_category_name":
                ordered["product_category_name_english"] = VARCHAR
        cols = ordered
    else:
        cols.update(SILVER_EXTRA_COLUMNS.get(name, {}))
    if table.partitioned:
        cols[PARTITION_COLUMN] = DATE
    return cols


def bronze_table_columns(name: str) -> dict[str, str]:
    """Bronze columns: the typed source columns, the partition column, then ingestion columns."""
    table = SOURCE_TABLES[name]
    cols = dict(table.columns)
    if table.partitioned:
        cols[PARTITION_COLUMN] = DATE
    cols[SOURCE_FILE_COLUMN] = VARCHAR
    cols[INGESTED_AT_COLUMN] = TIMESTAMP
    return cols


SILVER_TABLES = (*SOURCE_TABLES, "unified_user_lifecycle")
SILVER_PARTITIONED_TABLES = (*PARTITIONED_TABLES, "unified_user_lifecycle")

# --- Gold (DuckDB schema ``gold``) -------------------------------------------------------------

CUSTOMER_360_COLUMNS: dict[str, str] = {
    "customer_unique_id": VARCHAR,
    "first_order_at": TIMESTAMP,
    "last_order_at": TIMESTAMP,
    "total_orders": BIGINT,
    "lifetime_revenue": MONEY,
    "avg_order_value": DOUBLE,
    "total_items": BIGINT,
    "avg_basket_quantity": DOUBLE,
    "tenure_days": BIGINT,
    "recency_days": BIGINT,
    "active_months": BIGINT,
    "avg_review_score": DOUBLE,
    "avg_delivery_days": DOUBLE,
    "customer_city": VARCHAR,
    "customer_state": VARCHAR,
    "acquisition_channel": VARCHAR,
    "acquisition_lead_type": VARCHAR,
    "is_repeat": "BOOLEAN",
    "is_high_value": "BOOLEAN",
    "frequency_tier": VARCHAR,
    "value_segment": VARCHAR,
    "lifecycle_stage": VARCHAR,
    "r_score": BIGINT,
    "f_score": BIGINT,
    "m_score": BIGINT,
    "rfm_segment": VARCHAR,
    "segment_label": VARCHAR,
}
CUSTOMER_SEGMENTATION_COLUMNS: dict[str, str] = {
    "segment_label": VARCHAR,
    "lifecycle_stage": VARCHAR,
    "value_segment": VARCHAR,
    "frequency_tier": VARCHAR,
    "customers": BIGINT,
    "revenue": MONEY,
    "revenue_share": DOUBLE,
    "revenue_per_customer": DOUBLE,
}
COHORT_RETENTION_COLUMNS: dict[str, str] = {
    "grain": VARCHAR,  # 'quarter' | 'month'
    "cohort": DATE,  # first day of the cohort period
    "period_index": BIGINT,
    "period": DATE,  # first day of period cohort + index
    "cohort_size": BIGINT,
    "active_customers": BIGINT,
    "retention_rate": DOUBLE,
    # The data covers the whole period (first to last day): transforms/gold.py
    # period_is_complete_sql, the one definition of a complete period.
    "is_complete": "BOOLEAN",
}
CUSTOMER_UNIFIED_LIFECYCLE_COLUMNS: dict[str, str] = {
    **CUSTOMER_360_COLUMNS,
    "cohort_quarter": DATE,
    "cohort_month": DATE,
    "first_order_id": VARCHAR,
    "first_category": VARCHAR,
    "first_payment_type": VARCHAR,
    "first_seller_state": VARCHAR,
}

GOLD_TABLES: dict[str, dict[str, str]] = {
    "customer_360": CUSTOMER_360_COLUMNS,
    "customer_segmentation": CUSTOMER_SEGMENTATION_COLUMNS,
    "cohort_retention": COHORT_RETENTION_COLUMNS,
    "customer_unified_lifecycle": CUSTOMER_UNIFIED_LIFECYCLE_COLUMNS,
}

# --- KPI (DuckDB schema ``kpi``) ---------------------------------------------------------------

_SEGMENT_REVENUE = {
    "customers": BIGINT,
    "revenue": MONEY,
    "revenue_share": DOUBLE,
    "revenue_per_customer": DOUBLE,
}

KPI_TABLES: dict[str, dict[str, str]] = {
    "northstar": {
        "total_customers": BIGINT,
        "total_orders": BIGINT,
        "total_revenue": MONEY,
        "aov": DOUBLE,
        "repeat_rate": DOUBLE,
        "power_users": BIGINT,
        "avg_review_score": DOUBLE,
        "avg_delivery_days": DOUBLE,
        "on_time_rate": DOUBLE,
        "cancellation_rate": DOUBLE,
        "as_of": DATE,
    },
    "frequency_distribution": {
        "frequency_tier": VARCHAR,
        **_SEGMENT_REVENUE,
        "customer_share": DOUBLE,
    },
    "value_concentration": {"value_segment": VARCHAR, **_SEGMENT_REVENUE, "customer_share": DOUBLE},
    "recency_value_pivot": {
        "value_segment": VARCHAR,
        "lifecycle_stage": VARCHAR,
        "customers": BIGINT,
        "revenue": MONEY,
    },
    "lifecycle_revenue": {
        "lifecycle_stage": VARCHAR,
        "customers": BIGINT,
        "revenue": MONEY,
        "revenue_share": DOUBLE,
        "customer_share": DOUBLE,
    },
    "repeat_funnel": {
        "customers_1_plus": BIGINT,
        "customers_2_plus": BIGINT,
        "customers_5_plus": BIGINT,
        "conversion_1_to_2_plus": DOUBLE,
        "conversion_2_plus_to_5_plus": DOUBLE,
    },
    "period1_retention": {
        # One row per (grain, cohort) with index-1 retention, plus one row per grain with
        # cohort NULL and is_headline TRUE holding the pooled headline.
        "grain": VARCHAR,
        "cohort": DATE,
        "is_headline": "BOOLEAN",
        "cohort_size": BIGINT,
        "period1_active": BIGINT,
        "period1_retention": DOUBLE,
        # Cohort rows: the cohort's period 1 is complete (cohort_retention.is_complete at index
        # 1). Headline row: TRUE when it pools at least one cohort; it pools complete ones only.
        "is_complete": "BOOLEAN",
    },
    "monthly_revenue": {
        "month": DATE,
        "orders": BIGINT,
        "customers": BIGINT,
        "revenue": MONEY,
        "aov": DOUBLE,
        # The same value on every row: mean monthly revenue over the complete months present
        # (NULL when no month is complete).
        "mean_monthly_revenue": DOUBLE,
        # The data covers the whole month (gold.period_is_complete_sql); the partial first and
        # last months are drawn but left out of means and trends.
        "is_complete": "BOOLEAN",
    },
    "delivery_vs_review": {
        "delivery_bucket": VARCHAR,  # '0-3', '4-7', '8-14', '15-21', '22-30', '31+'
        "bucket_order": BIGINT,
        "orders": BIGINT,
        "avg_review_score": DOUBLE,
        # The same value on every row: order-level Pearson correlation (delivery days, score).
        "correlation": DOUBLE,
    },
    "channel_revenue": {
        # value_segment NULL: the channel total; otherwise channel x value_segment.
        "acquisition_channel": VARCHAR,
        "value_segment": VARCHAR,
        "customers": BIGINT,
        "revenue": MONEY,
        "customer_share": DOUBLE,
        "revenue_share": DOUBLE,
        "revenue_per_customer": DOUBLE,
    },
    "city_concentration": {
        "customer_city": VARCHAR,
        "customer_state": VARCHAR,
        "customers": BIGINT,
        "revenue": MONEY,
        "revenue_share": DOUBLE,
        "rank": BIGINT,
        "is_top_n": "BOOLEAN",
        # The same value on every row: revenue share of the top-N cities (N = top_n_cities).
        "top_n_revenue_share": DOUBLE,
    },
    "health_by_value": {
        "value_segment": VARCHAR,
        "lifecycle_stage": VARCHAR,
        "customers": BIGINT,
        "share_within_segment": DOUBLE,
    },
}

# --- Predictions (issue 19): gold.customer_predictions and three KPI tables --------------------
# Kept apart from GOLD_TABLES / KPI_TABLES: those are built by the descriptive multi-assets (and
# their generic checks); these are fitted models with assets and checks of their own
# (assets/gold.py, assets/kpi.py, checks/predictions.py; docs/predictions.md).

CUSTOMER_PREDICTIONS_COLUMNS: dict[str, str] = {
    "customer_unique_id": VARCHAR,
    "value_segment": VARCHAR,
    "lifecycle_stage": VARCHAR,
    # The model's inputs (Fader, Hardie and Lee), in days, completed orders up to model_as_of,
    # purchases on the same day counted once: repeat purchase days, days from the first to the
    # last purchase day, days from the first purchase day to model_as_of.
    "frequency": BIGINT,
    "recency": BIGINT,
    "age_days": BIGINT,
    # Mean revenue of the repeat purchase days (NULL without a repeat purchase).
    "monetary_value": DOUBLE,
    "probability_alive": DOUBLE,
    "expected_orders_90d": DOUBLE,
    "expected_orders_365d": DOUBLE,
    # Gamma-Gamma expected revenue of one future purchase day.
    "expected_order_value": DOUBLE,
    # expected_orders_365d x expected_order_value (undiscounted, one year).
    "predicted_clv_365d": MONEY,
    "churn_risk": VARCHAR,  # CHURN_RISK_BANDS
    "model_as_of": DATE,
}

PREDICTION_GOLD_TABLES: dict[str, dict[str, str]] = {
    "customer_predictions": CUSTOMER_PREDICTIONS_COLUMNS,
}

PREDICTION_KPI_TABLES: dict[str, dict[str, str]] = {
    "churn_risk_monitor": {
        # Each quarter end before the latest as_of, then the as_of (is_latest): the model refitted
        # on the completed orders up to that date, value segments as of that date.
        "as_of": DATE,
        "is_latest": "BOOLEAN",
        "value_segment": VARCHAR,
        "customers": BIGINT,
        "revenue": MONEY,
        "high_risk_customers": BIGINT,
        "high_risk_revenue": MONEY,
        "high_risk_customer_share": DOUBLE,
        "high_risk_revenue_share": DOUBLE,
        "fit_converged": "BOOLEAN",
    },
    "early_warning": {
        "rank": BIGINT,
        "customer_unique_id": VARCHAR,
        "value_segment": VARCHAR,
        "lifecycle_stage": VARCHAR,
        "recency_days": BIGINT,
        "total_orders": BIGINT,
        "lifetime_revenue": MONEY,
        "probability_alive": DOUBLE,
        "expected_orders_365d": DOUBLE,
        "predicted_clv_365d": MONEY,
    },
    "prediction_backtest": {
        "model": VARCHAR,  # PREDICTION_MODELS
        "calibration_end": DATE,
        "holdout_end": DATE,
        "holdout_days": BIGINT,
        # Customers with a completed order up to calibration_end.
        "customers": BIGINT,
        # Their completed orders in (calibration_end, holdout_end], and the distinct purchase
        # days among them (what the model predicts: same-day purchases count once).
        "actual_orders": BIGINT,
        "actual_repeat_orders": BIGINT,
        "expected_repeat_orders": DOUBLE,
        # (expected - actual) / actual, over all customers.
        "aggregate_error": DOUBLE,
        # Per customer, expected vs actual holdout purchase days.
        "mae": DOUBLE,
        "rmse": DOUBLE,
    },
}

CHURN_RISK_BANDS = ("Low", "Medium", "High")
PREDICTION_MODELS = ("MBG/NBD", "Naive baseline")

# Category orders used for sorting and charts.
FREQUENCY_TIERS = ("One-time", "Regular", "Power User")
VALUE_SEGMENTS = ("Low Value", "Medium Value", "High Value", "VIP")
LIFECYCLE_STAGES = ("Active", "Warm", "At Risk", "Dormant")
DELIVERY_BUCKETS = ("0-3", "4-7", "8-14", "15-21", "22-30", "31+")

# --- Quarantine (lake: quarantine/<table>/...; warehouse: schema ``quarantine``) -------------------
# Every row a layer rejects lands here with the reason, so nothing is lost silently.
QUARANTINE_COLUMNS: dict[str, str] = {
    "table_name": VARCHAR,
    "layer": VARCHAR,  # 'bronze' | 'silver'
    "rule": VARCHAR,  # 'malformed' | 'unparseable' | 'unroutable' | 'orphan' | 'duplicate_key' | ...
    "source_file": VARCHAR,
    "source_line": BIGINT,  # physical line in the source file, when known
    "reason": VARCHAR,
    "record": VARCHAR,  # the raw CSV line, or the row as JSON
    PARTITION_COLUMN: DATE,
    "quarantined_at": TIMESTAMP,
}
