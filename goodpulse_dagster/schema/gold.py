"""Gold tables (DuckDB schema ``gold``): the customer tables, segments, cohorts and predictions.

Each table is a ``TableSpec`` (schema/spec.py); its column types are declared in the mapping
above it, its column meanings in schema/glossary.py (or in the spec where a table differs).
"""

from __future__ import annotations

from goodpulse_dagster.schema.spec import TableSpec, columns
from goodpulse_dagster.schema.types import (
    BIGINT,
    BOOLEAN,
    DATE,
    DOUBLE,
    GOLD,
    MONEY,
    TIMESTAMP,
    VARCHAR,
)

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
    "is_repeat": BOOLEAN,
    "is_high_value": BOOLEAN,
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
    # The data covers the whole period (first to last day): the period_is_complete macro
    # (models/_shared/macros.sql), the one definition of a complete period.
    "is_complete": BOOLEAN,
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


# --- Predictions (issue 19): gold.customer_predictions and three KPI tables --------------------
# Kept apart from GOLD_TABLES / KPI_TABLES: those are built by the descriptive multi-assets (and
# their generic checks); these are fitted models with assets and checks of their own
# (gold/assets.py, kpi/assets.py, predictions/checks.py; docs/predictions.md).

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


CUSTOMER_360 = TableSpec(
    layer=GOLD,
    name="customer_360",
    grain=(
        "One row per customer (customer_unique_id) with at least one completed order: order, "
        "revenue, basket, recency, tenure, review and delivery facts, city/state of the latest "
        "completed order, acquisition channel (origin of the funnel lead that became the seller "
        "of item 1 of the first completed order; 'unknown' for an empty origin, 'unattributed' "
        "for a seller not from the funnel), frequency tier (One-time 1, Regular "
        "{regular_min_orders}-{regular_max_orders}, Power User {power_user_min_orders}+), value "
        "segment ({value_q_low}/{value_q_mid}/{value_q_high} of lifetime revenue), lifecycle "
        "stage (Active <= {active_days} < Warm <= {warm_days} < At Risk <= {at_risk_days} < "
        "Dormant recency days), RFM scores and segment, and the segment label. Thresholds are "
        "the `analytics` resource settings."
    ),
    columns=columns(
        CUSTOMER_360_COLUMNS,
        {
            "customer_city": "The customer's city at the latest completed order, lower case.",
            "customer_state": "The customer's state at the latest completed order.",
        },
    ),
    primary_key=("customer_unique_id",),
    checks=("primary_key", "reconciles_with_silver"),
)
CUSTOMER_SEGMENTATION = TableSpec(
    layer=GOLD,
    name="customer_segmentation",
    grain=(
        "One row per segment_label (lifecycle | value | frequency): customers, revenue, "
        "revenue_share, revenue_per_customer and the label's three parts."
    ),
    columns=columns(CUSTOMER_SEGMENTATION_COLUMNS),
    primary_key=("segment_label",),
    checks=("primary_key", "rates_in_range", "shares_sum_to_one"),
)
COHORT_RETENTION = TableSpec(
    layer=GOLD,
    name="cohort_retention",
    grain=(
        "One row per (grain, cohort, period_index), grains quarter and month: cohort = period of "
        "a customer's first completed order; active_customers = cohort customers with a "
        "completed order in period cohort + index; retention_rate = active / cohort_size. Every "
        "index from 0 to the last period in the data is present, zeros included; is_complete "
        "says the period lies within the data span (first to last completed purchase date, cut "
        "at as_of), the one definition of a complete period (models/_shared)."
    ),
    columns=columns(COHORT_RETENTION_COLUMNS),
    primary_key=("grain", "cohort", "period_index"),
    checks=("primary_key", "retention_valid"),
)
CUSTOMER_UNIFIED_LIFECYCLE = TableSpec(
    layer=GOLD,
    name="customer_unified_lifecycle",
    grain=(
        "One row per customer: customer_360 with the customer's quarter and month cohort and "
        "first-order context (first order id, category, payment type, seller state)."
    ),
    columns=columns(
        CUSTOMER_UNIFIED_LIFECYCLE_COLUMNS,
        {
            "customer_city": CUSTOMER_360.column("customer_city").description,
            "customer_state": CUSTOMER_360.column("customer_state").description,
        },
    ),
    primary_key=("customer_unique_id",),
    checks=("primary_key",),
)
CUSTOMER_PREDICTIONS = TableSpec(
    layer=GOLD,
    name="customer_predictions",
    grain=(
        "One row per customer of customer_360: MBG/NBD probability_alive and expected purchase "
        "days in the next 90 and 365 days, Gamma-Gamma expected order value, predicted_clv_365d "
        "(expected 365-day orders x expected value, R$, undiscounted), churn_risk (High below "
        "{churn_high_below} of probability_alive, Medium below {churn_medium_below}, else Low) "
        "and model_as_of; the models are fitted on the completed orders up to as_of, purchases on "
        "one day counted once (docs/predictions.md). The fit's parameters and log-likelihood are "
        "metadata."
    ),
    columns=columns(CUSTOMER_PREDICTIONS_COLUMNS),
    primary_key=("customer_unique_id",),
    checks=("expectations_non_negative", "fit_converged", "primary_key", "probabilities_in_range"),
)

# The descriptive gold tables, built by one multi-asset and its generic checks; the prediction
# table has an asset and checks of its own (gold/assets.py, predictions/checks.py).
GOLD_SPECS: dict[str, TableSpec] = {
    t.name: t
    for t in (CUSTOMER_360, CUSTOMER_SEGMENTATION, COHORT_RETENTION, CUSTOMER_UNIFIED_LIFECYCLE)
}
PREDICTION_GOLD_SPECS: dict[str, TableSpec] = {CUSTOMER_PREDICTIONS.name: CUSTOMER_PREDICTIONS}
GOLD_TABLES: dict[str, dict[str, str]] = {n: t.column_types for n, t in GOLD_SPECS.items()}
PREDICTION_GOLD_TABLES: dict[str, dict[str, str]] = {
    n: t.column_types for n, t in PREDICTION_GOLD_SPECS.items()
}
