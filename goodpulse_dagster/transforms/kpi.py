"""KPI transforms: gold customer tables -> the ``kpi`` schema of METRICS.md.

One ``build_<table>`` per table of ``schema.KPI_TABLES``, each taking only the inputs it needs
(``customer_360``, the silver ``lifecycle``, ``cohort_retention``, ``params``) and returning a
pandas DataFrame with exactly the spec's columns, in order, typed as described in ``gold``.

Conventions shared by every table:

* Shares are of the grand total of the table's population (all customers / all revenue); a
  share, rate or average whose denominator is 0 is NULL (NaN), never an error.
* Category tables list every category of ``schema`` (frequency tiers, value segments, lifecycle
  stages, delivery buckets) in schema order, an empty one with 0 customers, so the shape is stable.
* A single-valued headline repeats on every row (``mean_monthly_revenue``, ``correlation``,
  ``top_n_revenue_share``) or sits in a headline row (``period1_retention``), as the spec says.

``headline_metrics`` picks the numbers a KPI materialization shows as Dagster metadata.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pandas as pd

from goodpulse_dagster import schema
from goodpulse_dagster.transforms.gold import (
    COMPLETED_CTE,
    DATA_SPAN_CTE,
    UNATTRIBUTED_CHANNEL,
    Frame,
    compute_as_of,
    label_params,
    metric_sql_params,
    period_is_complete_sql,
    run_query,
    span_sql_params,
)
from goodpulse_dagster.transforms.params import MetricParams

# cancellation_rate counts this order status (a status name, not a threshold).
CANCELED_STATUS = "canceled"


def _delivery_bucket_lows() -> list[int]:
    """Lower bounds (whole days) of ``schema.DELIVERY_BUCKETS``: '0-3' -> 0, ..., '31+' -> 31."""
    return [int(label.split("-")[0].rstrip("+")) for label in schema.DELIVERY_BUCKETS]


# --- Category revenue tables ---------------------------------------------------------------------


def _category_revenue(customer_360: Frame, key: str, categories: str, table: str) -> pd.DataFrame:
    """Customers and revenue per category of ``key``; selects the columns ``table`` asks for.

    ``categories`` names the label_params() list giving every category and its order.
    """
    columns = schema.KPI_TABLES[table]
    sql = f"""
WITH categories AS (
    SELECT unnest(${categories}) AS {key}
),
per_category AS (
    SELECT {key}, count(*) AS customers, sum(lifetime_revenue)::DECIMAL(18,2) AS revenue
    FROM customer_360
    GROUP BY {key}
),
filled AS (
    -- Every category appears, an empty one with zeros; a label outside the list is kept too.
    SELECT {key}, coalesce(p.customers, 0) AS customers,
           coalesce(p.revenue, 0)::DECIMAL(18,2) AS revenue
    FROM categories
    FULL JOIN per_category p USING ({key})
),
measured AS (
    SELECT
        f.*,
        f.revenue::DOUBLE / nullif(sum(f.revenue) OVER (), 0)::DOUBLE AS revenue_share,
        f.revenue::DOUBLE / nullif(f.customers, 0) AS revenue_per_customer,
        f.customers / nullif(sum(f.customers) OVER (), 0) AS customer_share
    FROM filled f
)
SELECT {", ".join(columns)}
FROM measured
ORDER BY list_position(${categories}, {key}) NULLS LAST, {key}
"""
    return run_query(sql, {"customer_360": customer_360}, label_params(), columns)


def build_frequency_distribution(customer_360: Frame) -> pd.DataFrame:
    """``kpi.frequency_distribution``: per frequency_tier."""
    return _category_revenue(
        customer_360, "frequency_tier", "frequency_tiers", "frequency_distribution"
    )


def build_value_concentration(customer_360: Frame) -> pd.DataFrame:
    """``kpi.value_concentration`` (KPI 4, monetization): per value_segment."""
    return _category_revenue(customer_360, "value_segment", "value_segments", "value_concentration")


def build_lifecycle_revenue(customer_360: Frame) -> pd.DataFrame:
    """``kpi.lifecycle_revenue`` (KPI 3): per lifecycle_stage; the Active share is the headline."""
    return _category_revenue(
        customer_360, "lifecycle_stage", "lifecycle_stages", "lifecycle_revenue"
    )


# --- value_segment x lifecycle_stage grids -------------------------------------------------------

_VALUE_STAGE_GRID_SQL = """
WITH grid AS (
    SELECT v.value_segment, s.lifecycle_stage
    FROM (SELECT unnest($value_segments) AS value_segment) v
    CROSS JOIN (SELECT unnest($lifecycle_stages) AS lifecycle_stage) s
),
cells AS (
    SELECT value_segment, lifecycle_stage, count(*) AS customers,
           sum(lifetime_revenue)::DECIMAL(18,2) AS revenue
    FROM customer_360
    GROUP BY ALL
),
filled AS (
    -- The full 4 x 4 grid: an empty cell is a 0, not a missing row.
    SELECT
        value_segment,
        lifecycle_stage,
        coalesce(c.customers, 0) AS customers,
        coalesce(c.revenue, 0)::DECIMAL(18,2) AS revenue
    FROM grid
    FULL JOIN cells c USING (value_segment, lifecycle_stage)
)
SELECT {columns}
FROM (
    SELECT
        *,
        customers / nullif(sum(customers) OVER (PARTITION BY value_segment), 0)
            AS share_within_segment
    FROM filled
)
ORDER BY
    list_position($value_segments, value_segment) NULLS LAST,
    list_position($lifecycle_stages, lifecycle_stage) NULLS LAST,
    value_segment,
    lifecycle_stage
