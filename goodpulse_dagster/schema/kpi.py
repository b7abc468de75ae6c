"""KPI tables (DuckDB schema ``kpi``): the numbers behind the executive report.

Each table is a ``TableSpec`` (schema/spec.py); column types in the mappings below, column
meanings in schema/glossary.py. Conventions every KPI table shares: shares are of the table's
whole population; a share, rate or average whose denominator is 0 is NULL; category tables list
every category (empty ones with 0 customers) in vocabulary order; a single-valued headline repeats
on every row or sits in a headline row.
"""

from __future__ import annotations

from goodpulse_dagster.schema.spec import TableSpec, columns
from goodpulse_dagster.schema.types import (
    BIGINT,
    BOOLEAN,
    DATE,
    DOUBLE,
    KPI,
    MONEY,
    VARCHAR,
)

# --- KPI (DuckDB schema ``kpi``) ---------------------------------------------------------------

_SEGMENT_REVENUE = {
    "customers": BIGINT,
    "revenue": MONEY,
    "revenue_share": DOUBLE,
    "revenue_per_customer": DOUBLE,
}

KPI_COLUMNS: dict[str, dict[str, str]] = {
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
        "is_headline": BOOLEAN,
        "cohort_size": BIGINT,
        "period1_active": BIGINT,
        "period1_retention": DOUBLE,
        # Cohort rows: the cohort's period 1 is complete (cohort_retention.is_complete at index
        # 1). Headline row: TRUE when it pools at least one cohort; it pools complete ones only.
        "is_complete": BOOLEAN,
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
        # The data covers the whole month (the period_is_complete macro); the partial first and
        # last months are drawn but left out of means and trends.
        "is_complete": BOOLEAN,
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
        "is_top_n": BOOLEAN,
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

PREDICTION_KPI_COLUMNS: dict[str, dict[str, str]] = {
    "churn_risk_monitor": {
        # Each quarter end before the latest as_of, then the as_of (is_latest): the model refitted
        # on the completed orders up to that date, value segments as of that date.
        "as_of": DATE,
        "is_latest": BOOLEAN,
        "value_segment": VARCHAR,
        "customers": BIGINT,
        "revenue": MONEY,
        "high_risk_customers": BIGINT,
        "high_risk_revenue": MONEY,
        "high_risk_customer_share": DOUBLE,
        "high_risk_revenue_share": DOUBLE,
        "fit_converged": BOOLEAN,
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

_SHARES = ("rates_in_range", "shares_sum_to_one")

# (name, grain, primary key, checks), in report order.
_DESCRIPTIVE: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "northstar",
        "One row: total_customers, total_orders, total_revenue, aov (revenue / orders), "
        "repeat_rate (customers with {regular_min_orders}+ completed orders / customers), "
        "power_users ({power_user_min_orders}+), avg_review_score (completed orders with a "
        "review), avg_delivery_days, on_time_rate (delivered on or before the estimate, over "
        "delivered orders with both dates), cancellation_rate (canceled / all orders), as_of.",
        (),
        ("rates_in_range", "reconciles_across_layers"),
    ),
    (
        "frequency_distribution",
        "One row per frequency tier (One-time, Regular, Power User): customers, revenue, "
        "revenue_share, revenue_per_customer, customer_share.",
        ("frequency_tier",),
        _SHARES,
    ),
    (
        "value_concentration",
        "One row per value segment (KPI 4): customers, revenue, revenue_share, "
        "revenue_per_customer, customer_share.",
        ("value_segment",),
        _SHARES,
    ),
    (
        "recency_value_pivot",
        "One row per (value_segment, lifecycle_stage): customers, revenue.",
        ("value_segment", "lifecycle_stage"),
        (),
    ),
    (
        "lifecycle_revenue",
        "One row per lifecycle stage (KPI 3): customers, revenue, revenue_share; the Active "
        "revenue share is the headline.",
        ("lifecycle_stage",),
        _SHARES,
    ),
    (
        "repeat_funnel",
        "One row (KPI 2): customers with 1+, {regular_min_orders}+ and {power_user_min_orders}+ "
        "completed orders; conversion 1 -> {regular_min_orders}+ and {regular_min_orders}+ -> "
        "{power_user_min_orders}+.",
        (),
        ("rates_in_range",),
    ),
    (
        "period1_retention",
        "KPI 1: one row per (grain, cohort) with index-1 retention and is_complete (the cohort's "
        "period 1 lies within the data span), and one headline row per grain (is_headline): sum "
        "of index-1 active / sum of cohort sizes over the cohorts whose period 1 is complete.",
        ("grain", "cohort"),
        ("rates_in_range",),
    ),
    (
        "monthly_revenue",
        "One row per purchase month: orders, customers, revenue, aov, is_complete (the data "
        "covers the whole month: the partial first and last months are flagged); "
        "mean_monthly_revenue, the mean over the complete months, repeats on every row.",
        ("month",),
        (),
    ),
    (
        "delivery_vs_review",
        "One row per delivery-days bucket (0-3, 4-7, 8-14, 15-21, 22-30, 31+): orders, "
        "avg_review_score; correlation (order-level Pearson, delivery days vs score) repeats on "
        "every row.",
        ("delivery_bucket",),
        (),
    ),
    (
        "channel_revenue",
        "One row per acquisition channel (value_segment NULL) and per channel x value segment: "
        "customers, revenue, shares, revenue_per_customer.",
        ("acquisition_channel", "value_segment"),
        _SHARES,
    ),
    (
        "city_concentration",
        "One row per (customer_city, customer_state): customers, revenue, revenue_share, rank; "
        "top_n_revenue_share (the top {top_n_cities} cities, analytics.top_n_cities) repeats on "
        "every row.",
        ("customer_city", "customer_state"),
        _SHARES,
    ),
    (
        "health_by_value",
        "One row per (value_segment, lifecycle_stage): customers and their share within the "
        "value segment.",
        ("value_segment", "lifecycle_stage"),
        _SHARES,
    ),
)
_PREDICTIVE: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "churn_risk_monitor",
        "One row per (monitor date, value segment): every quarter end before as_of, then as_of "
        "(is_latest), with the models refitted on the completed orders up to that date only and "
        "value segments as of that date: customers, revenue to date, and those at High churn "
        "risk (count, revenue, shares). A date with fewer than "
        "{prediction_min_repeat_customers} repeat customers is left out.",
        ("as_of", "value_segment"),
        ("high_value_risk_not_rising", "primary_key", "shares_in_range"),
    ),
    (
        "early_warning",
        "One row per customer still Active or Warm (lifecycle stage) whose churn risk is High, "
        "ranked by predicted 365-day CLV (largest first): the list to act on before they turn "
        "At Risk.",
        ("customer_unique_id",),
        ("primary_key",),
    ),
    (
        "prediction_backtest",
        "Two rows, the MBG/NBD model and a naive baseline (every customer repeats at the "
        "population's historical repeat rate): fitted on completed orders up to as_of minus "
        "{backtest_holdout_days} days, scored on the days after it: actual vs expected repeat "
        "purchase days, aggregate error, per-customer MAE and RMSE.",
        ("model",),
        ("errors_non_negative", "primary_key"),
    ),
)

