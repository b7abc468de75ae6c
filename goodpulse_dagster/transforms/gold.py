"""Gold transforms: silver order lifecycle -> customer 360, segmentation, cohorts (METRICS.md).

Pure functions, no Dagster: each takes silver/gold tables (pandas DataFrames or pyarrow Tables,
DuckDB reads both) plus ``MetricParams`` and returns a table whose columns are exactly, and in the
order of, ``schema.GOLD_TABLES[name]`` (the DuckDB IO manager inserts positionally): a pandas
DataFrame for the small tables, an Arrow table for the two customer-grain ones (customer_360,
customer_unified_lifecycle), whose pandas copy cost more than the query at 1M customers.

Output types (``conform_result``): integers int64, DOUBLE float64, money (``schema.MONEY``,
DECIMAL(18,2)) decimal128(18, 2), BOOLEAN bool, VARCHAR string, TIMESTAMP timestamp[us] and DATE
date32. Money sums are exact and cast back to DECIMAL(18,2); shares and averages are DOUBLE
computed from those exact sums, so every run of the same input gives bit-identical tables. A DataFrame is that table's ``to_pandas()`` (money as a decimal128 ArrowDtype column): VARCHAR
object and DATE python ``datetime.date`` objects, so that it lands as a DATE column again in the
warehouse. The small tables' rows come in a fixed order; the two customer-grain tables' rows in
no particular order: sorting a million wide rows by customer_unique_id was 0.6 s of customer_360's
query and 0.35 s of customer_unified_lifecycle's at 1M orders, for an order no reader relies on
(a table has none; read it with ORDER BY).

All set-based work is DuckDB SQL. Every threshold and category label is bound as a named
``$parameter`` from ``MetricParams`` or ``schema``; none is written into the SQL text.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import NamedTuple

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from goodpulse_dagster import schema
from goodpulse_dagster.errors import UserInputError
from goodpulse_dagster.transforms.params import MetricParams

# An input table: DuckDB scans any of these in place (a Parquet dataset reads only the columns a
# query uses).
Frame = pd.DataFrame | pa.Table | ds.Dataset

# RFM scores run 1..5: NTILE(5) for recency and monetary value, least(total_orders, 5) for
# frequency. This is the scale of the score, not a business threshold.
RFM_SCALE = 5

# rfm_segment by (r_score, f_score), transcribed from the METRICS.md code table. Each entry is
# (r_scores, f_scores, segment); together they cover the 25 codes exactly once.
RFM_SEGMENTS: tuple[tuple[tuple[int, ...], tuple[int, ...], str], ...] = (
    ((1, 2), (1, 2), "Hibernating"),
    ((1, 2), (3, 4), "At Risk"),
    ((1, 2), (5,), "Can't Lose Them"),
    ((3,), (1, 2), "About To Sleep"),
    ((3,), (3,), "Need Attention"),
    ((3, 4), (4, 5), "Loyal Customers"),
    ((4,), (1,), "Promising"),
    ((5,), (1,), "New Customers"),
    ((4, 5), (2, 3), "Potential Loyalists"),
    ((5,), (4, 5), "Champions"),
)

# Acquisition labels for customers the marketing funnel cannot explain.
UNKNOWN_CHANNEL = "unknown"  # seller came from the funnel, but its origin / lead type is empty
UNATTRIBUTED_CHANNEL = "unattributed"  # seller (or first item) is not in closed_deals at all

SEGMENT_LABEL_SEPARATOR = " | "

# Cohort grains, in output order, with their length in months.
COHORT_GRAINS: dict[str, int] = {"quarter": 3, "month": 1}

_SQL_TO_ARROW: dict[str, pa.DataType] = {
    schema.VARCHAR: pa.string(),
    schema.DOUBLE: pa.float64(),
    # The brief fixes every integer column to int64, INTEGER included.
    schema.INTEGER: pa.int64(),
    schema.BIGINT: pa.int64(),
    schema.TIMESTAMP: pa.timestamp("us"),
    schema.DATE: pa.date32(),
    "BOOLEAN": pa.bool_(),
    # Money: exact, decimal128(18, 2) (a pandas ArrowDtype column in the DataFrames).
    schema.MONEY: pa.decimal128(18, 2),
}


# --- Shared helpers (also used by kpi.py) --------------------------------------------------------


def arrow_schema(columns: Mapping[str, str]) -> pa.Schema:
    """Arrow schema of a table spec from ``schema`` (column name -> DuckDB type)."""
    return pa.schema([(name, _SQL_TO_ARROW[sql_type]) for name, sql_type in columns.items()])


def conform_result(table: pa.Table, columns: Mapping[str, str]) -> pa.Table:
    """Cast a query result to the spec's types, checking it has the spec's columns in order."""
    expected = list(columns)
    if table.column_names != expected:
        raise ValueError(f"query returned columns {table.column_names}, expected {expected}")
    return table.cast(arrow_schema(columns))


def label_params() -> dict[str, object]:
    """Named SQL parameters for category labels and orders (from ``schema``), no thresholds."""
    one_time, regular, power_user = schema.FREQUENCY_TIERS
    low_value, medium_value, high_value, vip = schema.VALUE_SEGMENTS
    active, warm, at_risk, dormant = schema.LIFECYCLE_STAGES
    return {
        "one_time": one_time,
        "regular": regular,
        "power_user": power_user,
        "low_value": low_value,
        "medium_value": medium_value,
        "high_value": high_value,
        "vip": vip,
        "active": active,
        "warm": warm,
        "at_risk": at_risk,
        "dormant": dormant,
        "frequency_tiers": list(schema.FREQUENCY_TIERS),
        "value_segments": list(schema.VALUE_SEGMENTS),
        "lifecycle_stages": list(schema.LIFECYCLE_STAGES),
        "unknown": UNKNOWN_CHANNEL,
        "unattributed": UNATTRIBUTED_CHANNEL,
        "label_separator": SEGMENT_LABEL_SEPARATOR,
        "grain_names": list(COHORT_GRAINS),
        "grain_months": list(COHORT_GRAINS.values()),
        "rfm_scale": RFM_SCALE,
    }


def metric_sql_params(params: MetricParams) -> dict[str, object]:
    """Every named SQL parameter a transform may use; ``run_query`` passes only those it uses."""
    active_days, warm_days, at_risk_days = params.lifecycle_days
    return {
        **label_params(),
        "completed_statuses": list(params.completed_statuses),
        "regular_min_orders": params.regular_min_orders,
        "power_user_min_orders": params.power_user_min_orders,
        "value_quantiles": list(params.value_quantiles),
        "active_days": active_days,
        "warm_days": warm_days,
        "at_risk_days": at_risk_days,
        "top_n_cities": params.top_n_cities,
    }


_DATABASE: duckdb.DuckDBPyConnection | None = None
_DATABASE_LOCK = threading.Lock()


def _database() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process; opening a fresh database costs ~30 ms per query."""
    global _DATABASE
    with _DATABASE_LOCK:
        if _DATABASE is None:
            _DATABASE = duckdb.connect(":memory:")
        return _DATABASE