"""


def _value_stage_grid(customer_360: Frame, table: str) -> pd.DataFrame:
    columns = schema.KPI_TABLES[table]
    sql = _VALUE_STAGE_GRID_SQL.format(columns=", ".join(columns))
    return run_query(sql, {"customer_360": customer_360}, label_params(), columns)


def build_recency_value_pivot(customer_360: Frame) -> pd.DataFrame:
    """``kpi.recency_value_pivot``: customers and revenue per (value_segment, lifecycle_stage)."""
    return _value_stage_grid(customer_360, "recency_value_pivot")


def build_health_by_value(customer_360: Frame) -> pd.DataFrame:
    """``kpi.health_by_value``: customers per (value_segment, lifecycle_stage) and their share
    within the value segment (NULL for an empty segment)."""
    return _value_stage_grid(customer_360, "health_by_value")


# --- northstar and repeat funnel -----------------------------------------------------------------

_NORTHSTAR_SQL = """
WITH customers AS (
    SELECT
        count(*) AS total_customers,
        coalesce(sum(total_orders), 0)::BIGINT AS total_orders,
        coalesce(sum(lifetime_revenue), 0)::DECIMAL(18,2) AS total_revenue,
        count(*) FILTER (WHERE is_repeat) AS repeat_customers,
        count(*) FILTER (WHERE frequency_tier = $power_user) AS power_users
    FROM customer_360
),
orders AS (
    SELECT
        -- Order-level averages over completed orders; avg() skips orders without the value.
        avg(review_score) FILTER (WHERE is_completed) AS avg_review_score,
        -- From an exact sum (whole microseconds): the same on every run, as in customer_360.
        sum(round(delivery_days * 86400000000)::HUGEINT) FILTER (WHERE is_completed)::DOUBLE
            / nullif(count(delivery_days) FILTER (WHERE is_completed), 0) / 86400000000
            AS avg_delivery_days,
        -- is_on_time is NULL unless both the delivery and the estimated date are known.
        avg(is_on_time::INTEGER) FILTER (WHERE is_completed) AS on_time_rate,
        -- The one figure over ALL orders: canceled / every order of any status.
        count(*) FILTER (WHERE order_status = $canceled_status) / nullif(count(*), 0)
            AS cancellation_rate
    FROM (
        SELECT *, list_contains($completed_statuses, order_status) AS is_completed
        FROM lifecycle
    )
)
SELECT
    c.total_customers,
    c.total_orders,
    c.total_revenue,
    c.total_revenue::DOUBLE / nullif(c.total_orders, 0) AS aov,
    c.repeat_customers / nullif(c.total_customers, 0) AS repeat_rate,
    c.power_users,
    o.avg_review_score,
    o.avg_delivery_days,
    o.on_time_rate,
    o.cancellation_rate,
    $as_of::DATE AS as_of