_COLUMN_NOTES: dict[str, dict[str, str]] = {
    "channel_revenue": {
        "value_segment": "The value segment; NULL on the channel's total row.",
    },
    "early_warning": {"rank": "Rank by predicted_clv_365d (1 = largest)."},
    "churn_risk_monitor": {
        "as_of": "The monitor date: a quarter end, or as_of itself (is_latest).",
        "revenue": "Revenue to date of the row's customers, R$.",
    },
    "prediction_backtest": {"customers": "Customers with a completed order up to calibration_end."},
    "period1_retention": {
        "cohort": "First day of the cohort's period; NULL on the headline row.",
        "is_complete": "Cohort rows: the cohort's period 1 is complete. Headline row: it pools "
        "at least one cohort (complete ones only).",
    },
}


def _specs(rows, types: dict[str, dict[str, str]]) -> dict[str, TableSpec]:
    return {
        name: TableSpec(
            layer=KPI,
            name=name,
            grain=grain,
            columns=columns(types[name], _COLUMN_NOTES.get(name)),
            primary_key=key,
            checks=checks,
        )
        for name, grain, key, checks in rows
    }


KPI_SPECS: dict[str, TableSpec] = _specs(_DESCRIPTIVE, KPI_COLUMNS)
PREDICTION_KPI_SPECS: dict[str, TableSpec] = _specs(_PREDICTIVE, PREDICTION_KPI_COLUMNS)
KPI_TABLES: dict[str, dict[str, str]] = {n: t.column_types for n, t in KPI_SPECS.items()}
PREDICTION_KPI_TABLES: dict[str, dict[str, str]] = {
    n: t.column_types for n, t in PREDICTION_KPI_SPECS.items()
}
