"""Analytic parameters of METRICS.md, with its defaults. Plain data: no Dagster, no environment.

``MetricParams`` is the one declaration of every parameter. settings.py reads each from its
environment variable (``env_var``), the Dagster resource ``AnalyticsSettings``
(resources/storage.py) is built from its fields and turns run config back into one
(``from_config``); transforms and tests take it directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import Field, dataclass, field, fields
from datetime import date
from functools import cache
from typing import get_args, get_origin, get_type_hints

from goodpulse_dagster.errors import UserSettingsError


def _param(default, description: str):
    """A MetricParams field: its default and the sentence the launchpad and the docs show."""
    return field(default=default, metadata={DESCRIPTION: description})


DESCRIPTION = "description"


@dataclass(frozen=True)
class MetricParams:
    """One declaration per analytic parameter: name, type, default and description. Its
    environment variable is ``GOODPULSE_<NAME>`` (``env_var``; settings.py reads it), and the
    Dagster resource ``AnalyticsSettings`` (resources/storage.py) has one config field per field
    here, built from this class."""

    completed_statuses: tuple[str, ...] = _param(
        ("delivered",), "Order statuses that count as a completed order."
    )
    # frequency_tier: One-time = 1 order; Regular = 2 .. power_user_min_orders - 1; Power User >= it.
    regular_min_orders: int = _param(2, "Fewest completed orders of a Regular customer.")
    power_user_min_orders: int = _param(5, "Fewest completed orders of a Power User.")
    # value_segment cut points, as quantiles of lifetime revenue (quantile_cont).
    value_quantiles: tuple[float, float, float] = _param(
        (0.20, 0.80, 0.95), "Value-segment cut points: quantiles of lifetime revenue."
    )
    # lifecycle_stage upper bounds in recency days: Active <= 90 < Warm <= 180 < At Risk <= 365.
    lifecycle_days: tuple[int, int, int] = _param(
        (90, 180, 365), "Active / Warm / At Risk upper bounds in recency days."
    )
    top_n_cities: int = _param(7, "N of the top-N city revenue share.")
    # None means the date of the latest order_purchase_timestamp (any status).
    as_of: date | None = _param(None, "YYYY-MM-DD; empty = latest purchase date")
    # Silver quarantines (rule 'invalid_value') a payment or item line whose payment_value, price
    # or freight_value is above this ceiling in R$ (docs/data_quality.md).
    max_line_amount: float = _param(
        1_000_000.0, "R$ ceiling of one payment_value, price or freight_value."
    )
    # A derived as_of is refused (UserInputError) when the orders after the earliest gap of more
    # than as_of_max_gap_days between consecutive purchase times are at most
    # as_of_outlier_max_share of all orders: a mistyped year, not the business (metric_decisions).
    as_of_max_gap_days: int = _param(
        90, "A derived as_of is refused after a gap of more than this many days between purchases"
    )
    as_of_outlier_max_share: float = _param(
        0.001, "... that leaves at most this share of all orders after it (0 turns the check off)."
    )
    # Predictions (issue 19, docs/predictions.md). churn_risk is High when probability_alive is
    # below churn_high_below, Medium below churn_medium_below, else Low.
    churn_high_below: float = _param(
        0.3, "churn_risk is High when probability_alive is below this."
    )
    churn_medium_below: float = _param(0.6, "churn_risk is Medium below this, else Low.")
    backtest_holdout_days: int = _param(
        180, "The prediction backtest fits on orders up to as_of minus this many days."
    )
    backtest_tie_share: float = _param(
        0.01,
        "The report calls model and baseline tied on a measure within this share of the "
        "baseline's figure.",
    )
    churn_rise_warn_share: float = _param(
        0.25,
        "The churn monitor WARNs when High-risk revenue of High Value + VIP grows by more than "
        "this share between its last two dates.",
    )
    # The model's repeat-purchase and dropout rates cannot be estimated from a handful; nor can
    # Gamma-Gamma's spend heterogeneity.
    prediction_min_repeat_customers: int = _param(
        20,
        "A churn-monitor date with fewer repeat customers is left out, and below it Gamma-Gamma "
        "is not fitted (spend = population mean).",
    )

    def __post_init__(self) -> None:
        # The first rule that does not hold is the error, in the order of _RULES.
        for holds, message in _RULES:
            if not holds(self):
                raise UserSettingsError(message.format(p=self))


# The rules a MetricParams must satisfy, each as (holds, the message when it does not). A rule is
# tested only once the rules before it hold, and within one a tuple's length before its values.
# A message is a str.format template of the params `p`, so that it shows the values given.
_RULES: tuple[tuple[Callable[[MetricParams], bool], str], ...] = (
    (
        lambda p: bool(p.completed_statuses),
        "completed_statuses must name at least one order status",
    ),
    (
        lambda p: 1 < p.regular_min_orders < p.power_user_min_orders,
        "frequency thresholds must satisfy 1 < regular_min_orders < power_user_min_orders, "
        "got {p.regular_min_orders} and {p.power_user_min_orders}",
    ),
    (
        lambda p: len(q := p.value_quantiles) == 3 and 0 < q[0] < q[1] < q[2] < 1,
        "value_quantiles must be three increasing values in (0, 1), got {p.value_quantiles}",
    ),
    (
        lambda p: len(d := p.lifecycle_days) == 3 and 0 <= d[0] < d[1] < d[2],
        "lifecycle_days must be three increasing day counts, got {p.lifecycle_days}",
    ),
    (
        lambda p: p.top_n_cities >= 1,
        "top_n_cities must be at least 1, got {p.top_n_cities}",
    ),
    (
        lambda p: math.isfinite(p.max_line_amount) and p.max_line_amount > 0,
        "max_line_amount (GOODPULSE_MAX_LINE_AMOUNT) must be a positive amount in R$, "
        "got {p.max_line_amount}",
    ),
    (
        lambda p: p.as_of_max_gap_days >= 1,
        "as_of_max_gap_days (GOODPULSE_AS_OF_MAX_GAP_DAYS) must be at least 1 day, "
        "got {p.as_of_max_gap_days}",
    ),
    (
        lambda p: 0 <= p.as_of_outlier_max_share < 1,
        "as_of_outlier_max_share (GOODPULSE_AS_OF_OUTLIER_MAX_SHARE) must be a share from "
        "0 (check off) up to but not including 1, got {p.as_of_outlier_max_share}",
    ),
    (
        lambda p: 0 < p.churn_high_below <= p.churn_medium_below < 1,
        "churn thresholds must satisfy 0 < GOODPULSE_CHURN_HIGH_BELOW <= "
        "GOODPULSE_CHURN_MEDIUM_BELOW < 1, got {p.churn_high_below} and {p.churn_medium_below}",
    ),
    (
        lambda p: p.backtest_holdout_days >= 1,
        "GOODPULSE_BACKTEST_HOLDOUT_DAYS must be at least 1 day, got {p.backtest_holdout_days}",
    ),
    (
        lambda p: 0 <= p.backtest_tie_share < 1,
        "GOODPULSE_BACKTEST_TIE_SHARE must be a share from 0 up to but not including 1, "
        "got {p.backtest_tie_share}",
    ),
    (
        lambda p: p.churn_rise_warn_share >= 0,
        "GOODPULSE_CHURN_RISE_WARN_SHARE must be a share of 0 or more, "
        "got {p.churn_rise_warn_share}",
    ),
    (
        lambda p: p.prediction_min_repeat_customers >= 1,
        "GOODPULSE_PREDICTION_MIN_REPEAT_CUSTOMERS must be at least 1, "
        "got {p.prediction_min_repeat_customers}",
    ),
)


# --- Derived from the declaration ---------------------------------------------------------------


def metric_fields() -> tuple[Field, ...]:
    return fields(MetricParams)


def is_list(param: Field) -> bool:
    """Whether the field holds several values (a tuple here, a list in run config)."""
    return get_origin(_types()[param.name]) is tuple


def element_type(param: Field) -> type:
    """The type of the field's value (``date`` for an optional date), or of each of its values:
    ``str``, ``int``, ``float`` or ``date``."""
    hint = _types()[param.name]
    if get_origin(hint) is tuple:
        return get_args(hint)[0]
    return next(t for t in get_args(hint) if t is not type(None)) if get_args(hint) else hint


@cache
def _types() -> dict[str, object]:
    # The annotations are strings (``from __future__ import annotations``): evaluated once.
    return get_type_hints(MetricParams)


def env_var(name: str) -> str:
    """The environment variable of the MetricParams field ``name``."""
    return f"GOODPULSE_{name.upper()}"


def description(param: Field) -> str:
    return param.metadata[DESCRIPTION]


def config_value(value):
    """A MetricParams value as run config holds it: tuples as lists, a date as YYYY-MM-DD."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_config(params: MetricParams) -> dict:
    """Every field of ``params`` as run config (``AnalyticsSettings``' fields) holds it."""
    return {f.name: config_value(getattr(params, f.name)) for f in metric_fields()}


def from_config(config: dict) -> MetricParams:
    """The MetricParams of run config (``to_config``'s inverse); validated by MetricParams."""
    values = {}
    for f in metric_fields():
        value = config[f.name]
        if is_list(f):
            value = tuple(value)
        elif element_type(f) is date:
            value = date.fromisoformat(value) if value else None
        values[f.name] = value
    return MetricParams(**values)
