"""One declaration of every analytic parameter (params.py ``MetricParams``): the
environment variables and the Dagster resource ``AnalyticsSettings`` are derived from it."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import pytest

from goodpulse_dagster import settings as settings_module
from goodpulse_dagster.errors import UserSettingsError
from goodpulse_dagster.params import MetricParams, env_var
from goodpulse_dagster.resources.storage import AnalyticsSettings, analytics_settings
from goodpulse_dagster.settings import load_settings, metric_params_from_env

# Every parameter away from its default, each written by hand.
CHANGED = MetricParams(
    completed_statuses=("delivered", "shipped"),
    regular_min_orders=3,
    power_user_min_orders=8,
    value_quantiles=(0.1, 0.5, 0.9),
    lifecycle_days=(30, 60, 120),
    top_n_cities=4,
    as_of=date(2018, 6, 30),
    max_line_amount=5000.0,
    as_of_max_gap_days=45,
    as_of_outlier_max_share=0.002,
    churn_high_below=0.2,
    churn_medium_below=0.5,
    backtest_holdout_days=90,
    backtest_tie_share=0.05,
    churn_rise_warn_share=0.1,
    prediction_min_repeat_customers=5,
)
CHANGED_ENV = {
    "GOODPULSE_COMPLETED_STATUSES": "delivered, shipped",
    "GOODPULSE_REGULAR_MIN_ORDERS": "3",
    "GOODPULSE_POWER_USER_MIN_ORDERS": "8",
    "GOODPULSE_VALUE_QUANTILES": "0.1,0.5,0.9",
    "GOODPULSE_LIFECYCLE_DAYS": "30,60,120",
    "GOODPULSE_TOP_N_CITIES": "4",
    "GOODPULSE_AS_OF": "2018-06-30",
    "GOODPULSE_MAX_LINE_AMOUNT": "5000",
    "GOODPULSE_AS_OF_MAX_GAP_DAYS": "45",
    "GOODPULSE_AS_OF_OUTLIER_MAX_SHARE": "0.002",
    "GOODPULSE_CHURN_HIGH_BELOW": "0.2",
    "GOODPULSE_CHURN_MEDIUM_BELOW": "0.5",
    "GOODPULSE_BACKTEST_HOLDOUT_DAYS": "90",
    "GOODPULSE_BACKTEST_TIE_SHARE": "0.05",
    "GOODPULSE_CHURN_RISE_WARN_SHARE": "0.1",
    "GOODPULSE_PREDICTION_MIN_REPEAT_CUSTOMERS": "5",
}


def test_the_example_changes_every_parameter():
    default = MetricParams()
    assert [
        f.name for f in fields(MetricParams) if getattr(CHANGED, f.name) == getattr(default, f.name)
    ] == []
    assert sorted(CHANGED_ENV) == sorted(env_var(f.name) for f in fields(MetricParams))


def test_the_resource_has_one_field_per_parameter_plus_the_orphan_rate():
    resource_fields = set(AnalyticsSettings.model_fields)
    assert resource_fields == {f.name for f in fields(MetricParams)} | {"orphan_error_rate"}
    # Same defaults, and the declaration's description in the launchpad.
    assert AnalyticsSettings().params() == MetricParams()
    assert AnalyticsSettings.model_fields["as_of"].description == (
        "YYYY-MM-DD; empty = latest purchase date"
    )
    assert AnalyticsSettings.model_fields["as_of"].default is None
    assert AnalyticsSettings.model_fields["lifecycle_days"].default == [90, 180, 365]


def test_params_go_through_the_resource_unchanged():
    resource = analytics_settings(CHANGED, orphan_error_rate=0.03)
    assert resource.params() == CHANGED
    assert resource.orphan_error_rate == 0.03
    # Run config holds lists and text, as the launchpad shows them.
    assert resource.lifecycle_days == [30, 60, 120] and resource.as_of == "2018-06-30"


def test_every_parameter_is_read_from_its_environment_variable():
    assert metric_params_from_env({}) == MetricParams()
    assert metric_params_from_env(CHANGED_ENV) == CHANGED
    settings = load_settings({**CHANGED_ENV, "GOODPULSE_ORPHAN_ERROR_RATE": "0.03"})
    assert settings.metrics == CHANGED and settings.orphan_error_rate == 0.03
    # An empty variable is an unset one.
    assert metric_params_from_env({"GOODPULSE_TOP_N_CITIES": ""}).top_n_cities == 7


def test_a_bad_value_names_its_variable():
    with pytest.raises(UserSettingsError, match="GOODPULSE_TOP_N_CITIES must be a whole number"):
        metric_params_from_env({"GOODPULSE_TOP_N_CITIES": "seven"})
    with pytest.raises(ValueError, match="GOODPULSE_VALUE_QUANTILES must be comma-separated"):
        metric_params_from_env({"GOODPULSE_VALUE_QUANTILES": "0.2;0.8;0.95"})
    with pytest.raises(UserSettingsError, match="GOODPULSE_CHURN_HIGH_BELOW must be a number"):
        metric_params_from_env({"GOODPULSE_CHURN_HIGH_BELOW": "low"})


def test_every_variable_is_documented_in_the_settings_table():
    documented = settings_module.__doc__
    assert [name for name in CHANGED_ENV if f"| {name} |" not in documented] == []
