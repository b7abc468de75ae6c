"""Prediction transforms (issue 19): silver lifecycle + gold customer_360 -> customer predictions,
the churn-risk monitor, the early-warning list and the holdout backtest (docs/predictions.md).

Pure functions, no Dagster. DuckDB computes every per-customer figure (the model summary, the
joins, the bands, the aggregates); numpy/scipy (transforms/clv_model.py) fit the models and
evaluate them on the *distinct* (frequency, recency, age) triples only, which DuckDB joins back to
the customers: the MBG/NBD side never holds a per-customer array, so its memory is bounded by the
number of distinct triples (whole days) rather than by customers or orders; Gamma-Gamma takes two
floats per repeat customer.

Definitions (Fader, Hardie and Lee 2005), in days, on completed orders purchased up to a cut date
(the model's as_of), purchases on the same calendar day counted once (a "purchase day"):

* frequency: purchase days after the first one (repeat purchases);
* recency: days from the first to the last purchase day (0 without a repeat);
* age (T): days from the first purchase day to the cut;
* monetary_value: mean revenue of the repeat purchase days (the first purchase is left out, as
  the Gamma-Gamma model asks); NULL without a repeat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from goodpulse_dagster import schema
from goodpulse_dagster.transforms.clv_model import (
    FitResult,
    GammaGammaParams,
    MbgParams,
    fit_gamma_gamma,
    fit_mbg,
    mbg_expected_purchases,
    mbg_probability_alive,
)
from goodpulse_dagster.transforms.gold import (
    Frame,
    arrow_schema,
    compute_as_of,
    conform_result,
    label_params,
    to_pandas,
)
from goodpulse_dagster.transforms.params import MetricParams
from goodpulse_dagster.transforms.sql import connect

# The horizons of gold.customer_predictions, in days (column names say them).
HORIZONS_DAYS = {"expected_orders_90d": 90, "expected_orders_365d": 365}
CLV_HORIZON = "expected_orders_365d"

_DAYS_SQL = """
CREATE OR REPLACE TEMP TABLE days AS
-- One row per (customer, purchase day) up to $until: same-day orders count once.
SELECT
    customer_unique_id,
    order_purchase_timestamp::DATE AS day,
    coalesce(sum(order_revenue), 0) AS value,
    count(*) AS orders
FROM lifecycle
WHERE list_contains($completed_statuses, order_status)
  AND order_purchase_timestamp::DATE <= $until::DATE
GROUP BY ALL
"""

_SUMMARY_SQL = """
CREATE OR REPLACE TEMP TABLE summary AS
SELECT
    customer_unique_id,
    count(*) - 1 AS frequency,
    date_diff('day', min(day), max(day)) AS recency,
    date_diff('day', min(day), $cut::DATE) AS age,
    -- Repeat days' revenue: all of it minus the first day's (days are distinct per customer).
    CASE WHEN count(*) > 1
         THEN (sum(value) - arg_min(value, day))::DOUBLE / (count(*) - 1) END AS monetary_value,
    sum(value)::DECIMAL(18,2) AS revenue,
    sum(orders) AS orders