FROM customers c
CROSS JOIN orders o
"""


def build_northstar(customer_360: Frame, lifecycle: Frame, params: MetricParams) -> pd.DataFrame:
    """``kpi.northstar``: the one-row headline."""
    sql_params = metric_sql_params(params)
    sql_params["as_of"] = compute_as_of(lifecycle, params)
    sql_params["canceled_status"] = CANCELED_STATUS
    return run_query(
        _NORTHSTAR_SQL,
        {"customer_360": customer_360, "lifecycle": lifecycle},
        sql_params,
        schema.KPI_TABLES["northstar"],
    )


_REPEAT_FUNNEL_SQL = """
WITH funnel AS (
    -- '2+' and '5+' are the Regular and Power User thresholds of MetricParams.
    SELECT
        count(*) AS customers_1_plus,
        count(*) FILTER (WHERE total_orders >= $regular_min_orders) AS customers_2_plus,
        count(*) FILTER (WHERE total_orders >= $power_user_min_orders) AS customers_5_plus
    FROM customer_360
)
SELECT
    customers_1_plus,
    customers_2_plus,
    customers_5_plus,
    customers_2_plus / nullif(customers_1_plus, 0) AS conversion_1_to_2_plus,
    customers_5_plus / nullif(customers_2_plus, 0) AS conversion_2_plus_to_5_plus
