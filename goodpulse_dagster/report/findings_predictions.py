"""The findings of the predictive-health section (issue 19), from the three prediction KPI tables.

Every sentence is derived from ``kpi.prediction_backtest``, ``kpi.churn_risk_monitor`` and
``kpi.early_warning`` (pandas, money as floats or decimals): whether the model beats the naive
baseline is decided here from the backtest's figures and said either way.
"""

from __future__ import annotations

import math

import pandas as pd

from goodpulse_dagster import schema
from goodpulse_dagster.charts import iso_day
from goodpulse_dagster.charts.data import with_float_columns
from goodpulse_dagster.params import MetricParams
from goodpulse_dagster.predictions.transforms import TOP_VALUE_SEGMENTS, high_risk_revenue_series
from goodpulse_dagster.report.names import SECTIONS

DEFAULT_TIE_SHARE = MetricParams().backtest_tie_share


def _money(x: float) -> str:
    return f"R$ {x:,.2f}"


def _pct(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:+.1%}"


def backtest_findings(backtest: pd.DataFrame, tie_share: float = DEFAULT_TIE_SHARE) -> list[str]:
    """Expected vs actual in the holdout, and the model against the baseline."""
    if backtest.empty:
        return ["No backtest: there were no orders before the calibration cut."]
    b = with_float_columns(backtest, ("expected_repeat_orders", "aggregate_error", "mae", "rmse"))
    model_name, naive_name = schema.PREDICTION_MODELS
    model = b[b["model"] == model_name].iloc[0]
    naive = b[b["model"] == naive_name].iloc[0]
    out = [
        f"Fitted on completed orders up to {iso_day(model['calibration_end'])} and scored on the "
        f"{int(model['holdout_days'])} days to {iso_day(model['holdout_end'])}: the "
        f"{int(model['customers']):,} customers known at the cut made "
        f"{int(model['actual_repeat_orders']):,} repeat purchase days "
        f"({int(model['actual_orders']):,} orders); the model expected "
        f"{model['expected_repeat_orders']:,.1f} ({_pct(model['aggregate_error'])}), the naive "
        f"baseline (everyone repeats at the population's historical rate) "
        f"{naive['expected_repeat_orders']:,.1f} ({_pct(naive['aggregate_error'])})."
    ]
    measures = {
        "per-customer MAE": (model["mae"], naive["mae"]),
        "per-customer RMSE": (model["rmse"], naive["rmse"]),
        "aggregate error": (abs(model["aggregate_error"]), abs(naive["aggregate_error"])),
    }
    # A difference within tie_share of the baseline's figure is a tie, not a win: on a sample
    # this small the last digit moves with the optimiser's stopping point (docs/predictions.md).
    verdict = {
        name: "tie" if abs(m - n) <= tie_share * abs(n) else ("better" if m < n else "worse")
        for name, (m, n) in measures.items()
    }
    better, worse, ties = (
        [k for k, v in verdict.items() if v == w] for w in ("better", "worse", "tie")
    )
    scores = (
        f"MAE {model['mae']:.4f} vs {naive['mae']:.4f}, RMSE {model['rmse']:.4f} vs "
        f"{naive['rmse']:.4f}"
    )
    tied = f"; tied (within {tie_share:.0%}) on {', '.join(ties)}" if ties else ""
    if better and not worse:
        out.append(
            f"The model beats the baseline on {', '.join(better)}{tied} ({scores})."
            if ties
            else f"The model beats the baseline on every measure ({scores})."
        )
    elif not better:
        out.append(
            f"The model does **not** beat the naive baseline on this data{tied} ({scores}): "
            "treat its per-customer figures as no better than the average repeat rate."
        )
    else:
        out.append(
            f"The model beats the baseline on {', '.join(better)} but **not** on "
            f"{', '.join(worse)}{tied} ({scores})."
        )
    return out


