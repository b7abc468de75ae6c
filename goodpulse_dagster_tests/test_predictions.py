"""Predictions (issue 19): the model summary, the MBG/NBD and Gamma-Gamma models, the backtest,
the churn monitor, the early-warning list, their checks and the report section.

Reference values come from outside the code under test: the paper's closed forms evaluated here
with ``math.lgamma`` one customer at a time; figures printed by ``lifetimes`` 0.11.3
(``ModifiedBetaGeoFitter`` / ``GammaGammaFitter`` with the same parameters set by hand); and
populations simulated from known parameters.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from goodpulse_dagster import schema
from goodpulse_dagster.params import MetricParams
from goodpulse_dagster.predictions import transforms as P
from goodpulse_dagster.predictions.clv_model import (
    GammaGammaParams,
    MbgParams,
    fit_gamma_gamma,
    fit_mbg,
    gamma_gamma_expected_value,
    gamma_gamma_log_likelihood,
    mbg_expected_purchases,
    mbg_log_likelihood,
    mbg_probability_alive,
    simulate_mbg,
)
from goodpulse_dagster.report import (
    prediction_chart_markdown,
    prediction_section_markdown,
)
from goodpulse_dagster.resources.storage import AnalyticsSettings

# --- a hand-made lifecycle ---------------------------------------------------------------------
# cut 2018-06-30. A: two orders on 2018-01-01 (one purchase day, 150), 02-15 (30), 03-17 (70.50),
# a canceled order (not counted) and one after the cut (07-05). B: one order at 23:59 on the cut
# day. C: two orders on one day. D: only after the cut. E: 2017-12-31 and the cut day; two orders
# on 07-10 after it. C buys again on 08-31 (the backtest's last holdout day).
CUT = date(2018, 6, 30)
_ROWS = [
    ("a1", "A", "delivered", "2018-01-01 10:00", "100.00"),
    ("a2", "A", "delivered", "2018-01-01 18:00", "50.00"),
    ("a3", "A", "delivered", "2018-02-15 09:00", "30.00"),
    ("a4", "A", "delivered", "2018-03-17 12:00", "70.50"),
    ("a5", "A", "canceled", "2018-04-01 12:00", "999.00"),
    ("a6", "A", "delivered", "2018-07-05 12:00", "40.00"),
    ("b1", "B", "delivered", "2018-06-30 23:59", "20.00"),
    ("c1", "C", "delivered", "2018-05-01 08:00", "10.00"),
    ("c2", "C", "delivered", "2018-05-01 20:00", "15.00"),
    ("c3", "C", "delivered", "2018-08-31 20:00", "15.00"),
    ("d1", "D", "delivered", "2018-08-01 10:00", "60.00"),
    ("e1", "E", "delivered", "2017-12-31 10:00", "200.00"),
    ("e2", "E", "delivered", "2018-06-30 10:00", "100.00"),
    ("e3", "E", "delivered", "2018-07-10 10:00", "5.00"),
    ("e4", "E", "delivered", "2018-07-10 11:00", "5.00"),
]


def _lifecycle(rows=_ROWS) -> pa.Table:
    return pa.table(
        {
            "order_id": [r[0] for r in rows],
            "customer_unique_id": [r[1] for r in rows],
            "order_status": [r[2] for r in rows],
            "order_purchase_timestamp": pa.array(
                [datetime.fromisoformat(r[3]) for r in rows], pa.timestamp("us")
            ),
            "order_revenue": pa.array([Decimal(r[4]) for r in rows], pa.decimal128(18, 2)),
        }
    )


def test_summary_frequency_recency_age_monetary_by_hand():
    s = P.build_model_summary(_lifecycle(), MetricParams(), CUT).set_index("customer_unique_id")
    # D has no order up to the cut.
    assert list(s.index) == ["A", "B", "C", "E"]
    # A: purchase days 01-01, 02-15, 03-17 -> 2 repeats; 03-17 is 31 + 28 + 16 = 75 days after
    # 01-01; the cut 181 - 1 = 180 days; repeat days' mean (30 + 70.50) / 2.
    assert s.loc["A", ["frequency", "recency", "age"]].tolist() == [2, 75, 180]
    assert s.loc["A", "monetary_value"] == 50.25
    assert s.loc["A", "revenue"] == Decimal("250.50") and s.loc["A", "orders"] == 4
    # B bought on the cut day itself: age 0.
    assert s.loc["B", ["frequency", "recency", "age"]].tolist() == [0, 0, 0]
    assert pd.isna(s.loc["B", "monetary_value"])
    # C: two orders on one day are one purchase day; 05-01 -> 06-30 is 30 + 30 = 60 days.
    assert s.loc["C", ["frequency", "recency", "age", "orders"]].tolist() == [0, 0, 60, 2]
    assert s.loc["C", "revenue"] == Decimal("25.00")
    # E: 2017-12-31 -> 2018-06-30 is 181 days, the repeat day is worth 100.
    assert s.loc["E", ["frequency", "recency", "age"]].tolist() == [1, 181, 181]
    assert s.loc["E", "monetary_value"] == 100.0


# --- the likelihoods, against independent evaluations ---------------------------------------------

MBG = MbgParams(r=0.8, alpha=40.0, a=0.7, b=2.5)
X = np.array([0, 0, 1, 3, 7])
TX = np.array([0.0, 0.0, 20.0, 150.0, 300.0])
T = np.array([0.0, 100.0, 60.0, 200.0, 365.0])


def _mbg_closed_form(r, alpha, a, b, x, t_x, T) -> float:
    """Batislam et al. (2007), eq. for L(r, alpha, a, b | x, t_x, T), one customer, no logs
    shared with the code under test (math.lgamma, then exp)."""
    beta_ratio = math.exp(
        math.lgamma(a) + math.lgamma(b + x + 1) - math.lgamma(a + b + x + 1)
        - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    )  # fmt: skip
    gamma_part = math.exp(math.lgamma(r + x) - math.lgamma(r)) * alpha**r
    bracket = (alpha + T) ** -(r + x) + a / (b + x) * (alpha + t_x) ** -(r + x)
    return math.log(gamma_part * beta_ratio * bracket)


def test_mbg_likelihood_equals_the_closed_form_and_lifetimes():
    ll = mbg_log_likelihood(MBG, X, TX, T)
    by_hand = [_mbg_closed_form(0.8, 40.0, 0.7, 2.5, *row) for row in zip(X, TX, T, strict=True)]
    assert ll == pytest.approx(by_hand, rel=1e-12)
    # A customer who bought once, today, is certain to be seen as they are: likelihood 1.
    assert ll[0] == pytest.approx(0.0, abs=1e-12)
    # lifetimes 0.11.3, ModifiedBetaGeoFitter._negative_log_likelihood at the same parameters.
    lifetimes_ll = [0.0, -0.6821652227508802, -5.583996584212365, -16.905190634619885,
                    -36.68846537242997]  # fmt: skip
    assert ll == pytest.approx(lifetimes_ll, rel=1e-9, abs=1e-12)
    assert ll.sum() == pytest.approx(-59.8598178140131, rel=1e-12)


def test_probability_alive_and_expected_purchases_match_lifetimes():
    # P(alive) at (0, 0, 0) is 1 / (1 + a / b) = 2.5 / 3.2: MBG lets a one-time buyer drop out.
    p_alive = mbg_probability_alive(MBG, X, TX, T)
    assert p_alive[0] == pytest.approx(2.5 / 3.2, rel=1e-12)
    assert p_alive == pytest.approx(
        [0.78125, 0.56727832, 0.6659562, 0.76381074, 0.77615935], rel=1e-7
    )
    expected = mbg_expected_purchases(MBG, 90, X, TX, T)
    assert expected == pytest.approx(
        [1.10840025, 0.26800671, 0.9371336, 1.00529196, 1.27054496], rel=1e-7
    )


@pytest.mark.parametrize("params", [MbgParams(0.6, 30.0, 0.7, 1.5), MbgParams(1.2, 80.0, 2.5, 4.0)])
def test_expected_purchases_match_a_simulated_population(params):
    # Customers observed 200 days with no repeat (x = 0): the mean of their simulated purchases
    # in the next 90 days is the conditional expectation, for a < 1 and a > 1 alike.
    rng = np.random.default_rng(11)
    x, _, holdout = simulate_mbg(params, np.full(400_000, 200.0), 90.0, rng)
    group = holdout[x == 0]
    tolerance = 4 * group.std() / math.sqrt(len(group))
    expected = mbg_expected_purchases(params, 90.0, np.zeros(1), np.zeros(1), np.full(1, 200.0))
    assert abs(group.mean() - expected[0]) < tolerance


def test_gamma_gamma_likelihood_and_expected_value():
    gg = GammaGammaParams(p=6.0, q=3.5, v=15.0)
    x, m = np.array([1, 2, 5]), np.array([20.0, 35.5, 12.25])
    # The density of the mean of x Gamma(p, nu) values, nu ~ Gamma(q, v), one customer at a time.
    by_hand = [
        math.lgamma(6 * xi + 3.5) - math.lgamma(6 * xi) - math.lgamma(3.5) + 3.5 * math.log(15)
        + (6 * xi - 1) * math.log(mi) + 6 * xi * math.log(xi) - (6 * xi + 3.5) * math.log(xi * mi + 15)
        for xi, mi in zip(x, m, strict=True)
    ]  # fmt: skip
    assert gamma_gamma_log_likelihood(gg, x, m) == pytest.approx(by_hand, rel=1e-12)
    assert gamma_gamma_log_likelihood(gg, x, m).sum() == pytest.approx(-11.689655189801059)
    # 6 (15 + 20) / (6 + 2.5) = 210 / 8.5; and x = 0 gives the population mean 6 * 15 / 2.5.
    assert gamma_gamma_expected_value(gg, x, m) == pytest.approx(
        [210 / 8.5, 35.5862069, 14.07692308]
    )
    assert gamma_gamma_expected_value(gg, np.zeros(1), np.full(1, np.nan)) == pytest.approx([36.0])


# --- fits recover known parameters ---------------------------------------------------------------


def test_mbg_fit_recovers_simulated_parameters_within_10_percent():
    true = MbgParams(r=0.8, alpha=120.0, a=0.9, b=0.6)
    rng = np.random.default_rng(3)
    ages = rng.integers(0, 730, 200_000).astype(float)
    x, t_x, _ = simulate_mbg(true, ages, 0.0, rng)
    t_x = np.floor(t_x)  # whole days, as the SQL summary has them
    keys, counts = np.unique(np.stack([x, t_x, ages], 1), axis=0, return_counts=True)
    fit = fit_mbg(keys[:, 0], keys[:, 1], keys[:, 2], counts)
    assert fit.converged and fit.customers == 200_000
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fit.params, name) == pytest.approx(getattr(true, name), rel=0.10), name
    # The compressed fit is the per-customer fit: same likelihood, weighted.
    per_customer = mbg_log_likelihood(fit.params, x, t_x, ages).sum()
    assert fit.log_likelihood == pytest.approx(per_customer, rel=1e-9)


def test_gamma_gamma_fit_recovers_simulated_parameters_within_15_percent():
    true = GammaGammaParams(p=4.0, q=5.0, v=300.0)
    rng = np.random.default_rng(5)
    n = 60_000
    x = rng.integers(1, 8, n).astype(float)
    nu = rng.gamma(true.q, 1.0 / true.v, n)
    # The mean of x Gamma(p, nu) purchase values is Gamma(p x, x nu).
    m = rng.gamma(true.p * x, 1.0 / (x * nu))
    fit = fit_gamma_gamma(x, m)
    assert fit.converged
    for name in ("p", "q", "v"):
        assert getattr(fit.params, name) == pytest.approx(getattr(true, name), rel=0.15), name


# --- the backtest on the hand-made lifecycle -----------------------------------------------------


def test_backtest_figures_by_hand():
    # as_of 2018-08-31, 62 holdout days: the cut is 2018-06-30 (the summary above).
    params = MetricParams(as_of=date(2018, 8, 31), backtest_holdout_days=62)
    result = P.build_prediction_backtest(_lifecycle(), params, mbg=MBG)
    bt = result.table.set_index("model")
    assert list(bt.index) == list(schema.PREDICTION_MODELS)
    assert (bt["calibration_end"] == CUT).all() and (bt["holdout_end"] == date(2018, 8, 31)).all()
    # Calibration customers A, B, C, E (D arrived in the holdout and is no one's miss). Holdout:
    # A 07-05 (1 day), C 08-31 (the last day counts: 1), E two orders on 07-10 (1 day, 2 orders).
    assert (bt["customers"] == 4).all()
    assert (bt["actual_orders"] == 4).all() and (bt["actual_repeat_orders"] == 3).all()
    actual = np.array([1, 0, 1, 1])  # A, B, C, E
    # Baseline: 3 repeat days over 180 + 0 + 60 + 181 = 421 customer-days, times 62 days each.
    naive = bt.loc["Naive baseline"]
    assert naive["expected_repeat_orders"] == pytest.approx(4 * 62 * 3 / 421)
    assert naive["aggregate_error"] == pytest.approx((744 / 421 - 3) / 3)
    assert naive["mae"] == pytest.approx((3 * 235 + 186) / (4 * 421))
    assert naive["rmse"] == pytest.approx(math.sqrt((3 * 235**2 + 186**2) / (4 * 421**2)))
    # The model: its expectation for each customer's (x, t_x, T) over 62 days.
    expected = mbg_expected_purchases(
        MBG, 62, np.array([2, 0, 0, 1]), np.array([75, 0, 0, 181]), np.array([180, 0, 60, 181])
    )
    model = bt.loc["MBG/NBD"]
    assert model["expected_repeat_orders"] == pytest.approx(expected.sum())
    assert model["mae"] == pytest.approx(np.abs(expected - actual).mean())
    assert model["rmse"] == pytest.approx(math.sqrt(((expected - actual) ** 2).mean()))


# --- customer predictions, the monitor and the early-warning list ---------------------------------


def _customer_360() -> pa.Table:
    return pa.table(
        {
            "customer_unique_id": ["A", "B", "C", "D", "E"],
            "value_segment": ["VIP", "Low Value", "Low Value", "Medium Value", "High Value"],
            "lifecycle_stage": ["Warm", "Active", "Active", "Active", "Active"],
            "recency_days": pa.array([105, 0, 60, -32, 0], pa.int64()),
            "total_orders": pa.array([4, 1, 2, 1, 2], pa.int64()),
            "lifetime_revenue": pa.array(
                [Decimal(v) for v in ("250.50", "20.00", "25.00", "60.00", "300.00")],
                pa.decimal128(18, 2),
            ),
        }
    )


def test_customer_predictions_follow_the_fit_and_the_bands():
    params = MetricParams(as_of=CUT, churn_high_below=0.3, churn_medium_below=0.6)
    result = P.build_customer_predictions(_lifecycle(), _customer_360(), params)
    df = result.table.to_pandas().set_index("customer_unique_id").sort_index()
    assert list(df.index) == ["A", "B", "C", "D", "E"]
    assert list(result.table.column_names) == list(schema.CUSTOMER_PREDICTIONS_COLUMNS)
    assert (df["model_as_of"] == CUT).all()
    # D's only order is after the model's as_of: scored as a customer new at as_of.
    assert df.loc["D", ["frequency", "recency", "age_days"]].tolist() == [0, 0, 0]
    fit = result.fit.mbg
    x, t_x, age = (df[c].to_numpy() for c in ("frequency", "recency", "age_days"))
    assert df["probability_alive"].to_numpy() == pytest.approx(
        mbg_probability_alive(fit, x, t_x, age), rel=1e-12
    )
    assert df["expected_orders_365d"].to_numpy() == pytest.approx(
        mbg_expected_purchases(fit, 365, x, t_x, age), rel=1e-12
    )
    bands = np.select(
        [df["probability_alive"] < 0.3, df["probability_alive"] < 0.6], ["High", "Medium"], "Low"
    )
    assert df["churn_risk"].tolist() == bands.tolist()
    # Two repeat customers are too few for Gamma-Gamma (minimum 20): every customer gets the
    # population's revenue per purchase day, 595.50 over 3 + 1 + 1 + 2 = 7 days.
    assert not result.fit.spend_fitted
    assert df["expected_order_value"].tolist() == pytest.approx([595.5 / 7] * 5)
    clv = (df["expected_orders_365d"] * df["expected_order_value"]).round(2)
    assert df["predicted_clv_365d"].astype(float).to_numpy() == pytest.approx(clv.to_numpy())


def test_churn_monitor_dates_segments_and_skips():
    params = MetricParams(as_of=date(2018, 8, 31), prediction_min_repeat_customers=1)
    assert P.monitor_dates(_lifecycle(), params) == [
        date(2017, 12, 31), date(2018, 3, 31), date(2018, 6, 30), date(2018, 8, 31)
    ]  # fmt: skip
    monitor = P.build_churn_risk_monitor(_lifecycle(), params)
    # 2017-12-31: only E, no repeat customer yet: left out.
    assert monitor.skipped == [date(2017, 12, 31)]
    t = monitor.table
    assert sorted(set(t["as_of"])) == [date(2018, 3, 31), date(2018, 6, 30), date(2018, 8, 31)]
    assert t["is_latest"].tolist() == [False] * 8 + [True] * 4
    q1 = t[t["as_of"] == date(2018, 3, 31)].set_index("value_segment")
    # At 2018-03-31: A 250.50 and E 200; p20 = 210.10, p95 = 247.975: E Low Value, A VIP.
    assert q1["customers"].tolist() == [1, 0, 0, 1]
    assert q1.loc["VIP", "revenue"] == Decimal("250.50")
    assert q1.loc["Low Value", "revenue"] == Decimal("200.00")
    # Each customer's band from that date's own fit: A (2, 75, 89), E (0, 0, 90).
    fit = monitor.fits[0].mbg
    p = mbg_probability_alive(fit, np.array([2, 0]), np.array([75, 0]), np.array([89, 90]))
    assert q1.loc["VIP", "high_risk_customers"] == int(p[0] < params.churn_high_below)
    assert q1.loc["Low Value", "high_risk_customers"] == int(p[1] < params.churn_high_below)
    assert pd.isna(q1.loc["High Value", "high_risk_customer_share"])


def test_early_warning_is_active_or_warm_high_risk_by_clv():
    predictions = pa.table(
        {
            "customer_unique_id": ["A", "B", "C", "E"],
            "value_segment": ["VIP", "Low Value", "Low Value", "High Value"],
            "lifecycle_stage": ["Warm", "Active", "At Risk", "Active"],
            "probability_alive": [0.1, 0.2, 0.05, 0.9],
            "expected_orders_365d": [0.5, 0.1, 0.0, 2.0],
            "predicted_clv_365d": pa.array(
                [Decimal("30.00"), Decimal("40.00"), Decimal("1.00"), Decimal("99.00")],
                pa.decimal128(18, 2),
            ),
            "churn_risk": ["High", "High", "High", "Low"],
        }
    )
    ew = P.build_early_warning(predictions, _customer_360())
    # C is At Risk already and E is Low risk: A and B remain, B's larger CLV first.
    assert ew["customer_unique_id"].tolist() == ["B", "A"]
    assert ew["rank"].tolist() == [1, 2]
    assert ew["total_orders"].tolist() == [1, 4]
    assert ew["lifetime_revenue"].tolist() == [Decimal("20.00"), Decimal("250.50")]


# --- the rising-risk WARN and the report section ----------------------------------------------------


def _monitor(values: dict[date, tuple[float, float]]) -> pd.DataFrame:
    """High Value and VIP high-risk revenue per date (Low and Medium get 1,000 each, ignored)."""
    rows = []
    for d, (high, vip) in values.items():
        for segment, revenue in zip(
            schema.VALUE_SEGMENTS, (1000.0, 1000.0, high, vip), strict=True
        ):
            rows.append(
                {"as_of": d, "is_latest": False, "value_segment": segment, "customers": 10,
                 "revenue": 2 * revenue, "high_risk_customers": 5, "high_risk_revenue": revenue,
                 "high_risk_customer_share": 0.5, "high_risk_revenue_share": 0.5,
                 "fit_converged": True}
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_rising_high_value_risk_warns_above_the_setting():
    from goodpulse_dagster.predictions.checks import churn_risk_not_rising

    frame = _monitor({date(2018, 3, 31): (100.0, 50.0), date(2018, 6, 30): (120.0, 60.0)})
    rise = P.high_risk_revenue_rise(frame)
    assert rise.rise == pytest.approx(0.2)  # 150 -> 180
    warned = churn_risk_not_rising(frame, AnalyticsSettings(churn_rise_warn_share=0.15))
    assert not warned.passed and warned.severity.value == "WARN"
    assert "20.0%" in warned.description
    assert churn_risk_not_rising(frame, AnalyticsSettings(churn_rise_warn_share=0.25)).passed


def _backtest(model_mae: float, model_rmse: float, model_expected: float) -> pd.DataFrame:
    common = {"calibration_end": CUT, "holdout_end": date(2018, 12, 27), "holdout_days": 180,
              "customers": 1000, "actual_orders": 60, "actual_repeat_orders": 50}  # fmt: skip
    return pd.DataFrame(
        [
            {**common, "model": "MBG/NBD", "expected_repeat_orders": model_expected,
             "aggregate_error": (model_expected - 50) / 50, "mae": model_mae, "rmse": model_rmse},
            {**common, "model": "Naive baseline", "expected_repeat_orders": 80.0,
             "aggregate_error": 0.6, "mae": 0.09, "rmse": 0.3},
        ]
    )  # fmt: skip


def test_report_section_is_written_from_the_tables():
    monitor = _monitor({date(2018, 3, 31): (100.0, 50.0), date(2018, 6, 30): (120.0, 60.0)})
    ew = pd.DataFrame(
        {"customer_unique_id": ["A", "B", "C"], "value_segment": ["VIP", "VIP", "Low Value"],
         "predicted_clv_365d": [30.0, 20.0, 1.5], "lifetime_revenue": [500.0, 400.0, 10.0]}
    )  # fmt: skip
    good = prediction_section_markdown(_backtest(0.05, 0.2, 55.0), monitor, ew)
    assert "made 50 repeat purchase days (60 orders); the model expected 55.0 (+10.0%)" in good
    assert (
        "the naive baseline (everyone repeats at the population's historical rate) 80.0 (+60.0%)"
        in good
    )
    assert "The model beats the baseline on every measure" in good
    # 150 -> 180 over the two dates; 150 / 300 = 50% of those segments' revenue.
    assert "from R$ 150.00 on 2018-03-31 to R$ 180.00 on 2018-06-30 (50.0% then 50.0%" in good
    assert "Since 2018-03-31: +20.0%." in good
    assert "3 customers are still Active or Warm but at High churn risk" in good
    assert "R$ 51.50 of predicted 365-day value" in good
    assert "Low Value 1 (R$ 1.50), VIP 2 (R$ 50.00)" in good
    # A model worse on every measure is said to be so.
    bad = prediction_section_markdown(_backtest(0.2, 0.5, 100.0), monitor, ew)
    assert "The model does **not** beat the naive baseline" in bad
    mixed = prediction_section_markdown(_backtest(0.05, 0.5, 55.0), monitor, ew)
    assert "but **not** on per-customer RMSE" in mixed
    # RMSE 0.2985 against 0.3: within 1% of the baseline's, a tie rather than a win.
    tied = prediction_section_markdown(_backtest(0.05, 0.2985, 55.0), monitor, ew)
    assert (
        "The model beats the baseline on per-customer MAE, aggregate error; tied (within 1%) on "
        "per-customer RMSE (MAE 0.0500 vs 0.0900, RMSE 0.2985 vs 0.3000)."
    ) in tied
    strict = prediction_section_markdown(_backtest(0.05, 0.2985, 55.0), monitor, ew, tie_share=0)
    assert "The model beats the baseline on every measure" in strict
    for name, frame in [("prediction_backtest", _backtest(0.05, 0.2, 55.0)),
                        ("churn_risk_monitor", monitor), ("early_warning", ew)]:  # fmt: skip
        chart = prediction_chart_markdown(name, frame)
        assert chart.startswith("![") and "data:image/svg+xml;base64," in chart
    assert prediction_chart_markdown("early_warning", ew.iloc[0:0]) is None


def test_the_churn_trend_says_so_when_nothing_or_nothing_before_was_at_risk():
    ew = pd.DataFrame(columns=["customer_unique_id", "value_segment", "predicted_clv_365d",
                               "lifetime_revenue"])  # fmt: skip
    none = _monitor({date(2018, 3, 31): (0.0, 0.0), date(2018, 6, 30): (0.0, 0.0)})
    text = prediction_section_markdown(_backtest(0.05, 0.2, 55.0), none, ew)
    assert (
        "No High Value or VIP customer was at High churn risk on any of the 2 monitor dates "
        "(2018-03-31 to 2018-06-30)."
    ) in text
    assert "R$ 0.00" not in text and "n/a" not in text
    from_zero = _monitor({date(2018, 3, 31): (0.0, 0.0), date(2018, 6, 30): (120.0, 60.0)})
    text = prediction_section_markdown(_backtest(0.05, 0.2, 55.0), from_zero, ew)
    assert "from R$ 0.00 on 2018-03-31 to R$ 180.00 on 2018-06-30" in text
    assert "None of it was at High risk on 2018-03-31." in text and "n/a" not in text


def test_the_executive_report_carries_the_prediction_section():
    from goodpulse_dagster.report import SECTIONS, build_report
    from goodpulse_dagster_tests.fixtures.kpi_tables import build_kpi_tables

    report_tables = build_kpi_tables()
    monitor = _monitor({date(2018, 3, 31): (100.0, 50.0), date(2018, 6, 30): (120.0, 60.0)})
    tables = {**report_tables, "prediction_backtest": _backtest(0.05, 0.2, 55.0),
              "churn_risk_monitor": monitor}  # fmt: skip
    report = build_report(tables)
    assert report.sections[-2:] == [SECTIONS["predictions"], SECTIONS["appendix"]]
    section = report.markdown.split(f"## {SECTIONS['predictions']}")[1].split("\n## ")[0]
    assert "Holdout backtest. Fitted on completed orders up to" in section
    assert "The model beats the baseline on every measure" in section
    assert "Since 2018-03-31: +20.0%." in section
    assert section.count("data:image/svg+xml;base64,") == 2  # no early-warning rows: no chart


def test_mbg_gradient_matches_finite_differences():
    from goodpulse_dagster.predictions.clv_model import mbg_log_likelihood_gradient

    grad = mbg_log_likelihood_gradient(MBG, X, TX, T)
    values = np.array([MBG.r, MBG.alpha, MBG.a, MBG.b])
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6 * values[i]
        up = mbg_log_likelihood(MbgParams(*(values + step)), X, TX, T)
        down = mbg_log_likelihood(MbgParams(*(values - step)), X, TX, T)
        assert grad[i] == pytest.approx((up - down) / (2 * step[i]), rel=1e-5, abs=1e-9)


def test_report_section_dates_read_the_same_from_the_warehouse():
    # A table read back with DuckDB's .df() holds Timestamps, not dates: same words.
    monitor = _monitor({date(2018, 3, 31): (100.0, 50.0), date(2018, 6, 30): (120.0, 60.0)})
    backtest = _backtest(0.05, 0.2, 55.0)
    as_timestamps = [
        backtest.assign(
            **{c: pd.to_datetime(backtest[c]) for c in ("calibration_end", "holdout_end")}
        ),
        monitor.assign(as_of=pd.to_datetime(monitor["as_of"])),
    ]
    ew = pd.DataFrame(columns=["customer_unique_id", "value_segment", "predicted_clv_365d",
                               "lifetime_revenue"])  # fmt: skip
    assert prediction_section_markdown(*as_timestamps, ew) == prediction_section_markdown(
        backtest, monitor, ew
    )
    assert "up to 2018-06-30 and scored on the 180 days to 2018-12-27" in (
        prediction_section_markdown(backtest, monitor, ew)
    )


def test_prediction_settings_from_the_environment():
    from goodpulse_dagster.errors import UserSettingsError
    from goodpulse_dagster.settings import metric_params_from_env

    params = metric_params_from_env(
        {"GOODPULSE_CHURN_HIGH_BELOW": "0.2", "GOODPULSE_CHURN_MEDIUM_BELOW": "0.5",
         "GOODPULSE_BACKTEST_HOLDOUT_DAYS": "90", "GOODPULSE_CHURN_RISE_WARN_SHARE": "0.1",
         "GOODPULSE_PREDICTION_MIN_REPEAT_CUSTOMERS": "5", "GOODPULSE_BACKTEST_TIE_SHARE": "0.05"}
    )  # fmt: skip
    assert params.backtest_tie_share == 0.05
    assert (params.churn_high_below, params.churn_medium_below) == (0.2, 0.5)
    assert (params.backtest_holdout_days, params.churn_rise_warn_share) == (90, 0.1)
    assert params.prediction_min_repeat_customers == 5
    with pytest.raises(UserSettingsError, match="GOODPULSE_CHURN_HIGH_BELOW"):
        metric_params_from_env({"GOODPULSE_CHURN_HIGH_BELOW": "0.7"})  # above Medium's 0.6
    with pytest.raises(UserSettingsError, match="GOODPULSE_BACKTEST_HOLDOUT_DAYS"):
        metric_params_from_env({"GOODPULSE_BACKTEST_HOLDOUT_DAYS": "0"})


def test_a_backtest_cut_before_every_order_gives_no_rows():
    params = MetricParams(as_of=date(2018, 8, 31), backtest_holdout_days=1000)
    assert P.build_prediction_backtest(_lifecycle(), params).table.empty


def test_gamma_gamma_fit_maximises_the_likelihood():
    # The fit's optimum (with its summed, per-distinct-x objective) is the maximum of the plain
    # per-customer likelihood: moving any parameter by 1% lowers it.
    rng = np.random.default_rng(8)
    x = rng.integers(1, 5, 5_000).astype(float)
    m = rng.gamma(3.0 * x, 1.0 / (x * rng.gamma(4.0, 1 / 200.0, 5_000)))
    fit = fit_gamma_gamma(x, m)
    best = gamma_gamma_log_likelihood(fit.params, x, m).sum()
    assert fit.log_likelihood == pytest.approx(best)
    for name in ("p", "q", "v"):
        for factor in (0.99, 1.01):
            moved = GammaGammaParams(
                **{**vars(fit.params), name: getattr(fit.params, name) * factor}
            )
            assert gamma_gamma_log_likelihood(moved, x, m).sum() < best, (name, factor)


def test_mbg_fit_maximises_the_per_customer_likelihood():
    # The fit's objective is summed per distinct x; its optimum must be the maximum of the plain
    # per-customer likelihood: moving any parameter by 1% lowers it.
    rng = np.random.default_rng(9)
    ages = rng.integers(0, 400, 20_000).astype(float)
    x, t_x, _ = simulate_mbg(MbgParams(0.7, 50.0, 1.3, 2.0), ages, 0.0, rng)
    fit = fit_mbg(x, t_x, ages)
    best = mbg_log_likelihood(fit.params, x, t_x, ages).sum()
    assert fit.converged and fit.log_likelihood == pytest.approx(best)
    for name in ("r", "alpha", "a", "b"):
        for factor in (0.99, 1.01):
            moved = MbgParams(**{**vars(fit.params), name: getattr(fit.params, name) * factor})
            assert mbg_log_likelihood(moved, x, t_x, ages).sum() < best, (name, factor)


def test_expected_purchases_without_2f1_where_scipy_gives_up():
    from goodpulse_dagster.predictions.clv_model import (
        _expected_if_alive_by_quadrature,
        beta_quadrature,
    )

    # The quadrature is the closed form where both work ...
    x90 = mbg_expected_purchases(MBG, 90, X, TX, T) / mbg_probability_alive(MBG, X, TX, T)
    assert _expected_if_alive_by_quadrature(MBG, 90.0, X.astype(float), T) == pytest.approx(
        x90, rel=1e-10
    )
    # ... and its Beta weights have the Beta's mean, even for B in the thousands.
    p, w = beta_quadrature(0.0189, 1173.06, 64)
    assert w.sum() == pytest.approx(1.0) and p @ w == pytest.approx(0.0189 / 1173.0789)
    # A 3-customer population (tests/test_checks' clean tables) fits r ~ 34,000: scipy's 2F1
    # returns NaN there. The rate barely varies, so 365 days at (r + x) / (alpha + T) per day
    # with almost no dropout (a / (a + b) = 1.6e-5) is about what the customers expect.
    extreme = MbgParams(r=33627.175, alpha=11365978.9, a=0.0189033, b=1172.0627)
    x, t_x, ages = np.array([1.0, 0, 0]), np.array([99.0, 0, 0]), np.array([140.0, 117, 81])
    expected = mbg_expected_purchases(extreme, 365, x, t_x, ages)
    rate = (extreme.r + x) / (extreme.alpha + ages) * 365
    assert np.isfinite(expected).all()
    assert expected == pytest.approx(rate * mbg_probability_alive(extreme, x, t_x, ages), rel=1e-3)


def test_one_monitor_date_passes_and_a_rise_from_nothing_warns():
    from goodpulse_dagster.predictions.checks import churn_risk_not_rising

    frame = _monitor({date(2018, 6, 30): (120.0, 60.0)})
    rise = P.high_risk_revenue_rise(frame)
    assert rise.rise is None and rise.latest == 180.0
    assert churn_risk_not_rising(frame, AnalyticsSettings(churn_rise_warn_share=0.0)).passed
    # From nothing at risk to something is an unbounded rise: WARN, said in R$.
    grown = _monitor({date(2018, 3, 31): (0.0, 0.0), date(2018, 6, 30): (10.0, 0.0)})
    assert P.high_risk_revenue_rise(grown).rise == float("inf")
    warned = churn_risk_not_rising(grown, AnalyticsSettings(churn_rise_warn_share=0.25))
    assert not warned.passed and "from R$ 0 to R$ 10.00" in warned.description
    quiet = _monitor({date(2018, 3, 31): (0.0, 0.0), date(2018, 6, 30): (0.0, 0.0)})
    assert P.high_risk_revenue_rise(quiet).rise is None