FROM funnel
"""


def build_repeat_funnel(customer_360: Frame, params: MetricParams) -> pd.DataFrame:
    """``kpi.repeat_funnel`` (KPI 2): one row."""
    return run_query(
        _REPEAT_FUNNEL_SQL,
        {"customer_360": customer_360},
        metric_sql_params(params),
        schema.KPI_TABLES["repeat_funnel"],
    )


# --- period-1 retention ----------------------------------------------------------------------

_PERIOD1_RETENTION_SQL = """
WITH period1 AS (
    -- Only cohorts that have an index 1 (the last period's cohort has none yet). is_complete is
    -- cohort_retention's: the cohort's next period is fully covered by the data.
    SELECT grain, cohort::DATE AS cohort, cohort_size, active_customers AS period1_active,
           is_complete
    FROM cohort_retention
    WHERE period_index = 1
),
headline AS (
    -- Pooled over the cohorts whose period 1 is complete: sum of index-1 actives / sum of their
    -- sizes (a cohort whose next period holds 10 days of data would pull it down); one row per
    -- grain always.
    SELECT
        g.grain,
        NULL::DATE AS cohort,
        TRUE AS is_headline,
        coalesce(sum(p.cohort_size) FILTER (WHERE p.is_complete), 0) AS cohort_size,
        coalesce(sum(p.period1_active) FILTER (WHERE p.is_complete), 0) AS period1_active,
        sum(p.period1_active) FILTER (WHERE p.is_complete)
            / nullif(sum(p.cohort_size) FILTER (WHERE p.is_complete), 0) AS period1_retention,
        coalesce(bool_or(p.is_complete), FALSE) AS is_complete
    FROM (SELECT unnest($grain_names) AS grain) g
    LEFT JOIN period1 p USING (grain)
    GROUP BY g.grain
),
per_cohort AS (
    SELECT
        grain,
        cohort,
        FALSE AS is_headline,
        cohort_size,
        period1_active,
        period1_active / cohort_size AS period1_retention,
        is_complete
    FROM period1
)
SELECT * FROM (SELECT * FROM headline UNION ALL SELECT * FROM per_cohort)
-- Per grain: the headline row first, then cohorts in date order.
ORDER BY list_position($grain_names, grain) NULLS LAST, grain, is_headline DESC, cohort
"""


def build_period1_retention(cohort_retention: Frame) -> pd.DataFrame:
    """``kpi.period1_retention`` (KPI 1): per-cohort index-1 retention plus a headline per grain
    pooled over the cohorts whose period 1 is complete."""
    return run_query(
        _PERIOD1_RETENTION_SQL,
        {"cohort_retention": cohort_retention},
        label_params(),
        schema.KPI_TABLES["period1_retention"],
    )


# --- order-level tables ------------------------------------------------------------------------

_MONTHLY_REVENUE_SQL = f"""
WITH {COMPLETED_CTE},
{DATA_SPAN_CTE},
months AS (
    SELECT
        date_trunc('month', order_purchase_timestamp)::DATE AS month,
        count(*) AS orders,
        count(DISTINCT customer_unique_id) AS customers,
        coalesce(sum(order_revenue), 0)::DECIMAL(18,2) AS revenue
    FROM completed
    GROUP BY 1
),
flagged AS (
    SELECT m.*, {period_is_complete_sql("m.month", "1")} AS is_complete
    FROM months m
    CROSS JOIN data_span
)
SELECT
    month,
    orders,
    customers,
    revenue,
    revenue::DOUBLE / orders AS aov,
    -- Mean over the complete months present (months with a completed order; gaps are not
    -- zero-filled): a partial first or last month would drag it down. The mean of the exact
    -- sums, as a DOUBLE: the same on every run.
    (sum(revenue) FILTER (WHERE is_complete) OVER ())::DOUBLE
        / nullif(count(*) FILTER (WHERE is_complete) OVER (), 0) AS mean_monthly_revenue,
    is_complete
FROM flagged
ORDER BY month
"""


def build_monthly_revenue(lifecycle: Frame, params: MetricParams) -> pd.DataFrame:
    """``kpi.monthly_revenue``: completed orders per purchase month, ``is_complete`` when the data
    covers the whole month; ``mean_monthly_revenue`` averages the complete months."""
    return run_query(
        _MONTHLY_REVENUE_SQL,
        {"lifecycle": lifecycle},
        {**metric_sql_params(params), **span_sql_params(params)},
        schema.KPI_TABLES["monthly_revenue"],
    )


_DELIVERY_VS_REVIEW_SQL = f"""
WITH {COMPLETED_CTE},
buckets AS (
    SELECT
        unnest($bucket_labels) AS delivery_bucket,
        unnest($bucket_orders) AS bucket_order,
        unnest($bucket_lows) AS low
),
bounds AS (
    SELECT *, lead(low) OVER (ORDER BY bucket_order) AS next_low FROM buckets
),
delivered AS (
    SELECT delivery_days, review_score FROM completed WHERE delivery_days IS NOT NULL
),
binned AS (
    -- Bucket by whole days elapsed (floor): 3.9 days is '0-3'. A negative duration (bad clock)
    -- falls in the first bucket rather than nowhere.
    SELECT b.bucket_order, d.review_score
    FROM delivered d
    JOIN bounds b
      ON (floor(d.delivery_days) >= b.low OR b.bucket_order = 1)
     AND (floor(d.delivery_days) < b.next_low OR b.next_low IS NULL)
),
per_bucket AS (
    -- orders: every delivered order in the bucket; the average skips orders without a review.
    SELECT bucket_order, count(*) AS orders, avg(review_score) AS avg_review_score
    FROM binned
    GROUP BY bucket_order
),
pairs AS (
    -- x in whole milliseconds, so every sum below is an exact HUGEINT (DuckDB's corr() adds
    -- DOUBLEs in thread order: the last digits moved between runs of the same input).
    SELECT round(delivery_days * 86400000)::HUGEINT AS x, review_score::HUGEINT AS y
    FROM delivered WHERE review_score IS NOT NULL
),
sums AS (
    SELECT count(*)::HUGEINT AS n, sum(x) AS sx, sum(y) AS sy,
           sum(x * y) AS sxy, sum(x * x) AS sxx, sum(y * y) AS syy
    FROM pairs
),
moments AS (
    -- n^2 times the covariance and the variances, exactly (no cancellation error; a variance of
    -- 0 is exactly 0). Milliseconds keep n * sum(x * x) within HUGEINT at millions of orders.
    SELECT n * sxy - sx * sy AS cov, n * sxx - sx * sx AS vx, n * syy - sy * sy AS vy FROM sums
),
correlation AS (
    -- Pearson over orders with both values, on fractional days (the unit cancels out);
    -- undefined (fewer than two orders, no variance) -> NULL.
    SELECT cov::DOUBLE / nullif(sqrt(vx::DOUBLE * vy::DOUBLE), 0) AS r FROM moments
)
SELECT
    b.delivery_bucket,
    b.bucket_order,
    coalesce(p.orders, 0) AS orders,
    p.avg_review_score,
    CASE WHEN isnan(c.r) THEN NULL ELSE c.r END AS correlation
FROM bounds b
LEFT JOIN per_bucket p USING (bucket_order)
CROSS JOIN correlation c
ORDER BY b.bucket_order
"""


def build_delivery_vs_review(lifecycle: Frame, params: MetricParams) -> pd.DataFrame:
    """``kpi.delivery_vs_review``: completed, delivered orders per delivery-days bucket."""
    sql_params = metric_sql_params(params)
    sql_params["bucket_labels"] = list(schema.DELIVERY_BUCKETS)
    sql_params["bucket_orders"] = list(range(1, len(schema.DELIVERY_BUCKETS) + 1))
    sql_params["bucket_lows"] = _delivery_bucket_lows()
    return run_query(
        _DELIVERY_VS_REVIEW_SQL,
        {"lifecycle": lifecycle},
        sql_params,
        schema.KPI_TABLES["delivery_vs_review"],
    )


# --- channel and city --------------------------------------------------------------------------

_CHANNEL_REVENUE_SQL = """
WITH channels AS (
    SELECT acquisition_channel, count(*) AS customers,
           sum(lifetime_revenue)::DECIMAL(18,2) AS revenue
    FROM customer_360
    GROUP BY acquisition_channel
),
grid AS (
    -- Every value segment under every channel present.
    SELECT c.acquisition_channel, v.value_segment
    FROM channels c
    CROSS JOIN (SELECT unnest($value_segments) AS value_segment) v
),
cells AS (
    SELECT acquisition_channel, value_segment, count(*) AS customers,
           sum(lifetime_revenue)::DECIMAL(18,2) AS revenue
    FROM customer_360
    GROUP BY ALL
),
all_rows AS (
    -- value_segment NULL: the channel total.
    SELECT acquisition_channel, NULL::VARCHAR AS value_segment, customers, revenue FROM channels
    UNION ALL
    SELECT
        acquisition_channel,
        value_segment,
        coalesce(c.customers, 0) AS customers,
        coalesce(c.revenue, 0)::DECIMAL(18,2) AS revenue
    FROM grid
    FULL JOIN cells c USING (acquisition_channel, value_segment)
),
totals AS (
    SELECT count(*) AS all_customers, sum(lifetime_revenue)::DOUBLE AS all_revenue
    FROM customer_360
)
SELECT
    r.acquisition_channel,
    r.value_segment,
    r.customers,
    r.revenue,
    -- Shares of the grand total on both row kinds, so a channel's cells add up to its total.
    r.customers / nullif(t.all_customers, 0) AS customer_share,
    r.revenue::DOUBLE / nullif(t.all_revenue, 0) AS revenue_share,
    r.revenue::DOUBLE / nullif(r.customers, 0) AS revenue_per_customer
FROM all_rows r
CROSS JOIN totals t
ORDER BY
    r.acquisition_channel NULLS LAST,
    r.value_segment IS NOT NULL,
    list_position($value_segments, r.value_segment) NULLS LAST,
    r.value_segment
"""


def build_channel_revenue(customer_360: Frame) -> pd.DataFrame:
    """``kpi.channel_revenue``: per acquisition_channel, and per channel x value_segment."""
    return run_query(
        _CHANNEL_REVENUE_SQL,
        {"customer_360": customer_360},
        label_params(),
        schema.KPI_TABLES["channel_revenue"],
    )


_CITY_CONCENTRATION_SQL = """
WITH cities AS (
    SELECT customer_city, customer_state, count(*) AS customers,
           sum(lifetime_revenue)::DECIMAL(18,2) AS revenue
    FROM customer_360
    GROUP BY ALL
),
ranked AS (
    -- A unique rank: revenue, then customers, then name, so the top N is always N cities.
    SELECT
        *,
        row_number() OVER (
            ORDER BY revenue DESC, customers DESC, customer_city NULLS LAST, customer_state NULLS LAST
        ) AS rank,
        (sum(revenue) OVER ())::DOUBLE AS all_revenue
    FROM cities
)
SELECT
    customer_city,
    customer_state,
    customers,
    revenue,
    revenue::DOUBLE / nullif(all_revenue, 0) AS revenue_share,
    rank,
    rank <= $top_n_cities AS is_top_n,
    (sum(revenue) FILTER (WHERE rank <= $top_n_cities) OVER ())::DOUBLE / nullif(all_revenue, 0)
        AS top_n_revenue_share
FROM ranked
ORDER BY rank
"""


def build_city_concentration(customer_360: Frame, params: MetricParams) -> pd.DataFrame:
    """``kpi.city_concentration``: per (customer_city, customer_state), ranked by revenue."""
    return run_query(
        _CITY_CONCENTRATION_SQL,
        {"customer_360": customer_360},
        metric_sql_params(params),
        schema.KPI_TABLES["city_concentration"],
    )


# --- Wiring conveniences -----------------------------------------------------------------------

KPI_BUILDERS: dict[str, Callable[..., pd.DataFrame]] = {
    "northstar": build_northstar,
    "frequency_distribution": build_frequency_distribution,
    "value_concentration": build_value_concentration,
    "recency_value_pivot": build_recency_value_pivot,
    "lifecycle_revenue": build_lifecycle_revenue,
    "repeat_funnel": build_repeat_funnel,
    "period1_retention": build_period1_retention,
    "monthly_revenue": build_monthly_revenue,
    "delivery_vs_review": build_delivery_vs_review,
    "channel_revenue": build_channel_revenue,
    "city_concentration": build_city_concentration,
    "health_by_value": build_health_by_value,
}

# The customer_360 columns the KPI queries read: the KPI step loads only these (the whole table,
# 27 columns, took 0.33 s at 1M customers).
KPI_CUSTOMER_360_COLUMNS = (
    "total_orders",
    "lifetime_revenue",
    "customer_city",
    "customer_state",
    "acquisition_channel",
    "is_repeat",
    "frequency_tier",
    "value_segment",
    "lifecycle_stage",
)

# The inputs each builder takes, by parameter name, in call order.
KPI_INPUTS: dict[str, tuple[str, ...]] = {
    "northstar": ("customer_360", "lifecycle", "params"),
    "frequency_distribution": ("customer_360",),
    "value_concentration": ("customer_360",),
    "recency_value_pivot": ("customer_360",),
    "lifecycle_revenue": ("customer_360",),
    "repeat_funnel": ("customer_360", "params"),
    "period1_retention": ("cohort_retention",),
    "monthly_revenue": ("lifecycle", "params"),
    "delivery_vs_review": ("lifecycle", "params"),
    "channel_revenue": ("customer_360",),
    "city_concentration": ("customer_360", "params"),
    "health_by_value": ("customer_360",),
}


def build_kpi(name: str, **inputs: object) -> pd.DataFrame:
    """Build one KPI table, picking its inputs (``KPI_INPUTS[name]``) from keyword arguments."""
    missing = [arg for arg in KPI_INPUTS[name] if arg not in inputs]
    if missing:
        raise TypeError(f"kpi {name!r} needs {missing}")
    return KPI_BUILDERS[name](*(inputs[arg] for arg in KPI_INPUTS[name]))


def build_all_kpis(
    customer_360: Frame, lifecycle: Frame, cohort_retention: Frame, params: MetricParams
) -> dict[str, pd.DataFrame]:
    """Every KPI table, by name, in ``schema.KPI_TABLES`` order."""
    inputs = {
        "customer_360": customer_360,
        "lifecycle": lifecycle,
        "cohort_retention": cohort_retention,
        "params": params,
    }
    return {name: build_kpi(name, **inputs) for name in schema.KPI_TABLES}


# --- Headline metrics ----------------------------------------------------------------------------


def _slug(label: object) -> str:
    """'Power User' -> 'power_user', '0-3' -> '0_3', '31+' -> '31_plus'."""
    text = str(label).lower().replace("+", "_plus")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _num(value: object) -> float:
    """A metadata float: NULL/NaN become NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    return float(value)  # type: ignore[arg-type]


def _per_category(df: pd.DataFrame, key: str, columns: tuple[str, ...]) -> dict[str, float]:
    return {
        f"{_slug(row[key])}_{col}": _num(row[col]) for _, row in df.iterrows() for col in columns
    }


def _northstar_headline(df: pd.DataFrame) -> dict[str, float]:
    if df.empty:
        return {}
    row = df.iloc[0]
    return {col: _num(row[col]) for col in df.columns if col != "as_of"}


def _value_concentration_headline(df: pd.DataFrame) -> dict[str, float]:
    out = _per_category(df, "value_segment", ("revenue_share", "customer_share"))
    _, _, high_value, vip = schema.VALUE_SEGMENTS
    top = df[df["value_segment"].isin([high_value, vip])]
    out["high_value_and_vip_revenue_share"] = _num(top["revenue_share"].sum(min_count=1))
    return out


def _recency_value_headline(df: pd.DataFrame) -> dict[str, float]:
    _, _, high_value, vip = schema.VALUE_SEGMENTS
    _, _, at_risk, dormant = schema.LIFECYCLE_STAGES
    slipping = df["value_segment"].isin([high_value, vip]) & df["lifecycle_stage"].isin(
        [at_risk, dormant]
    )
    return {
        "customers": _num(df["customers"].sum()),
        "revenue": _num(df["revenue"].sum()),
        # Lifetime revenue of High Value / VIP customers who are At Risk or Dormant.
        "high_value_revenue_at_risk_or_dormant": _num(df.loc[slipping, "revenue"].sum()),
    }


def _period1_headline(df: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    for _, row in df[df["is_headline"]].iterrows():
        out[f"{row['grain']}_period1_retention"] = _num(row["period1_retention"])
        # The cohorts the headline pools (period 1 complete), not every cohort with an index 1.
        out[f"{row['grain']}_cohorts"] = float(
            (~df["is_headline"] & df["is_complete"] & (df["grain"] == row["grain"])).sum()
        )
    return out


def _monthly_revenue_headline(df: pd.DataFrame) -> dict[str, float]:
    return {
        "mean_monthly_revenue": _num(df["mean_monthly_revenue"].iloc[0]) if len(df) else math.nan,
        "months": float(len(df)),
        "complete_months": float(df["is_complete"].sum()),
        "total_revenue": _num(df["revenue"].sum()),
    }


def _delivery_vs_review_headline(df: pd.DataFrame) -> dict[str, float]:
    out = {
        "correlation": _num(df["correlation"].iloc[0]) if len(df) else math.nan,
        "delivered_orders": _num(df["orders"].sum()),
    }
    out.update(
        {
            f"avg_review_score_{_slug(row['delivery_bucket'])}": _num(row["avg_review_score"])
            for _, row in df.iterrows()
        }
    )
    return out


def _channel_revenue_headline(df: pd.DataFrame) -> dict[str, float]:
    totals = df[df["value_segment"].isna()]
    out = _per_category(totals, "acquisition_channel", ("revenue_share",))
    attributed = totals["acquisition_channel"] != UNATTRIBUTED_CHANNEL
    out["attributed_revenue_share"] = _num(totals.loc[attributed, "revenue_share"].sum(min_count=1))
    out["channels"] = float(len(totals))
    return out


def _city_concentration_headline(df: pd.DataFrame) -> dict[str, float]:
    return {
        "top_n_revenue_share": _num(df["top_n_revenue_share"].iloc[0]) if len(df) else math.nan,
        "top_n_cities": float(df["is_top_n"].sum()),
        "cities": float(len(df)),
    }


def _health_by_value_headline(df: pd.DataFrame) -> dict[str, float]:
    active = schema.LIFECYCLE_STAGES[0]
    rows = df[df["lifecycle_stage"] == active]
    return {
        f"{_slug(row['value_segment'])}_active_share": _num(row["share_within_segment"])
        for _, row in rows.iterrows()
    }


_HEADLINES: dict[str, Callable[[pd.DataFrame], dict[str, float]]] = {
    "northstar": _northstar_headline,
    "frequency_distribution": lambda df: _per_category(
        df, "frequency_tier", ("customer_share", "revenue_share")
    ),
    "value_concentration": _value_concentration_headline,
    "recency_value_pivot": _recency_value_headline,
    "lifecycle_revenue": lambda df: _per_category(
        df, "lifecycle_stage", ("revenue_share", "customer_share")
    ),
    "repeat_funnel": _northstar_headline,  # the single row, every column
    "period1_retention": _period1_headline,
    "monthly_revenue": _monthly_revenue_headline,
    "delivery_vs_review": _delivery_vs_review_headline,
    "channel_revenue": _channel_revenue_headline,
    "city_concentration": _city_concentration_headline,
    "health_by_value": _health_by_value_headline,
}


def headline_metrics(table_name: str, df: pd.DataFrame) -> dict[str, float]:
    """The numbers a KPI materialization shows as metadata (NULL values as NaN).

    Keys are snake_case, e.g. ``active_revenue_share`` for lifecycle_revenue (KPI 3's headline),
    ``quarter_period1_retention`` (KPI 1), ``top_n_revenue_share``, ``correlation``.
    """
    if table_name not in _HEADLINES:
        raise KeyError(f"no headline metrics for {table_name!r}; known: {sorted(_HEADLINES)}")
    return _HEADLINES[table_name](df)