FROM days
WHERE day <= $cut::DATE
GROUP BY customer_unique_id
"""

# The columns of the summary, as build_model_summary returns them.
SUMMARY_COLUMNS = {
    "customer_unique_id": schema.VARCHAR,
    "frequency": schema.BIGINT,
    "recency": schema.BIGINT,
    "age": schema.BIGINT,
    "monetary_value": schema.DOUBLE,
    "revenue": schema.MONEY,
    "orders": schema.BIGINT,
}


@dataclass(frozen=True)
class ModelFit:
    """Both models fitted at one cut date. ``spend`` falls back to the population's mean
    purchase-day value (``mean_value``) when Gamma-Gamma was not fitted (fewer repeat customers
    than ``prediction_min_repeat_customers``) or did not converge."""

    cut: date
    purchases: FitResult
    spend: FitResult
    mean_value: float
    spend_fitted: bool = True

    @property
    def mbg(self) -> MbgParams:
        return self.purchases.params  # type: ignore[return-value]

    def metadata(self) -> dict[str, float | bool | str]:
        return {
            **self.purchases.metadata("mbg"),
            **self.spend.metadata("gamma_gamma"),
            "gamma_gamma_fitted": self.spend_fitted,
            "spend_model": "Gamma-Gamma" if self.spend.converged else "population mean",
            "mean_purchase_day_value": self.mean_value,
        }


def _execute(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]):
    """Run ``sql`` with the named parameters it uses (DuckDB rejects unused ones)."""
    used = set(re.findall(r"\$([A-Za-z_]\w*)", sql))
    return con.sql(sql, params={k: v for k, v in params.items() if k in used})


def _create_days(con: duckdb.DuckDBPyConnection, params: MetricParams, until: date) -> None:
    """The ``days`` table: completed purchase days up to ``until``. The churn monitor makes it
    once and summarises it at every date (one scan of the lifecycle, not one per quarter)."""
    _execute(
        con, _DAYS_SQL, {"completed_statuses": list(params.completed_statuses), "until": until}
    )


def _create_summary(
    con: duckdb.DuckDBPyConnection, params: MetricParams, cut: date, days_ready: bool = False
) -> None:
    """The ``summary`` table (the model inputs at ``cut``), from ``days``."""
    if not days_ready:
        _create_days(con, params, cut)
    _execute(con, _SUMMARY_SQL, {"cut": cut})


def build_model_summary(lifecycle: Frame, params: MetricParams, cut: date) -> pd.DataFrame:
    """The per-customer model inputs at ``cut``, sorted by customer (tests and inspection)."""
    con = connect()
    try:
        con.register("lifecycle", lifecycle)
        _create_summary(con, params, cut)
        table = con.sql(
            f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM summary ORDER BY customer_unique_id"
        ).to_arrow_table()
    finally:
        con.close()
    return to_pandas(conform_result(table, SUMMARY_COLUMNS))


def _columns(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, np.ndarray]:
    table = con.sql(sql).to_arrow_table()
    return {name: table.column(name).to_numpy() for name in table.column_names}


def _fit(
    con: duckdb.DuckDBPyConnection,
    cut: date,
    params: MetricParams,
    mbg: MbgParams | None = None,
) -> ModelFit:
    """Fit both models on the ``summary`` table of ``con`` (or take ``mbg`` as given)."""
    # Sorted inputs: the optimiser's float sums then add in the same order on every run, so the
    # same data gives the same parameters bit for bit.
    triples = _columns(
        con, "SELECT frequency, recency, age, count(*) AS n FROM summary GROUP BY ALL ORDER BY ALL"
    )
    if mbg is None:
        purchases = fit_mbg(triples["frequency"], triples["recency"], triples["age"], triples["n"])
    else:
        purchases = FitResult(mbg, float("nan"), True, "given", 0, 0.0, int(triples["n"].sum()))
    repeaters = _columns(
        con, "SELECT frequency, monetary_value FROM summary WHERE frequency > 0 ORDER BY ALL"
    )
    # Spend heterogeneity cannot be estimated from a handful of repeat customers: below the
    # minimum the population mean is used, and said so, rather than a fit on noise.
    usable = int(np.sum(np.nan_to_num(repeaters["monetary_value"], nan=0.0) > 0))
    spend_fitted = usable >= params.prediction_min_repeat_customers
    if spend_fitted:
        spend = fit_gamma_gamma(repeaters["frequency"], repeaters["monetary_value"])
    else:
        message = (
            f"not fitted: {usable} repeat customers with a value, fewer than "
            f"GOODPULSE_PREDICTION_MIN_REPEAT_CUSTOMERS={params.prediction_min_repeat_customers}"
        )
        nan = float("nan")
        spend = FitResult(GammaGammaParams(nan, nan, nan), nan, False, message, 0, 0.0, usable)
    # The fallback spend: revenue per purchase day over every customer's every purchase day.
    mean_value = con.sql(
        "SELECT coalesce(sum(revenue)::DOUBLE / nullif(sum(frequency + 1), 0), 0) FROM summary"
    ).fetchall()[0][0]
    return ModelFit(cut, purchases, spend, float(mean_value), spend_fitted)


def _register_scores(
    con: duckdb.DuckDBPyConnection, fit: ModelFit, horizons: dict[str, float]
) -> None:
    """Register ``scores``: probability_alive and each horizon's expected purchase days per
    distinct (frequency, recency, age), (0, 0, 0) included (a customer with no order yet)."""
    t = _columns(
        con,
        "SELECT frequency, recency, age FROM summary UNION SELECT 0, 0, 0 ORDER BY ALL",
    )
    x, t_x, age = t["frequency"], t["recency"], t["age"]
    columns = {
        "frequency": pa.array(x, pa.int64()),
        "recency": pa.array(t_x, pa.int64()),
        "age": pa.array(age, pa.int64()),
        "probability_alive": pa.array(mbg_probability_alive(fit.mbg, x, t_x, age)),
    }
    for name, days in horizons.items():
        columns[name] = pa.array(mbg_expected_purchases(fit.mbg, days, x, t_x, age))
    con.register("scores", pa.table(columns))


def _spend_params(fit: ModelFit) -> dict[str, object]:
    gg = fit.spend.params
    assert isinstance(gg, GammaGammaParams)
    ok = fit.spend.converged
    # Without a converged fit the SQL takes mean_value; the gg_* must still be bound, so they get
    # harmless finite stand-ins (q - 1 > 0) that no row uses.
    return {
        "gg_ok": ok,
        "gg_p": gg.p if ok else 1.0,
        "gg_q": gg.q if ok else 2.0,
        "gg_v": gg.v if ok else 1.0,
        "mean_value": fit.mean_value,
    }


def _band_params(params: MetricParams) -> dict[str, object]:
    low, medium, high = schema.CHURN_RISK_BANDS
    return {
        "low_risk": low,
        "medium_risk": medium,
        "high_risk": high,
        "high_below": params.churn_high_below,
        "medium_below": params.churn_medium_below,
    }


# churn_risk from probability_alive (thresholds of MetricParams).
_BAND_SQL = """CASE WHEN {p} < $high_below THEN $high_risk
         WHEN {p} < $medium_below THEN $medium_risk
         ELSE $low_risk END"""

_PREDICTIONS_SQL = f"""
WITH scored AS (
    SELECT
        c.customer_unique_id,
        c.value_segment,
        c.lifecycle_stage,
        -- A customer whose first completed order is after the model's as_of (only with an
        -- explicit GOODPULSE_AS_OF before the data's end) is scored as new at as_of.
        coalesce(s.frequency, 0) AS frequency,
        coalesce(s.recency, 0) AS recency,
        coalesce(s.age, 0) AS age_days,
        s.monetary_value,
        sc.probability_alive,
        sc.expected_orders_90d,
        sc.expected_orders_365d,
        -- Gamma-Gamma's conditional expected purchase value (the population mean at x = 0);
        -- the population's mean purchase-day value when the spend model did not converge.
        CASE WHEN $gg_ok
             THEN $gg_p * ($gg_v + coalesce(s.frequency, 0) * coalesce(s.monetary_value, 0))
                  / ($gg_p * coalesce(s.frequency, 0) + $gg_q - 1)
             ELSE $mean_value END AS expected_order_value
    FROM customer_360 c
    LEFT JOIN summary s USING (customer_unique_id)
    JOIN scores sc
      ON sc.frequency = coalesce(s.frequency, 0)
     AND sc.recency = coalesce(s.recency, 0)
     AND sc.age = coalesce(s.age, 0)
)
SELECT
    customer_unique_id,
    value_segment,
    lifecycle_stage,
    frequency,
    recency,
    age_days,
    monetary_value,
    probability_alive,
    expected_orders_90d,
    expected_orders_365d,
    expected_order_value,
    -- NULL, not a failed cast, if the model ever gave a non-finite value: the
    -- expectations_non_negative check then names it.
    CASE WHEN isfinite(expected_orders_365d * expected_order_value)
         THEN (expected_orders_365d * expected_order_value)::DECIMAL(18,2) END
        AS predicted_clv_365d,
    {_BAND_SQL.format(p="probability_alive")} AS churn_risk,
    $as_of::DATE AS model_as_of
