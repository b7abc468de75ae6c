"""Silver tables: the cleaned sources, one row per key, and the order lifecycle.

Each table is a ``TableSpec`` (schema/spec.py). Its columns come from the source table
(schema/sources.py: the Kaggle columns, silver renames and extras), their meanings from
schema/glossary.py. ``references`` are the foreign keys silver checks; ``quarantined_by`` says
which layer sets an orphan aside (bronze routes rows by their order's quarter, so it holds back the
order-grain rows of unknown orders; silver the rest).
"""

from __future__ import annotations

from goodpulse_dagster.schema.sources import (
    CLOSED_DEALS,
    CUSTOMERS,
    ORDER_ITEMS,
    ORDER_PAYMENTS,
    ORDER_REVIEWS,
    ORDERS,
    PRODUCTS,
    SELLERS,
    SOURCE_TABLES,
    silver_table_columns,
)
from goodpulse_dagster.schema.spec import Reference, TableSpec, columns
from goodpulse_dagster.schema.types import BRONZE, SILVER

LIFECYCLE = "unified_user_lifecycle"

_GRAINS: dict[str, str] = {
    ORDERS.name: "One row per order (all statuses); customer_id must exist in customers.",
    CUSTOMERS.name: "One row per customer_id; zip prefix as 5 characters, city lower, state upper.",
    ORDER_ITEMS.name: "One row per (order_id, order_item_id); product and seller must exist.",
    ORDER_PAYMENTS.name: "One row per (order_id, payment_sequential).",
    ORDER_REVIEWS.name: "One row per order: its latest review by answer time (ties: higher score).",
    PRODUCTS.name: "One row per product_id; misspelt *_lenght columns renamed; English category.",
    SELLERS.name: "One row per seller_id.",
    "geolocation": "One row per zip prefix: median lat/lng and modal city/state of its in-Brazil "
    "points; geolocation_points counts them.",
    "category_translation": "One row per Portuguese category name with its English name.",
    "marketing_qualified_leads": "One row per marketing-qualified lead (mql_id); origin lower "
    "case.",
    CLOSED_DEALS.name: "One row per closed deal (mql_id) with the seller it became.",
    LIFECYCLE: "One row per order of every status, with the customer's unique id and city/state "
    "at that order, order revenue (sum of payments; price + freight when the order has no "
    "payment rows), item lines, merchandise and freight value, the payment type of its largest "
    "payment, the review score of its latest review, delivery days (fractional, NULL when not "
    "delivered) and an on-time flag.",
}

# Foreign keys. Rows of an order-grain table whose order is unknown are quarantined in bronze
# (it cannot tell their quarter); the others in silver.
_REFERENCES: dict[str, tuple[Reference, ...]] = {
    ORDERS.name: (Reference("customer_id", CUSTOMERS.name),),
    ORDER_ITEMS.name: (
        Reference("order_id", ORDERS.name, quarantined_by=BRONZE),
        Reference("product_id", PRODUCTS.name),
        Reference("seller_id", SELLERS.name),
    ),
    ORDER_PAYMENTS.name: (Reference("order_id", ORDERS.name, quarantined_by=BRONZE),),
    ORDER_REVIEWS.name: (Reference("order_id", ORDERS.name, quarantined_by=BRONZE),),
}

# Checks beyond those every cleaned source carries (primary_key, rows_reconcile,
# up_to_date_with_landing, one references_<parent> per reference).
_EXTRA_CHECKS: dict[str, tuple[str, ...]] = {
    ORDERS.name: ("order_status_known", "timestamps_valid"),
    ORDER_ITEMS.name: ("values_non_negative", "values_valid"),
    ORDER_PAYMENTS.name: ("values_non_negative", "values_valid"),
    ORDER_REVIEWS.name: ("review_score_in_range",),
}


def _cleaned_source(name: str) -> TableSpec:
    source = SOURCE_TABLES[name]
    references = _REFERENCES.get(name, ())
    checks = (
        "primary_key",
        "rows_reconcile",
        "up_to_date_with_landing",
        *(f"references_{r.parent}" for r in references),
        *_EXTRA_CHECKS.get(name, ()),
    )
    return TableSpec(
        layer=SILVER,
        name=name,
        grain=_GRAINS[name],
        columns=columns(silver_table_columns(name)),
        primary_key=tuple(source.silver_renames.get(c, c) for c in source.primary_key),
        partitioned=source.partitioned,
        references=references,
        checks=tuple(sorted(checks)),
    )


UNIFIED_USER_LIFECYCLE = TableSpec(
    layer=SILVER,
    name=LIFECYCLE,
    grain=_GRAINS[LIFECYCLE],
    columns=columns(
        silver_table_columns(LIFECYCLE),
        {
            "customer_city": "The customer's city at this order, lower case.",
            "customer_state": "The customer's state at this order.",
            "customer_zip_code_prefix": "The customer's zip code prefix at this order.",
            "freight_value": "Freight of the order's item lines, R$.",
            "payment_type": "Payment type of the order's largest payment (ties: lowest "
            "payment_sequential).",
            "payment_installments": "Installments of that payment.",
            "review_score": "Score of the order's latest review by answer time (ties: higher "
            "score).",
        },
    ),
    primary_key=("order_id",),
    partitioned=True,
    checks=("primary_key", "rows_reconcile"),
)

# Silver tables a cleaned source looks values up in (besides the parents of its references).
_LOOKUPS: dict[str, tuple[str, ...]] = {PRODUCTS.name: ("category_translation",)}


def silver_references(name: str) -> dict[str, str]:
    """column -> parent table of the references whose orphans silver quarantines."""
    return {r.column: r.parent for r in _REFERENCES.get(name, ()) if r.quarantined_by == SILVER}


def silver_inputs(name: str) -> tuple[str, ...]:
    """The other silver tables the silver table of source ``name`` is built from, in order:
    its referenced parents, then its lookups (so a sensor knows what a changed file refreshes)."""
    return tuple(dict.fromkeys((*silver_references(name).values(), *_LOOKUPS.get(name, ()))))


SILVER_SPECS: dict[str, TableSpec] = {
    **{name: _cleaned_source(name) for name in SOURCE_TABLES},
    LIFECYCLE: UNIFIED_USER_LIFECYCLE,
}
