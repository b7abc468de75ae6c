"""Analytic parameters of METRICS.md, with its defaults. Plain data: no Dagster, no environment.

The Dagster resource ``AnalyticsSettings`` (goodpulse_dagster/settings.py) builds one of these from
run config or environment variables; transforms and tests take it directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from goodpulse_dagster.errors import UserSettingsError


@dataclass(frozen=True)
class MetricParams:
    # Order statuses that count as a completed order.
    completed_statuses: tuple[str, ...] = ("delivered",)
    # frequency_tier: One-time = 1 order; Regular = 2 .. power_user_min_orders - 1; Power User >= it.
    regular_min_orders: int = 2
    power_user_min_orders: int = 5
    # value_segment cut points, as quantiles of lifetime revenue (quantile_cont).
    value_quantiles: tuple[float, float, float] = (0.20, 0.80, 0.95)
    # lifecycle_stage upper bounds in recency days: Active <= 90 < Warm <= 180 < At Risk <= 365.
    lifecycle_days: tuple[int, int, int] = (90, 180, 365)
    # city_concentration headline: revenue share of the top N cities.
    top_n_cities: int = 7
    # Reference date; None means the date of the latest order_purchase_timestamp (any status).
    as_of: date | None = None
    # Silver quarantines (rule 'invalid_value') a payment or item line whose payment_value, price
    # or freight_value is above this ceiling in R$ (docs/data_quality.md).
    max_line_amount: float = 1_000_000.0
    # A derived as_of is refused (UserInputError) when the orders after the earliest gap of more
    # than as_of_max_gap_days between consecutive purchase times are at most
    # as_of_outlier_max_share of all orders: a mistyped year, not the business (metric_decisions).
    as_of_max_gap_days: int = 90
    as_of_outlier_max_share: float = 0.001
    # Predictions (issue 19, docs/predictions.md). churn_risk is High when probability_alive is
    # below churn_high_below, Medium below churn_medium_below, else Low.
    churn_high_below: float = 0.3
    churn_medium_below: float = 0.6
    # The backtest fits on orders up to as_of minus this many days and predicts the rest.
    backtest_holdout_days: int = 180
    # The report calls the model and the baseline tied on a measure when they differ by at most
    # this share of the baseline's figure.
    backtest_tie_share: float = 0.01
    # The churn monitor WARNs when the High-risk revenue of High Value and VIP customers grows by
    # more than this share from one as_of to the next.
    churn_rise_warn_share: float = 0.25
    # A churn-monitor date is left out when fewer customers had repeated by then: the model's
    # repeat-purchase and dropout rates cannot be estimated from a handful. Below it Gamma-Gamma
    # is not fitted either (spend heterogeneity from a handful of repeaters is noise).
    prediction_min_repeat_customers: int = 20

    def __post_init__(self) -> None:
        if not self.completed_statuses:
            raise UserSettingsError("completed_statuses must name at least one order status")
        if not 1 < self.regular_min_orders < self.power_user_min_orders:
            raise UserSettingsError(
                "frequency thresholds must satisfy 1 < regular_min_orders < power_user_min_orders, "
                f"got {self.regular_min_orders} and {self.power_user_min_orders}"
            )
        q = self.value_quantiles
        if not (len(q) == 3 and 0 < q[0] < q[1] < q[2] < 1):
            raise UserSettingsError(
                f"value_quantiles must be three increasing values in (0, 1), got {q}"
            )
        d = self.lifecycle_days
        if not (len(d) == 3 and 0 <= d[0] < d[1] < d[2]):
            raise UserSettingsError(f"lifecycle_days must be three increasing day counts, got {d}")
        if self.top_n_cities < 1:
            raise UserSettingsError(f"top_n_cities must be at least 1, got {self.top_n_cities}")
        if not (math.isfinite(self.max_line_amount) and self.max_line_amount > 0):
            raise UserSettingsError(
                "max_line_amount (GOODPULSE_MAX_LINE_AMOUNT) must be a positive amount in R$, "
                f"got {self.max_line_amount}"
            )
        if self.as_of_max_gap_days < 1:
            raise UserSettingsError(
                "as_of_max_gap_days (GOODPULSE_AS_OF_MAX_GAP_DAYS) must be at least 1 day, "
                f"got {self.as_of_max_gap_days}"
            )
        if not 0 <= self.as_of_outlier_max_share < 1:
            raise UserSettingsError(
                "as_of_outlier_max_share (GOODPULSE_AS_OF_OUTLIER_MAX_SHARE) must be a share from "
                f"0 (check off) up to but not including 1, got {self.as_of_outlier_max_share}"
            )
        if not 0 < self.churn_high_below <= self.churn_medium_below < 1:
            raise UserSettingsError(
                "churn thresholds must satisfy 0 < GOODPULSE_CHURN_HIGH_BELOW <= "
                f"GOODPULSE_CHURN_MEDIUM_BELOW < 1, got {self.churn_high_below} and "
                f"{self.churn_medium_below}"
            )
        if self.backtest_holdout_days < 1:
            raise UserSettingsError(
                "GOODPULSE_BACKTEST_HOLDOUT_DAYS must be at least 1 day, "
                f"got {self.backtest_holdout_days}"
            )
        if not 0 <= self.backtest_tie_share < 1:
            raise UserSettingsError(
                "GOODPULSE_BACKTEST_TIE_SHARE must be a share from 0 up to but not including 1, "
                f"got {self.backtest_tie_share}"
            )
        if not self.churn_rise_warn_share >= 0:
            raise UserSettingsError(
                "GOODPULSE_CHURN_RISE_WARN_SHARE must be a share of 0 or more, "
                f"got {self.churn_rise_warn_share}"
            )
        if self.prediction_min_repeat_customers < 1:
            raise UserSettingsError(
                "GOODPULSE_PREDICTION_MIN_REPEAT_CUSTOMERS must be at least 1, "
                f"got {self.prediction_min_repeat_customers}"
            )