FROM scored
"""


@dataclass(frozen=True)
class Predictions:
    table: pa.Table  # gold.customer_predictions (rows in no particular order)
    fit: ModelFit


def build_customer_predictions(
    lifecycle: Frame, customer_360: Frame, params: MetricParams
) -> Predictions:
    """``gold.customer_predictions``: one row per customer of customer_360, the models fitted on
    the completed orders up to as_of."""
    as_of = compute_as_of(lifecycle, params)
    con = connect()
    try:
        con.register("lifecycle", lifecycle)
        con.register("customer_360", customer_360)
        _create_summary(con, params, as_of)
        fit = _fit(con, as_of, params)
        _register_scores(con, fit, HORIZONS_DAYS)
        sql_params = {**_spend_params(fit), **_band_params(params), "as_of": as_of}
        table = _execute(con, _PREDICTIONS_SQL, sql_params).to_arrow_table()
    finally:
        con.close()
    return Predictions(conform_result(table, schema.CUSTOMER_PREDICTIONS_COLUMNS), fit)


# --- kpi.prediction_backtest ---------------------------------------------------------------------

_BACKTEST_SQL = """
WITH holdout AS (
    SELECT
        customer_unique_id,
        count(DISTINCT order_purchase_timestamp::DATE) AS purchase_days,
        count(*) AS orders
    FROM lifecycle
    WHERE list_contains($completed_statuses, order_status)
      AND order_purchase_timestamp::DATE > $cut::DATE
      AND order_purchase_timestamp::DATE <= $holdout_end::DATE
    GROUP BY customer_unique_id
),
baseline AS (
    -- The population's historical repeat rate: repeat purchase days per customer-day observed.
    SELECT sum(frequency)::DOUBLE / nullif(sum(age), 0) AS rate FROM summary
),
per_customer AS (
    -- Calibration customers only: a customer new in the holdout is no prediction's miss.
    SELECT
        coalesce(h.purchase_days, 0) AS actual,
        coalesce(h.orders, 0) AS actual_orders,
        sc.expected_holdout AS model,
        b.rate * $holdout_days AS naive
    FROM summary s
    JOIN scores sc USING (frequency, recency, age)
    LEFT JOIN holdout h USING (customer_unique_id)
    CROSS JOIN baseline b
),
scored AS (
    SELECT $mbg_name AS model, 1 AS model_order, actual, actual_orders, model AS expected
    FROM per_customer
    UNION ALL
    SELECT $naive_name, 2, actual, actual_orders, naive FROM per_customer
)
SELECT
    model,
    $cut::DATE AS calibration_end,
    $holdout_end::DATE AS holdout_end,
    $holdout_days::BIGINT AS holdout_days,
    count(*) AS customers,
    sum(actual_orders)::BIGINT AS actual_orders,
    sum(actual)::BIGINT AS actual_repeat_orders,
    sum(expected) AS expected_repeat_orders,
    (sum(expected) - sum(actual)) / nullif(sum(actual), 0) AS aggregate_error,
    avg(abs(expected - actual)) AS mae,
    sqrt(avg((expected - actual) * (expected - actual))) AS rmse
