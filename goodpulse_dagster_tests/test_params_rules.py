"""MetricParams refuses a value outside its range with a message naming the rule and the value
given (params.py ``_RULES``): one case per rule, the message written out in full by hand."""

from __future__ import annotations

import math
import re

import pytest

from goodpulse_dagster.errors import UserSettingsError
from goodpulse_dagster.params import MetricParams

CASES = [
    ({"completed_statuses": ()}, "completed_statuses must name at least one order status"),
    (
        {"regular_min_orders": 1},
        "frequency thresholds must satisfy 1 < regular_min_orders < power_user_min_orders, "
        "got 1 and 5",
    ),
    (
        {"regular_min_orders": 5, "power_user_min_orders": 5},
        "frequency thresholds must satisfy 1 < regular_min_orders < power_user_min_orders, "
        "got 5 and 5",
    ),
    (
        {"value_quantiles": (0.5, 0.2, 0.9)},
        "value_quantiles must be three increasing values in (0, 1), got (0.5, 0.2, 0.9)",
    ),
    # Two values: refused for its length, never an IndexError.
    (
        {"value_quantiles": (0.2, 0.8)},
        "value_quantiles must be three increasing values in (0, 1), got (0.2, 0.8)",
    ),
    (
        {"lifecycle_days": (90, 90, 365)},
        "lifecycle_days must be three increasing day counts, got (90, 90, 365)",
    ),
    (
        {"lifecycle_days": (-1, 2, 3)},
        "lifecycle_days must be three increasing day counts, got (-1, 2, 3)",
    ),
    ({"top_n_cities": 0}, "top_n_cities must be at least 1, got 0"),
    (
        {"max_line_amount": math.inf},
        "max_line_amount (GOODPULSE_MAX_LINE_AMOUNT) must be a positive amount in R$, got inf",
    ),
    (
        {"max_line_amount": 0.0},
        "max_line_amount (GOODPULSE_MAX_LINE_AMOUNT) must be a positive amount in R$, got 0.0",
    ),
    (
        {"as_of_max_gap_days": 0},
        "as_of_max_gap_days (GOODPULSE_AS_OF_MAX_GAP_DAYS) must be at least 1 day, got 0",
    ),
    (
        {"as_of_outlier_max_share": 1.0},
        "as_of_outlier_max_share (GOODPULSE_AS_OF_OUTLIER_MAX_SHARE) must be a share from "
        "0 (check off) up to but not including 1, got 1.0",
    ),
    (
        {"churn_high_below": 0.7},
        "churn thresholds must satisfy 0 < GOODPULSE_CHURN_HIGH_BELOW <= "
        "GOODPULSE_CHURN_MEDIUM_BELOW < 1, got 0.7 and 0.6",
    ),
    (
        {"backtest_holdout_days": 0},
        "GOODPULSE_BACKTEST_HOLDOUT_DAYS must be at least 1 day, got 0",
    ),
    (
        {"backtest_tie_share": -0.01},
        "GOODPULSE_BACKTEST_TIE_SHARE must be a share from 0 up to but not including 1, got -0.01",
    ),
    (
        {"churn_rise_warn_share": math.nan},
        "GOODPULSE_CHURN_RISE_WARN_SHARE must be a share of 0 or more, got nan",
    ),
    (
        {"prediction_min_repeat_customers": 0},
        "GOODPULSE_PREDICTION_MIN_REPEAT_CUSTOMERS must be at least 1, got 0",
    ),
]


@pytest.mark.parametrize(("changes", "message"), CASES)
def test_a_value_outside_its_rule_is_refused_with_its_message(changes, message):
    with pytest.raises(UserSettingsError, match=f"^{re.escape(message)}$"):
        MetricParams(**changes)


def test_the_first_broken_rule_is_the_one_reported():
    with pytest.raises(UserSettingsError, match="^top_n_cities must be at least 1, got 0$"):
        MetricParams(top_n_cities=0, backtest_holdout_days=0)


def test_the_edges_of_each_range_are_accepted():
    # The inclusive ends: a 0 day Active bound, a 0 outlier share (check off), equal churn
    # thresholds, a 0 tie share and a 0 rise share, and the smallest counts.
    MetricParams(
        regular_min_orders=2,
        power_user_min_orders=3,
        lifecycle_days=(0, 1, 2),
        top_n_cities=1,
        as_of_max_gap_days=1,
        as_of_outlier_max_share=0.0,
        churn_high_below=0.5,
        churn_medium_below=0.5,
        backtest_holdout_days=1,
        backtest_tie_share=0.0,
        churn_rise_warn_share=0.0,
        prediction_min_repeat_customers=1,
    )
