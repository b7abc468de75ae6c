"""Prediction transforms (issue 19): silver lifecycle + gold customer_360 -> customer predictions,
the churn-risk monitor, the early-warning list and the holdout backtest (docs/predictions.md).

Pure functions, no Dagster. DuckDB computes every per-customer figure (the model summary, the
joins, the bands, the aggregates); numpy/scipy (predictions/clv_model.py) fit the models and
evaluate them on the *distinct* (frequency, recency, age) triples only, which DuckDB joins back to
the customers: the MBG/NBD side never holds a per-customer array, so its memory is bounded by the
number of distinct triples (whole days) rather than by customers or orders; Gamma-Gamma takes two
floats per repeat customer.

Each SQL step is a model file: ``models/gold/customer_predictions__<step>.sql`` (the purchase
days, the summary, the fit inputs), ``models/gold/customer_predictions.sql`` and
``models/kpi/<table>.sql`` for the backtest, the monitor and the early-warning list. The steps of
one build share an engine ``Session``: a step's result is a temporary table the next one reads.

Definitions (Fader, Hardie and Lee 2005), in days, on completed orders purchased up to a cut date
(the model's as_of), purchases on the same calendar day counted once (a "purchase day"):

* frequency: purchase days after the first one (repeat purchases);
* recency: days from the first to the last purchase day (0 without a repeat);
* age (T): days from the first purchase day to the cut;
* monetary_value: mean revenue of the repeat purchase days (the first purchase is left out, as
  the Gamma-Gamma model asks); NULL without a repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from goodpulse_dagster import schema
from goodpulse_dagster.engine import Input as Frame
from goodpulse_dagster.engine import Session, arrow_schema, run_model, run_sql, session, to_pandas
from goodpulse_dagster.gold.as_of import compute_as_of
from goodpulse_dagster.params import MetricParams
from goodpulse_dagster.predictions.clv_model import (
    FitResult,
    GammaGammaParams,
    MbgParams,
    fit_gamma_gamma,
    fit_mbg,
    mbg_expected_purchases,
    mbg_probability_alive,
)
from goodpulse_dagster.sql_params import label_params

# The horizons of gold.customer_predictions, in days (column names say them).
HORIZONS_DAYS = {"expected_orders_90d": 90, "expected_orders_365d": 365}
CLV_HORIZON = "expected_orders_365d"

# The steps of the prediction builds (models/gold/customer_predictions__<step>.sql).
DAYS = "gold/customer_predictions__days"
SUMMARY = "gold/customer_predictions__summary"
FIT_TRIPLES = "gold/customer_predictions__fit_triples"
FIT_REPEATERS = "gold/customer_predictions__fit_repeaters"
MEAN_VALUE = "gold/customer_predictions__mean_value"
SCORE_KEYS = "gold/customer_predictions__score_keys"

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


def create_days(s: Session, params: MetricParams, until: date) -> None:
    """The ``days`` table: completed purchase days up to ``until``. The churn monitor makes it
    once and summarises it at every date (one scan of the lifecycle, not one per quarter)."""
    s.materialize(DAYS, {"completed_statuses": list(params.completed_statuses), "until": until})


def create_summary(s: Session, params: MetricParams, cut: date, days_ready: bool = False) -> None:
    """The ``summary`` table (the model inputs at ``cut``), from ``days``."""
    if not days_ready:
        create_days(s, params, cut)
    s.materialize(SUMMARY, {"cut": cut})


def build_model_summary(lifecycle: Frame, params: MetricParams, cut: date) -> pd.DataFrame:
    """The per-customer model inputs at ``cut``, sorted by customer (tests and inspection)."""
    with session({"lifecycle": lifecycle}) as s:
        create_days(s, params, cut)
        table = s.run(SUMMARY, {"cut": cut}, SUMMARY_COLUMNS)
    return to_pandas(table.sort_by("customer_unique_id"))


def _columns(s: Session, model: str) -> dict[str, np.ndarray]:
    """A step model's result as numpy columns (the fit's inputs)."""
    table = s.run(model)
    return {name: table.column(name).to_numpy() for name in table.column_names}


def fit_model(
    s: Session,
    cut: date,
    params: MetricParams,
    mbg: MbgParams | None = None,
) -> ModelFit:
    """Fit both models on the ``summary`` table of ``s`` (or take ``mbg`` as given)."""
    # Sorted inputs (the fit_* models): the optimiser's float sums then add in the same order on
    # every run, so the same data gives the same parameters bit for bit.
    triples = _columns(s, FIT_TRIPLES)
    if mbg is None:
        purchases = fit_mbg(triples["frequency"], triples["recency"], triples["age"], triples["n"])
    else:
        purchases = FitResult(mbg, float("nan"), True, "given", 0, 0.0, int(triples["n"].sum()))
    repeaters = _columns(s, FIT_REPEATERS)
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
    mean_value = s.run(MEAN_VALUE).column("mean_value")[0].as_py()
    return ModelFit(cut, purchases, spend, float(mean_value), spend_fitted)


def register_scores(s: Session, fit: ModelFit, horizons: dict[str, float]) -> None:
    """Register ``scores``: probability_alive and each horizon's expected purchase days per
    distinct (frequency, recency, age), (0, 0, 0) included (a customer with no order yet)."""
    t = _columns(s, SCORE_KEYS)
    x, t_x, age = t["frequency"], t["recency"], t["age"]
    columns = {
        "frequency": pa.array(x, pa.int64()),
        "recency": pa.array(t_x, pa.int64()),
        "age": pa.array(age, pa.int64()),
        "probability_alive": pa.array(mbg_probability_alive(fit.mbg, x, t_x, age)),
    }
    for name, days in horizons.items():
        columns[name] = pa.array(mbg_expected_purchases(fit.mbg, days, x, t_x, age))
    s.register("scores", pa.table(columns))


def spend_params(fit: ModelFit) -> dict[str, object]:
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


def band_params(params: MetricParams) -> dict[str, object]:
    low, medium, high = schema.CHURN_RISK_BANDS
    return {
        "low_risk": low,
        "medium_risk": medium,
        "high_risk": high,
        "high_below": params.churn_high_below,
        "medium_below": params.churn_medium_below,
    }


@dataclass(frozen=True)
class Predictions:
    table: pa.Table  # gold.customer_predictions (rows in no particular order)
    fit: ModelFit


PREDICTIONS_MODEL = "gold/customer_predictions"


def _customer_predictions(lifecycle: Frame, customer_360: Frame, params: MetricParams, write):
    """Fit the models on the completed orders up to as_of and score every customer of
    customer_360; ``write(session, sql_params)`` runs the scoring model (to Arrow, or into a
    table). (what ``write`` returned, the fit)."""
    as_of = compute_as_of(lifecycle, params)
    with session({"lifecycle": lifecycle, "customer_360": customer_360}) as s:
        create_summary(s, params, as_of)
        fit = fit_model(s, as_of, params)
        register_scores(s, fit, HORIZONS_DAYS)
        sql_params = {**spend_params(fit), **band_params(params), "as_of": as_of}
        return write(s, sql_params), fit


def build_customer_predictions(
    lifecycle: Frame, customer_360: Frame, params: MetricParams
) -> Predictions:
    """``gold.customer_predictions``: one row per customer of customer_360, the models fitted on
    the completed orders up to as_of."""
    table, fit = _customer_predictions(
        lifecycle,
        customer_360,
        params,
        lambda s, p: s.run(PREDICTIONS_MODEL, p, schema.CUSTOMER_PREDICTIONS_COLUMNS),
    )
    return Predictions(table, fit)


def create_customer_predictions(
    lifecycle: Frame, customer_360: Frame, params: MetricParams
) -> tuple[int, ModelFit]:
    """``build_customer_predictions`` written as ``gold.customer_predictions`` of the database
    the engine runs in (the warehouse), without the table passing through Python; its rows and
    the fit."""
    target = f"{schema.GOLD}.customer_predictions"
    return _customer_predictions(
        lifecycle,
        customer_360,
        params,
        lambda s, p: s.create_table(
            PREDICTIONS_MODEL, target, p, schema.CUSTOMER_PREDICTIONS_COLUMNS
        ),
    )


# --- kpi.prediction_backtest ---------------------------------------------------------------------


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
    mbg_name, naive_name = schema.PREDICTION_MODELS
    sql_params = {
        "completed_statuses": list(params.completed_statuses),
        "cut": cut,
        "holdout_end": holdout_end,
        "holdout_days": params.backtest_holdout_days,
        "mbg_name": mbg_name,
        "naive_name": naive_name,
    }
    with session({"lifecycle": lifecycle}) as s:
        create_summary(s, params, cut)
        fit = fit_model(s, cut, params, mbg)
        register_scores(s, fit, {"expected_holdout": params.backtest_holdout_days})
        table = s.run(
            "kpi/prediction_backtest",
            sql_params,
            schema.PREDICTION_KPI_TABLES["prediction_backtest"],
        )
    return Backtest(to_pandas(table), fit)


# --- kpi.churn_risk_monitor ----------------------------------------------------------------------


def monitor_dates(lifecycle: Frame, params: MetricParams) -> list[date]:
    """Every quarter end from the first completed order's quarter up to before as_of, then as_of."""
    as_of = compute_as_of(lifecycle, params)
    quarter_ends = run_model(
        "kpi/churn_risk_monitor__dates",
        {"lifecycle": lifecycle},
        {"as_of": as_of, "completed_statuses": list(params.completed_statuses)},
    ).column("quarter_end")
    ends = sorted(t.date() for t in quarter_ends.to_pylist() if t is not None and t.date() < as_of)
    return [*ends, as_of]