FROM scored
GROUP BY model, model_order
ORDER BY model_order
"""


@dataclass(frozen=True)
class Backtest:
    table: pd.DataFrame  # kpi.prediction_backtest
    fit: ModelFit


def build_prediction_backtest(
    lifecycle: Frame, params: MetricParams, mbg: MbgParams | None = None
) -> Backtest:
    """``kpi.prediction_backtest``: fitted on completed orders up to as_of minus
    ``params.backtest_holdout_days`` (or ``mbg`` as given), scored on the days after it."""
    holdout_end = compute_as_of(lifecycle, params)
    cut = holdout_end - timedelta(days=params.backtest_holdout_days)
    con = connect()
    try:
        con.register("lifecycle", lifecycle)
        _create_summary(con, params, cut)
        fit = _fit(con, cut, params, mbg)
        _register_scores(con, fit, {"expected_holdout": params.backtest_holdout_days})
        mbg_name, naive_name = schema.PREDICTION_MODELS
        table = _execute(
            con,
            _BACKTEST_SQL,
            {
                "completed_statuses": list(params.completed_statuses),
                "cut": cut,
                "holdout_end": holdout_end,
                "holdout_days": params.backtest_holdout_days,
                "mbg_name": mbg_name,
                "naive_name": naive_name,
            },
        ).to_arrow_table()
    finally:
        con.close()
    columns = schema.PREDICTION_KPI_TABLES["prediction_backtest"]
    return Backtest(to_pandas(conform_result(table, columns)), fit)


# --- kpi.churn_risk_monitor ----------------------------------------------------------------------

_MONITOR_SQL = f"""
WITH cuts AS (
    -- Value segments as of the cut: the p20/p80/p95 of revenue up to that date.
    SELECT quantile_cont(revenue::DOUBLE, $value_quantiles) AS q FROM summary
),
banded AS (
    SELECT
        s.revenue,
        CASE WHEN s.revenue < c.q[1] THEN $low_value
             WHEN s.revenue < c.q[2] THEN $medium_value
             WHEN s.revenue < c.q[3] THEN $high_value
             ELSE $vip END AS value_segment,
        {_BAND_SQL.format(p="sc.probability_alive")} = $high_risk AS is_high_risk
    FROM summary s
    JOIN scores sc USING (frequency, recency, age)
    CROSS JOIN cuts c
),
segments AS (
    SELECT unnest($value_segments) AS value_segment, generate_subscripts($value_segments, 1) AS o
),
per_segment AS (
    SELECT
        value_segment,
        count(*) AS customers,
        sum(revenue) AS revenue,
        count(*) FILTER (WHERE is_high_risk) AS high_risk_customers,
        coalesce(sum(revenue) FILTER (WHERE is_high_risk), 0) AS high_risk_revenue
    FROM banded
    GROUP BY value_segment
)
SELECT
    $cut::DATE AS as_of,
    $is_latest AS is_latest,
    g.value_segment,
    coalesce(p.customers, 0) AS customers,
    coalesce(p.revenue, 0)::DECIMAL(18,2) AS revenue,
    coalesce(p.high_risk_customers, 0) AS high_risk_customers,
    coalesce(p.high_risk_revenue, 0)::DECIMAL(18,2) AS high_risk_revenue,
    p.high_risk_customers / nullif(p.customers, 0) AS high_risk_customer_share,
    p.high_risk_revenue::DOUBLE / nullif(p.revenue, 0)::DOUBLE AS high_risk_revenue_share,
    $converged AS fit_converged