@contextmanager
def _connection(tables: Mapping[str, Frame]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A private cursor with ``tables`` registered under their names.

    Registered tables are local to the cursor, so concurrent calls (threads) cannot see each
    other's inputs, and closing the cursor drops them. No transform creates a persistent table.
    """
    con = _database().cursor()
    try:
        for name, table in tables.items():
            con.register(name, table)
        yield con
    finally:
        con.close()


def _used_params(sql: str, params: Mapping[str, object]) -> dict[str, object]:
    """DuckDB rejects named parameters a statement does not use: keep those written ``$name``."""
    used = set(re.findall(r"\$([A-Za-z_]\w*)", sql))
    return {k: v for k, v in params.items() if k in used}


def run_query_arrow(
    sql: str,
    tables: Mapping[str, Frame],
    params: Mapping[str, object],
    columns: Mapping[str, str],
) -> pa.Table:
    """Run one DuckDB query over the given tables and return it shaped as ``columns``, as Arrow
    (the customer-grain tables: no pandas copy of a million rows of 32-character ids)."""
    with _connection(tables) as con:
        result = con.sql(sql, params=_used_params(sql, params)).to_arrow_table()
    return conform_result(result, columns)


def run_query(
    sql: str,
    tables: Mapping[str, Frame],
    params: Mapping[str, object],
    columns: Mapping[str, str],
) -> pd.DataFrame:
    """Run one DuckDB query over the given tables and return it shaped as ``columns``."""
    # date32 -> datetime.date objects (pyarrow's default), timestamp[us] stays microseconds;
    # money stays exact: a decimal128(18, 2) ArrowDtype column, which the warehouse stores as
    # DECIMAL(18,2) (Decimal objects in an object column would be stored with a guessed width).
    return to_pandas(run_query_arrow(sql, tables, params, columns))


def _money_dtype(arrow_type: pa.DataType) -> pd.ArrowDtype | None:
    return pd.ArrowDtype(arrow_type) if pa.types.is_decimal(arrow_type) else None


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """A result table as the DataFrame the transforms return: money as a decimal128 ArrowDtype
    column (exact, and stored as DECIMAL(18,2)), everything else as pyarrow's defaults."""
    return table.to_pandas(types_mapper=_money_dtype)


def scalar_query(sql: str, tables: Mapping[str, Frame], params: Mapping[str, object]) -> object:
    """First column of the first row of a query (``None`` when it returns no row)."""
    with _connection(tables) as con:
        row = con.execute(sql, _used_params(sql, params)).fetchone()
    return None if row is None else row[0]


# Completed orders only: every customer, revenue and retention figure counts these (METRICS.md).
COMPLETED_CTE = """
completed AS NOT MATERIALIZED (
    -- Not materialized: the queries read it more than once, and a materialized copy holds every
    -- column of every completed order (2.3 s of customer_360's 5.4 s at 1M orders); inlined,
    -- each use reads only the columns it needs.
    SELECT * FROM lifecycle WHERE list_contains($completed_statuses, order_status)
)"""


# --- complete periods ----------------------------------------------------------------------------

# The days the data covers, for deciding which periods are complete (docs/metric_decisions.md
# "Complete periods"): from the first purchase date of a completed order to the last one, cut at
# an explicit as_of. Completed orders, because every period series (monthly revenue, cohorts)
# counts only those: the newest orders of an export are not delivered yet, so a month after the
# last completed purchase holds a handful of orders however many were placed. A derived as_of is
# the last purchase date of any status (never earlier), so ``$as_of`` is bound to the explicit one
# only (NULL otherwise; least() skips NULLs). Reads the ``completed`` CTE (COMPLETED_CTE).
DATA_SPAN_CTE = """
data_span AS (
    SELECT
        min(order_purchase_timestamp)::DATE AS first_day,
        least(max(order_purchase_timestamp)::DATE, $as_of::DATE) AS last_day
    FROM completed
)"""


def period_is_complete_sql(period: str, months: str) -> str:
    """The one SQL definition of a complete period, joined with ``data_span`` (DATA_SPAN_CTE).

    The period starting on the DATE ``period`` and lasting ``months`` months is complete when the
    data covers its first and its last day: it starts on or after the first completed purchase
    date and ends on or before the last one (cut at as_of). A month in which the data starts on the 4th, or ends on the
    17th, is partial: its revenue or retention would read as a collapse. FALSE, never NULL, when
    there is no data."""
    return (
        f"coalesce({period} >= data_span.first_day "
        f"AND ({period} + to_months({months}))::DATE <= data_span.last_day + 1, FALSE)"
    )


def span_sql_params(params: MetricParams) -> dict[str, object]:
    """The named parameter DATA_SPAN_CTE takes: the explicit as_of, or NULL."""
    return {"as_of": params.as_of}


# --- as_of -------------------------------------------------------------------------------------


def compute_as_of(lifecycle: Frame, params: MetricParams) -> date | None:
    """The reference date: ``params.as_of`` if set, else the date of the latest purchase timestamp
    among ALL orders (any status). ``None`` only when there are no orders and no override.

    A derived date is refused (``UserInputError``, ``as_of_outliers``) when the latest purchases
    are a tiny share of orders far after all the others: a mistyped year would otherwise move
    as_of years ahead and make nearly every customer Dormant, with every check green.
    """
    if params.as_of is not None:
        return params.as_of
    latest = scalar_query(
        "SELECT max(order_purchase_timestamp)::DATE FROM lifecycle", {"lifecycle": lifecycle}, {}
    )
    outliers = as_of_outliers(lifecycle, params)
    if outliers is not None:
        raise UserInputError(outliers.message())
    return latest  # type: ignore[return-value]


# How many outlying orders the as_of error names (the count is always given).
AS_OF_OUTLIERS_NAMED = 10

_AS_OF_GAP_SQL = """
WITH purchases AS (
    SELECT order_id, order_purchase_timestamp AS ts
    FROM lifecycle WHERE order_purchase_timestamp IS NOT NULL
),
gaps AS (
    SELECT
        ts,
        lag(ts) OVER w AS previous_ts,
        epoch(ts - lag(ts) OVER w) / 86400.0 AS gap_days,
        -- Orders from this one to the end (this one included), and all orders.
        count(*) OVER (w ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS tail,
        count(*) OVER () AS total
    FROM purchases
    WINDOW w AS (ORDER BY ts, order_id)
)
-- The earliest gap after which the orders are a tiny share: it holds every outlying order.
SELECT ts, previous_ts, gap_days, tail, total FROM gaps
WHERE gap_days > $max_gap_days AND tail <= $max_share * total
ORDER BY ts
LIMIT 1
"""


class AsOfOutliers(NamedTuple):
    """Orders whose purchase times lie after a long gap at the end of the data."""

    orders: list[tuple[str, object]]  # (order_id, purchase timestamp), the first few
    count: int
    total: int
    gap_days: float
    previous_purchase: object
    max_gap_days: int
    max_share: float

    def message(self) -> str:
        named = ", ".join(f"{oid} (purchased {ts:%Y-%m-%d %H:%M:%S})" for oid, ts in self.orders)
        more = f" and {self.count - len(self.orders)} more" if self.count > len(self.orders) else ""
        first_date = f"{self.orders[0][1]:%Y-%m-%d}"
        return (
            f"The reference date (as_of) cannot be derived from the orders: {self.count} of "
            f"{self.total} orders ({self.count / self.total:.3%}) were purchased after a gap of "
            f"{self.gap_days:.0f} days (more than GOODPULSE_AS_OF_MAX_GAP_DAYS={self.max_gap_days}"
            f"; at most GOODPULSE_AS_OF_OUTLIER_MAX_SHARE={self.max_share} of the orders) since "
            f"the previous purchase on {self.previous_purchase:%Y-%m-%d}: order {named}{more}. "
            f"A mistyped date would make as_of {first_date} or later and nearly every customer "
            "Dormant. Fix the purchase date in the orders export, or set GOODPULSE_AS_OF="
            "YYYY-MM-DD (the analytics settings' as_of) to the reference date you mean."
        )


def as_of_outliers(lifecycle: Frame, params: MetricParams) -> AsOfOutliers | None:
    """The orders that would wrongly decide a derived as_of, or None (docs/metric_decisions.md).

    Purchase times (all orders, any status) are sorted; the earliest gap of more than
    ``params.as_of_max_gap_days`` after which at most ``params.as_of_outlier_max_share`` of all
    orders remain marks those remaining orders as outliers. A share of 0 turns the rule off.
    """
    sql_params = {
        "max_gap_days": params.as_of_max_gap_days,
        "max_share": params.as_of_outlier_max_share,
    }
    with _connection({"lifecycle": lifecycle}) as con:
        row = con.execute(_AS_OF_GAP_SQL, sql_params).fetchall()
        if not row:
            return None
        start, previous, gap_days, tail, total = row[0]
        named = con.execute(
            "SELECT order_id, order_purchase_timestamp FROM lifecycle "
            "WHERE order_purchase_timestamp >= $start "
            "ORDER BY order_purchase_timestamp, order_id LIMIT $n",
            {"start": start, "n": AS_OF_OUTLIERS_NAMED},
        ).fetchall()
    return AsOfOutliers(
        orders=[(oid, ts) for oid, ts in named],
        count=int(tail),
        total=int(total),
        gap_days=float(gap_days),
        previous_purchase=previous,
        max_gap_days=params.as_of_max_gap_days,
        max_share=params.as_of_outlier_max_share,
    )


# --- customer_360 and customer_unified_lifecycle -------------------------------------------------


def rfm_code_table() -> pa.Table:
    """The 25 (r_score, f_score) -> rfm_segment rows of ``RFM_SEGMENTS``, joined in SQL."""
    rows = [(r, f, seg) for rs, fs, seg in RFM_SEGMENTS for r in rs for f in fs]
    return pa.table(
        {
            "r_score": pa.array([r for r, _, _ in rows], pa.int64()),
            "f_score": pa.array([f for _, f, _ in rows], pa.int64()),
            "rfm_segment": pa.array([s for _, _, s in rows], pa.string()),
        }
    )


_CUSTOMER_TABLES_SQL = f"""
WITH {COMPLETED_CTE},
first_orders AS (
    -- A customer's first completed order: earliest purchase time, ties broken by the lowest
    -- order_id. Only the columns read of it: the window sorts what it carries (0.5 s at 1M orders
    -- for these, 1.2 s for every column; arg_min over a struct was slower still, 1.9 s).
    SELECT customer_unique_id, order_id, order_purchase_timestamp, first_item_seller_id,
           first_item_category, payment_type
    FROM completed
    QUALIFY row_number() OVER (
        PARTITION BY customer_unique_id ORDER BY order_purchase_timestamp, order_id
    ) = 1
),
latest_orders AS (
    -- The latest completed order decides city/state: latest purchase time, ties: highest order_id.
    SELECT customer_unique_id, customer_city, customer_state FROM completed
    QUALIFY row_number() OVER (
        PARTITION BY customer_unique_id
        ORDER BY order_purchase_timestamp DESC, order_id DESC
    ) = 1
),
totals AS (
    SELECT
        customer_unique_id,
        min(order_purchase_timestamp) AS first_order_at,
        max(order_purchase_timestamp) AS last_order_at,
        count(*) AS total_orders,
        -- An order with no revenue at all (no payments, no items) adds 0 rather than NULL.
        -- Money is exact: the DECIMAL(38,2) sum cast back to DECIMAL(18,2).
        coalesce(sum(order_revenue), 0)::DECIMAL(18,2) AS lifetime_revenue,
        coalesce(sum(item_count), 0)::BIGINT AS total_items,
        -- Month of the purchase time, derived here so it cannot disagree with the timestamp.
        count(DISTINCT date_trunc('month', order_purchase_timestamp)) AS active_months,
        -- avg() skips NULLs: orders without a review / without a delivery date do not count.
        avg(review_score) AS avg_review_score,
        -- Averaged from an exact sum (whole microseconds, HUGEINT): a DOUBLE sum depends on the
        -- order DuckDB's threads add in, and the same input must give the same table.
        sum(round(delivery_days * 86400000000)::HUGEINT)::DOUBLE
            / nullif(count(delivery_days), 0) / 86400000000 AS avg_delivery_days
    FROM completed
    GROUP BY customer_unique_id
),
deals AS (
    -- One deal per seller: a seller closed twice keeps its earliest won deal (then lowest mql_id).
    SELECT seller_id, mql_id, lead_type FROM closed_deals
    WHERE seller_id IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY seller_id ORDER BY won_date NULLS LAST, mql_id) = 1
),
seller_states AS (
    -- Sellers are unique in silver; the DISTINCT ON keeps this join 1:1 even if they were not.
    SELECT DISTINCT ON (seller_id) seller_id, seller_state FROM sellers ORDER BY seller_id, seller_state
),
first_order_context AS (
    -- The funnel is seller-side: attribute a customer to the lead that became the seller of item
    -- line 1 of their first completed order. The rest is customer_unified_lifecycle's context.
    SELECT
        f.customer_unique_id,
        CASE WHEN d.seller_id IS NULL THEN $unattributed
             ELSE coalesce(nullif(trim(l.origin), ''), $unknown) END AS acquisition_channel,
        CASE WHEN d.seller_id IS NULL THEN $unattributed
             ELSE coalesce(nullif(trim(d.lead_type), ''), $unknown) END AS acquisition_lead_type,
        date_trunc('quarter', f.order_purchase_timestamp)::DATE AS cohort_quarter,
        date_trunc('month', f.order_purchase_timestamp)::DATE AS cohort_month,
        f.order_id AS first_order_id,
        f.first_item_category AS first_category,
        f.payment_type AS first_payment_type,
        s.seller_state AS first_seller_state
    FROM first_orders f
    LEFT JOIN deals d ON d.seller_id = f.first_item_seller_id
    LEFT JOIN leads l ON l.mql_id = d.mql_id
    LEFT JOIN seller_states s ON s.seller_id = f.first_item_seller_id
),
rfm_ranks AS (
    -- On the three columns they order by: a window sorts every column it carries (ranking the
    -- whole customer row sorted ~30 columns of a million customers, twice).
    SELECT
        customer_unique_id,
        -- Oldest first, so the most recent fifth gets the top score (recency_days is as_of
        -- minus the date of the last order: the same order as that date, ascending).
        ntile($rfm_scale) OVER (ORDER BY last_order_at::DATE, customer_unique_id) AS r_score,
        ntile($rfm_scale) OVER (ORDER BY lifetime_revenue, customer_unique_id) AS m_score
    FROM totals
),
measured AS (
    SELECT
        t.*,
        -- Whole days between dates (not timestamps): an order on as_of has recency 0.
        date_diff('day', t.first_order_at::DATE, $as_of::DATE) AS tenure_days,
        date_diff('day', t.last_order_at::DATE, $as_of::DATE) AS recency_days,
        lo.customer_city,
        lo.customer_state,
        r.r_score,
        r.m_score,
        fc.* EXCLUDE (customer_unique_id)
    FROM totals t
    JOIN latest_orders lo USING (customer_unique_id)
    JOIN first_order_context fc USING (customer_unique_id)
    JOIN rfm_ranks r USING (customer_unique_id)
),
cuts AS (
    -- value_segment cut points: p20/p80/p95 of lifetime revenue over all customers, interpolated.
    -- Interpolated in DOUBLE (a DECIMAL quantile would round the cut to the cent); the input is
    -- exact, so the cut points are the same on every run.
    SELECT quantile_cont(lifetime_revenue::DOUBLE, $value_quantiles) AS q FROM totals
),
classified AS (
    SELECT
        m.*,
        m.total_orders >= $regular_min_orders AS is_repeat,
        CASE WHEN m.total_orders >= $power_user_min_orders THEN $power_user
             WHEN m.total_orders >= $regular_min_orders THEN $regular
             ELSE $one_time END AS frequency_tier,
        -- Each segment's lower cut point is inclusive: Low < p20 <= Medium < p80 <= High < p95 <= VIP.
        CASE WHEN m.lifetime_revenue < c.q[1] THEN $low_value
             WHEN m.lifetime_revenue < c.q[2] THEN $medium_value
             WHEN m.lifetime_revenue < c.q[3] THEN $high_value
             ELSE $vip END AS value_segment,
        CASE WHEN m.recency_days <= $active_days THEN $active
             WHEN m.recency_days <= $warm_days THEN $warm
             WHEN m.recency_days <= $at_risk_days THEN $at_risk
             ELSE $dormant END AS lifecycle_stage,
        least(m.total_orders, $rfm_scale) AS f_score
    FROM measured m
    CROSS JOIN cuts c
)
SELECT
    c.customer_unique_id,
    c.first_order_at,
    c.last_order_at,
    c.total_orders,
    c.lifetime_revenue,
    c.lifetime_revenue::DOUBLE / c.total_orders AS avg_order_value,
    c.total_items,
    c.total_items / c.total_orders AS avg_basket_quantity,
    c.tenure_days,
    c.recency_days,
    c.active_months,
    c.avg_review_score,
    c.avg_delivery_days,
    c.customer_city,
    c.customer_state,
    c.acquisition_channel,
    c.acquisition_lead_type,
    c.is_repeat,
    c.value_segment IN ($high_value, $vip) AS is_high_value,
    c.frequency_tier,
    c.value_segment,
    c.lifecycle_stage,
    c.r_score,
    c.f_score,
    c.m_score,
    rfm.rfm_segment,
    concat_ws($label_separator, c.lifecycle_stage, c.value_segment, c.frequency_tier)
        AS segment_label,
    -- customer_unified_lifecycle's columns beyond customer_360's.
    c.cohort_quarter,
    c.cohort_month,
    c.first_order_id,
    c.first_category,
    c.first_payment_type,
    c.first_seller_state
FROM classified c
LEFT JOIN rfm_codes rfm ON rfm.r_score = c.r_score AND rfm.f_score = c.f_score
"""


class CustomerTables(NamedTuple):
    """The two customer-grain gold tables, from one query (Arrow)."""

    customer_360: pa.Table
    customer_unified_lifecycle: pa.Table


def build_customer_tables(
    lifecycle: Frame, closed_deals: Frame, leads: Frame, sellers: Frame, params: MetricParams
) -> CustomerTables:
    """``gold.customer_360`` (one row per customer with at least one completed order) and
    ``gold.customer_unified_lifecycle`` (customer_360 plus cohorts and first-order context).

    One query computes the unified rows and customer_360 is their first columns: as two queries,
    the second recomputed every customer's first order and re-read customer_360 from the
    warehouse (1.1-1.2 s and ~0.15 s at 1M customers).
    """
    sql_params = metric_sql_params(params)
    sql_params["as_of"] = compute_as_of(lifecycle, params)
    unified = run_query_arrow(
        _CUSTOMER_TABLES_SQL,
        {
            "lifecycle": lifecycle,
            "closed_deals": closed_deals,
            "leads": leads,
            "sellers": sellers,
            "rfm_codes": rfm_code_table(),
        },
        sql_params,
        schema.CUSTOMER_UNIFIED_LIFECYCLE_COLUMNS,
    )
    return CustomerTables(unified.select(list(schema.CUSTOMER_360_COLUMNS)), unified)


# --- customer_segmentation -----------------------------------------------------------------------

# The customer_360 columns the segmentation reads (its asset loads only these).
SEGMENTATION_INPUT_COLUMNS = (
    "segment_label",
    "lifecycle_stage",
    "value_segment",
    "frequency_tier",
    "lifetime_revenue",
)

_CUSTOMER_SEGMENTATION_SQL = """
WITH segments AS (
    SELECT
        segment_label,
        lifecycle_stage,
        value_segment,
        frequency_tier,
        count(*) AS customers,
        sum(lifetime_revenue)::DECIMAL(18,2) AS revenue
    FROM customer_360
    GROUP BY ALL
)
SELECT
    segment_label,
    lifecycle_stage,
    value_segment,
    frequency_tier,
    customers,
    revenue,
    -- NULL rather than a division by zero when nobody has any revenue.
    revenue::DOUBLE / nullif(sum(revenue) OVER (), 0)::DOUBLE AS revenue_share,
    revenue::DOUBLE / customers AS revenue_per_customer
FROM segments
ORDER BY
    list_position($lifecycle_stages, lifecycle_stage),
    list_position($value_segments, value_segment),
    list_position($frequency_tiers, frequency_tier),
    segment_label
"""


def build_customer_segmentation(customer_360: Frame) -> pd.DataFrame:
    """``gold.customer_segmentation``: one row per segment_label, in category order."""
    return run_query(
        _CUSTOMER_SEGMENTATION_SQL,
        {"customer_360": customer_360},
        label_params(),
        schema.CUSTOMER_SEGMENTATION_COLUMNS,
    )


# --- cohort_retention ----------------------------------------------------------------------------

_COHORT_RETENTION_SQL = f"""
WITH {COMPLETED_CTE},
{DATA_SPAN_CTE},
grains AS (
    SELECT unnest($grain_names) AS grain, unnest($grain_months) AS months
),
activity AS (
    -- One row per (grain, customer, period) in which the customer had a completed order.
    SELECT DISTINCT
        g.grain,
        o.customer_unique_id,
        date_trunc(g.grain, o.order_purchase_timestamp)::DATE AS period
    FROM completed o
    CROSS JOIN grains g
),
cohorts AS (
    -- A customer's cohort is the period of their first completed order.
    SELECT grain, customer_unique_id, min(period) AS cohort FROM activity GROUP BY ALL
),
sizes AS (
    SELECT grain, cohort, count(*) AS cohort_size FROM cohorts GROUP BY ALL
),
last_periods AS (
    SELECT grain, max(period) AS last_period FROM activity GROUP BY grain
),
active AS (
    SELECT
        a.grain,
        c.cohort,
        date_diff(a.grain, c.cohort, a.period) AS period_index,
        count(*) AS active_customers
    FROM activity a
    JOIN cohorts c USING (grain, customer_unique_id)
    GROUP BY ALL
),
grid AS (
    -- Every index from 0 to the last period in the data, so a quiet period is a 0, not a gap.
    SELECT
        s.grain,
        g.months,
        s.cohort,
        s.cohort_size,
        unnest(range(0, date_diff(s.grain, s.cohort, l.last_period) + 1)) AS period_index
    FROM sizes s
    JOIN last_periods l USING (grain)
    JOIN grains g USING (grain)
),
cells AS (
    SELECT *, (cohort + to_months(period_index * months))::DATE AS period FROM grid
)
SELECT
    g.grain,
    g.cohort,
    g.period_index,
    g.period,
    g.cohort_size,
    coalesce(a.active_customers, 0) AS active_customers,
    coalesce(a.active_customers, 0) / g.cohort_size AS retention_rate,
    -- A rate of a period the data does not fully cover is kept (the count is what it is) but
    -- flagged: the report leaves it out of the heatmap and the period-1 headline.
    {period_is_complete_sql("g.period", "g.months")} AS is_complete
FROM cells g
CROSS JOIN data_span
LEFT JOIN active a USING (grain, cohort, period_index)
ORDER BY list_position($grain_names, g.grain), g.cohort, g.period_index
"""


def build_cohort_retention(lifecycle: Frame, params: MetricParams) -> pd.DataFrame:
    """``gold.cohort_retention``: (grain, cohort, period_index) rows for quarter and month, each
    flagged ``is_complete`` when the data covers the whole period (``period_is_complete_sql``)."""
    return run_query(
        _COHORT_RETENTION_SQL,
        {"lifecycle": lifecycle},
        {**metric_sql_params(params), **span_sql_params(params)},
        schema.COHORT_RETENTION_COLUMNS,
    )
