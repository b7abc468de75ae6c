"""Prediction checks (issue 19): probabilities in [0, 1], expectations and CLV finite and
non-negative, the fit converged, and the churn monitor's WARN when the High-risk revenue of
High Value and VIP customers rises more than ``analytics.churn_rise_warn_share`` between its last
two dates (docs/predictions.md).

The range checks are ERROR and blocking: an impossible probability is a bug, not a finding. A
fit that did not converge is a WARN: on a small or homogeneous population the likelihood can be
flat (the data do not pin the parameters down), and the predictions are then shown with that
caveat rather than withheld. The rising-risk check is the monitoring the reports ask for: a WARN.
"""

import math

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)

from goodpulse_dagster.predictions.transforms import (
    high_risk_revenue_rise,
    high_risk_revenue_series,
    non_negative_violations,
    probability_violations,
)
from goodpulse_dagster.quality.checks import (
    Outcome,
    Rule,
    frame_checks,
    key_rule,
    latest_metadata_value,
)
from goodpulse_dagster.quality.rules import Finding
from goodpulse_dagster.resources.storage import AnalyticsSettings
from goodpulse_dagster.schema import GOLD, KPI

PREDICTIONS_KEY = AssetKey([GOLD, "customer_predictions"])
MONITOR_KEY = AssetKey([KPI, "churn_risk_monitor"])


def _rule(name: str, description: str, count) -> Rule:
    def evaluate(frame) -> Outcome:
        counts = count(frame)
        return Outcome(Finding(sum(counts.values()), counts))

    return Rule(name, description, evaluate, blocking=True)


PROBABILITY_COLUMNS = ("probability_alive",)
EXPECTATION_COLUMNS = (
    "expected_orders_90d",
    "expected_orders_365d",
    "expected_order_value",
    "predicted_clv_365d",
)

PREDICTION_RULES: dict[AssetKey, list[Rule]] = {
    PREDICTIONS_KEY: [
        key_rule(("customer_unique_id",)),
        _rule(
            "probabilities_in_range",
            "probability_alive is a number within [0, 1] on every row (NULL and NaN fail).",
            lambda f: probability_violations(f, PROBABILITY_COLUMNS),
        ),
        _rule(
            "expectations_non_negative",
            f"{', '.join(EXPECTATION_COLUMNS)} are finite and >= 0 on every row.",
            lambda f: non_negative_violations(f, EXPECTATION_COLUMNS),
        ),
    ],
    MONITOR_KEY: [
        key_rule(("as_of", "value_segment")),
        _rule(
            "shares_in_range",
            "high_risk_customer_share and high_risk_revenue_share within [0, 1] wherever the "
            "segment has customers (NULL there fails).",
            lambda f: (
                probability_violations(f, ("high_risk_customer_share",), where="customers > 0")
                | probability_violations(f, ("high_risk_revenue_share",), where="revenue > 0")
            ),
        ),
    ],
    AssetKey([KPI, "prediction_backtest"]): [
        key_rule(("model",)),
        _rule(
            "errors_non_negative",
            "expected_repeat_orders, mae and rmse are finite and >= 0.",
            lambda f: non_negative_violations(f, ("expected_repeat_orders", "mae", "rmse")),
        ),
    ],
    AssetKey([KPI, "early_warning"]): [key_rule(("customer_unique_id",))],
}


@asset_check(
    asset=PREDICTIONS_KEY,
    name="fit_converged",
    description=(
        "The MBG/NBD and Gamma-Gamma fits converged inside the optimiser's bounds with a finite "
        "log-likelihood (both, with the parameters, are the materialization's metadata); "
        "Gamma-Gamma is not fitted, and spend is the population mean, below "
        "GOODPULSE_PREDICTION_MIN_REPEAT_CUSTOMERS repeat customers. WARN: "
        "a flat likelihood on a small population does not make the predictions wrong, only "
        "uncertain."
    ),
)
def predictions_fit_converged(context: AssetCheckExecutionContext) -> AssetCheckResult:
    def value(name: str):
        return latest_metadata_value(context, PREDICTIONS_KEY, name)

    names = ("mbg", "gamma_gamma")
    converged = {n: value(f"{n}_converged") for n in names}
    metadata = {f"{n}_{k}": value(f"{n}_{k}") for n in names for k in ("log_likelihood", "message")}
    metadata["spend_model"] = value("spend_model")
    metadata = {k: v for k, v in metadata.items() if v is not None}
    # Gamma-Gamma left unfitted (too few repeat customers; the population mean is used, as its
    # metadata says) is a documented fallback, not a failed fit.
    required = ["mbg", *(["gamma_gamma"] if value("gamma_gamma_fitted") is not False else [])]
    failed = [n for n in required if converged[n] is not True]
    return AssetCheckResult(
        passed=not failed,
        severity=AssetCheckSeverity.WARN,
        metadata={**{f"{n}_converged": bool(ok) for n, ok in converged.items()}, **metadata},
        description=(
            None
            if not failed
            else f"{' and '.join(failed)} did not converge: "
            + "; ".join(str(metadata.get(f"{n}_message", "no fit metadata")) for n in failed)
        ),
    )


@asset_check(
    asset=MONITOR_KEY,
    name="high_value_risk_not_rising",
    description=(
        "WARN when the revenue of High Value and VIP customers at High churn risk grows by more "
        "than analytics.churn_rise_warn_share (GOODPULSE_CHURN_RISE_WARN_SHARE) between the "
        "monitor's last two dates."
    ),
)
def churn_risk_not_rising(
    churn_risk_monitor: pd.DataFrame, analytics: AnalyticsSettings
) -> AssetCheckResult:
    rise = high_risk_revenue_rise(churn_risk_monitor)
    limit = analytics.params().churn_rise_warn_share
    series = high_risk_revenue_series(churn_risk_monitor)
    trend = "\n".join(
        f"| {d} | {v:,.2f} |"
        for d, v in zip(series["as_of"], series["high_risk_revenue"], strict=True)
    )
    passed = rise.rise is None or rise.rise <= limit
    metadata = {
        # Metadata floats must be finite: a rise from nothing at risk is said in words.
        "rise": rise.rise if rise.rise is not None and math.isfinite(rise.rise) else float("nan"),
        "rise_from_nothing": rise.rise is not None and not math.isfinite(rise.rise),
        "warn_above": limit,
        "previous_high_risk_revenue": rise.previous,
        "latest_high_risk_revenue": rise.latest,
        "trend": "| as_of | High Value + VIP High-risk revenue |\n|---|---|\n" + trend,
    }
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.WARN,
        metadata={**metadata, "trend": MetadataValue.md(metadata["trend"])},
        description=None
        if passed
        else "High-risk revenue of High Value + VIP rose "
        + (
            f"{rise.rise:.1%}"
            if math.isfinite(rise.rise)
            else f"from R$ 0 to R$ {rise.latest:,.2f}"
        )
        + f" from {rise.previous_date} to {rise.latest_date}, above {limit:.0%}.",
    )


def build_prediction_checks() -> list:
    checks = [
        frame_checks(f"{key.path[0]}_{key.path[1]}_checks", key, rules)
        for key, rules in PREDICTION_RULES.items()
    ]
    return [*checks, predictions_fit_converged, churn_risk_not_rising]