FROM segments g
LEFT JOIN per_segment p USING (value_segment)
ORDER BY g.o
"""


def monitor_dates(lifecycle: Frame, params: MetricParams) -> list[date]:
    """Every quarter end from the first completed order's quarter up to before as_of, then as_of."""
    as_of = compute_as_of(lifecycle, params)
    con = connect()
    try:
        con.register("lifecycle", lifecycle)
        rows = _execute(
            con,
            """
            SELECT unnest(range(
                date_trunc('quarter', min(order_purchase_timestamp)),
                $as_of::DATE,
                INTERVAL 3 MONTH
            )) + INTERVAL 3 MONTH - INTERVAL 1 DAY AS quarter_end
            FROM lifecycle WHERE list_contains($completed_statuses, order_status)
            """,
            {"as_of": as_of, "completed_statuses": list(params.completed_statuses)},
        ).fetchall()
    finally:
        con.close()
    ends = sorted(r[0].date() for r in rows if r[0] is not None and r[0].date() < as_of)
    return [*ends, as_of]


@dataclass(frozen=True)
class Monitor:
    table: pd.DataFrame  # kpi.churn_risk_monitor
    fits: list[ModelFit]
    skipped: list[date]  # dates with fewer repeat customers than the minimum


def build_churn_risk_monitor(lifecycle: Frame, params: MetricParams) -> Monitor:
    """``kpi.churn_risk_monitor``: per monitor date, the model refitted on the orders up to it."""
    dates = monitor_dates(lifecycle, params)
    con = connect()
    frames, fits, skipped = [], [], []
    try:
        con.register("lifecycle", lifecycle)
        _create_days(con, params, dates[-1])
        for cut in dates:  # a handful of quarters: one refit each
            _create_summary(con, params, cut, days_ready=True)
            repeaters = con.sql("SELECT count(*) FROM summary WHERE frequency > 0").fetchall()[0][0]
            if repeaters < params.prediction_min_repeat_customers:
                skipped.append(cut)
                continue
            fit = _fit(con, cut, params)
            _register_scores(con, fit, {})
            sql_params = {
                **label_params(),
                **_band_params(params),
                "value_quantiles": list(params.value_quantiles),
                "cut": cut,
                "is_latest": cut == dates[-1],
                "converged": fit.purchases.converged,
            }
            frames.append(_execute(con, _MONITOR_SQL, sql_params).to_arrow_table())
            fits.append(fit)
            con.unregister("scores")
    finally:
        con.close()
    columns = schema.PREDICTION_KPI_TABLES["churn_risk_monitor"]
    table = pa.concat_tables(frames) if frames else arrow_schema(columns).empty_table()
    return Monitor(to_pandas(conform_result(table, columns)), fits, skipped)


# --- kpi.early_warning ---------------------------------------------------------------------------

_EARLY_WARNING_SQL = """
SELECT
    row_number() OVER (
        ORDER BY p.predicted_clv_365d DESC, p.probability_alive, p.customer_unique_id
    ) AS rank,
    p.customer_unique_id,
    p.value_segment,
    p.lifecycle_stage,
    c.recency_days,
    c.total_orders,
    c.lifetime_revenue,
    p.probability_alive,
    p.expected_orders_365d,
    p.predicted_clv_365d
FROM customer_predictions p
JOIN customer_360 c USING (customer_unique_id)
WHERE p.churn_risk = $high_risk AND p.lifecycle_stage IN ($active, $warm)
ORDER BY rank
"""