def monitor_findings(monitor: pd.DataFrame) -> list[str]:
    """The churn-risk trend of the High Value + VIP customers over the monitor's dates."""
    if monitor.empty:
        return ["No churn-risk trend: no date had enough repeat customers to fit the model."]
    series = high_risk_revenue_series(monitor)
    m = with_float_columns(monitor, ("high_risk_revenue", "revenue"))
    top = m[m["value_segment"].isin(TOP_VALUE_SEGMENTS)].groupby("as_of")
    share = (top["high_risk_revenue"].sum() / top["revenue"].sum()).sort_index()
    first, last = series.iloc[0], series.iloc[-1]
    if not (series["high_risk_revenue"] > 0).any():
        # Nothing to trend: "went from R$ 0.00 to R$ 0.00 (0.0% then 0.0%)" reads as a figure.
        return [
            f"No High Value or VIP customer was at High churn risk on any of the {len(series)} "
            f"monitor dates ({iso_day(first['as_of'])} to {iso_day(last['as_of'])})."
        ]
    out = [
        f"High Value and VIP revenue held by High-risk customers went from "
        f"{_money(first['high_risk_revenue'])} on {iso_day(first['as_of'])} to "
        f"{_money(last['high_risk_revenue'])} on {iso_day(last['as_of'])} "
        f"({share.iloc[0]:.1%} then {share.iloc[-1]:.1%} of those segments' revenue), over "
        f"{len(series)} monitor dates."
    ]
    if len(series) >= 2:
        prev = series.iloc[-2]
        rise = (
            (last["high_risk_revenue"] - prev["high_risk_revenue"]) / prev["high_risk_revenue"]
            if prev["high_risk_revenue"] > 0
            else float("nan")
        )
        if math.isfinite(rise):
            out.append(f"Since {iso_day(prev['as_of'])}: {_pct(rise)}.")
        else:
            # Up from nothing: a share of zero is no figure.
            out.append(f"None of it was at High risk on {iso_day(prev['as_of'])}.")
    if not bool(monitor["fit_converged"].all()):
        bad = sorted(set(monitor.loc[~monitor["fit_converged"].astype(bool), "as_of"]))
        out.append(
            f"The fit did not converge on {', '.join(map(iso_day, bad))}: read those with care."
        )
    return out


def early_warning_findings(early_warning: pd.DataFrame) -> list[str]:
    """The list's size and predicted value, by value segment."""
    if early_warning.empty:
        return ["No Active or Warm customer is at High churn risk."]
    e = with_float_columns(early_warning, ("predicted_clv_365d", "lifetime_revenue"))
    per = e.groupby("value_segment").agg(
        customers=("customer_unique_id", "size"), clv=("predicted_clv_365d", "sum")
    )
    order = [s for s in schema.VALUE_SEGMENTS if s in per.index]
    parts = ", ".join(
        f"{s} {int(per.loc[s, 'customers']):,} ({_money(per.loc[s, 'clv'])})" for s in order
    )
    return [
        f"{len(e):,} customers are still Active or Warm but at High churn risk, with "
        f"{_money(e['predicted_clv_365d'].sum())} of predicted 365-day value and "
        f"{_money(e['lifetime_revenue'].sum())} of revenue to date: {parts}."
    ]


def prediction_section_markdown(
    backtest: pd.DataFrame,
    monitor: pd.DataFrame,
    early_warning: pd.DataFrame,
    tie_share: float = DEFAULT_TIE_SHARE,
) -> str:
    """The section as Markdown: a heading and one paragraph per table's findings.
    ``tie_share`` is ``MetricParams.backtest_tie_share`` (GOODPULSE_BACKTEST_TIE_SHARE)."""
    blocks = [
        f"## {SECTIONS['predictions']}",
        "**Holdout backtest.** " + " ".join(backtest_findings(backtest, tie_share)),
        "**Churn risk over time.** " + " ".join(monitor_findings(monitor)),
        "**Early warning.** " + " ".join(early_warning_findings(early_warning)),
    ]
    return "\n\n".join(blocks) + "\n"