@dataclass(frozen=True)
class Monitor:
    table: pd.DataFrame | pa.Table  # kpi.churn_risk_monitor
    fits: list[ModelFit]
    skipped: list[date]  # dates with fewer repeat customers than the minimum


def churn_risk_monitor_rows(s, params: MetricParams, dates: list[date]) -> Monitor:
    """The monitor's rows from session ``s`` (an ``engine.Session``, or ``spark.runner.SparkSteps``
    with the same methods) over ``lifecycle``: per date of ``dates``, the model refitted on the
    orders up to it. ``Monitor.table`` is an Arrow table here."""
    columns = schema.PREDICTION_KPI_TABLES["churn_risk_monitor"]
    frames, fits, skipped = [], [], []
    create_days(s, params, dates[-1])
    for cut in dates:  # a handful of quarters: one refit each
        create_summary(s, params, cut, days_ready=True)
        if s.run(FIT_REPEATERS).num_rows < params.prediction_min_repeat_customers:
            skipped.append(cut)
            continue
        fit = fit_model(s, cut, params)
        register_scores(s, fit, {})
        sql_params = {
            **label_params(),
            **band_params(params),
            "value_quantiles": list(params.value_quantiles),
            "cut": cut,
            "is_latest": cut == dates[-1],
            "converged": fit.purchases.converged,
        }
        frames.append(s.run("kpi/churn_risk_monitor", sql_params, columns))
        fits.append(fit)
        s.unregister("scores")
    table = pa.concat_tables(frames) if frames else arrow_schema(columns).empty_table()
    return Monitor(table, fits, skipped)


def build_churn_risk_monitor(lifecycle: Frame, params: MetricParams) -> Monitor:
    """``kpi.churn_risk_monitor``: per monitor date, the model refitted on the orders up to it."""
    dates = monitor_dates(lifecycle, params)
    with session({"lifecycle": lifecycle}) as s:
        monitor = churn_risk_monitor_rows(s, params, dates)
    return Monitor(to_pandas(monitor.table), monitor.fits, monitor.skipped)


# --- kpi.early_warning ---------------------------------------------------------------------------

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
    table = run_model(
        "kpi/early_warning",
        {"customer_predictions": customer_predictions, "customer_360": customer_360},
        {**label_params(), "high_risk": schema.CHURN_RISK_BANDS[-1]},
        schema.PREDICTION_KPI_TABLES["early_warning"],
    )
    return to_pandas(table)


# --- Quality rules (predictions/checks.py) -------------------------------------------------------


def _counts(sql: str, frame: Frame) -> dict[str, int]:
    table = run_sql(sql, {"t": frame})
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