# The customer_360 columns early_warning reads.
EARLY_WARNING_CUSTOMER_360_COLUMNS = (
    "customer_unique_id",
    "recency_days",
    "total_orders",
    "lifetime_revenue",
)
# The customer_360 columns customer_predictions reads.
PREDICTIONS_CUSTOMER_360_COLUMNS = ("customer_unique_id", "value_segment", "lifecycle_stage")


def build_early_warning(customer_predictions: Frame, customer_360: Frame) -> pd.DataFrame:
    """``kpi.early_warning``: customers still Active or Warm whose churn risk is High, largest
    predicted CLV first."""
    con = connect()
    try:
        con.register("customer_predictions", customer_predictions)
        con.register("customer_360", customer_360)
        params = {**label_params(), "high_risk": schema.CHURN_RISK_BANDS[-1]}
        table = _execute(con, _EARLY_WARNING_SQL, params).to_arrow_table()
    finally:
        con.close()
    return to_pandas(conform_result(table, schema.PREDICTION_KPI_TABLES["early_warning"]))


# --- Quality rules (checks/predictions.py) -------------------------------------------------------


def _counts(sql: str, frame: Frame) -> dict[str, int]:
    con = connect()
    try:
        con.register("t", frame)
        table = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    return {name: int(table.column(name)[0].as_py() or 0) for name in table.column_names}


def probability_violations(
    frame: Frame, columns: tuple[str, ...], where: str = "TRUE"
) -> dict[str, int]:
    """Per column, the values (of the rows ``where`` holds) that are not a probability: NULL,
    NaN, below 0 or above 1."""
    select = ", ".join(
        f'count(*) FILTER (WHERE "{c}" IS NULL OR isnan("{c}") OR "{c}" < 0 OR "{c}" > 1) AS "{c}"'
        for c in columns
    )
    return _counts(f"SELECT {select} FROM t WHERE {where}", frame)


def non_negative_violations(frame: Frame, columns: tuple[str, ...]) -> dict[str, int]:
    """Per column, the values that are not a finite number >= 0 (NULL included)."""
    select = ", ".join(
        f'count(*) FILTER (WHERE "{c}" IS NULL OR NOT isfinite("{c}"::DOUBLE) OR "{c}" < 0) '
        f'AS "{c}"'
        for c in columns
    )
    return _counts(f"SELECT {select} FROM t", frame)


@dataclass(frozen=True)
class RiskRise:
    """High-risk revenue of the top value segments at the monitor's last two dates."""

    previous_date: date | None
    latest_date: date | None
    previous: float
    latest: float

    @property
    def rise(self) -> float | None:
        """(latest - previous) / previous; infinite from nothing at risk to something; None
        without two dates or with nothing at risk at either."""
        if self.previous_date is None or (self.previous <= 0 and self.latest <= 0):
            return None
        if self.previous <= 0:
            return float("inf")
        return (self.latest - self.previous) / self.previous


TOP_VALUE_SEGMENTS = schema.VALUE_SEGMENTS[2:]  # High Value, VIP


def high_risk_revenue_series(monitor: pd.DataFrame) -> pd.DataFrame:
    """Per monitor date (ascending): High-risk revenue of High Value + VIP customers."""
    top = monitor[monitor["value_segment"].isin(TOP_VALUE_SEGMENTS)]
    series = (
        top.assign(high_risk_revenue=top["high_risk_revenue"].astype(float))
        .groupby("as_of", as_index=False)["high_risk_revenue"]
        .sum()
        .sort_values("as_of")
    )
    return series.reset_index(drop=True)


def high_risk_revenue_rise(monitor: pd.DataFrame) -> RiskRise:
    """The change of High Value + VIP High-risk revenue between the monitor's last two dates."""
    series = high_risk_revenue_series(monitor)
    if len(series) < 2:
        latest = series.iloc[-1] if len(series) else None
        return RiskRise(None, None if latest is None else latest["as_of"], 0.0,
                        0.0 if latest is None else float(latest["high_risk_revenue"]))  # fmt: skip
    prev, last = series.iloc[-2], series.iloc[-1]
    return RiskRise(
        prev["as_of"], last["as_of"], float(prev["high_risk_revenue"]),
        float(last["high_risk_revenue"]),
    )  # fmt: skip
