"""The source tables of the Olist export as they land in the raw zone, and the bronze and silver
columns derived from them (silver renames, the products/geolocation extras, the order lifecycle).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from goodpulse_dagster.schema.types import (
    BIGINT,
    DATE,
    DOUBLE,
    INGESTED_AT_COLUMN,
    INTEGER,
    MONEY,
    PARTITION_COLUMN,
    SOURCE_FILE_COLUMN,
    TIMESTAMP,
    VARCHAR,
)


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
    optional: tuple[str, ...] = ()
    # Renames applied in silver (misspelt Kaggle headers).
    silver_renames: dict[str, str] = field(default_factory=dict)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.optional)

    @property
    def references_orders(self) -> bool:
        """An order-grain table other than orders: each row names its order (order_id), and the
        row is routed to the quarter of that order."""
        return self.partitioned and self.name != "orders"

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
