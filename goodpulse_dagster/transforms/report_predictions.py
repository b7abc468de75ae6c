"""The report's predictive-health section (issue 19), from the three prediction KPI tables.

Pure functions, no Dagster: ``prediction_section_markdown`` writes the findings from
``kpi.prediction_backtest``, ``kpi.churn_risk_monitor`` and ``kpi.early_warning`` (pandas, money
as floats or decimals); ``prediction_charts`` draws their charts as SVG with the report's chart
primitives (``charts.Svg``, ``charts.nice_ticks``, ``charts.money_short``). Every sentence is
derived from the tables: whether the model beats the naive baseline is decided here from the
backtest's figures and said either way.
"""

from __future__ import annotations

import base64
import math

import pandas as pd

from goodpulse_dagster import schema
from goodpulse_dagster.transforms.charts import (
    ACCENT,
    AXIS,
    GRID,
    LABEL_SIZE,
    MUTED,
    NEUTRAL,
    PRIMARY,
    SIZE,
    TEXT,
    TITLE_SIZE,
    VALUE_COLORS,
    Svg,
    money_short,
    nice_ticks,
)
from goodpulse_dagster.transforms.params import MetricParams
from goodpulse_dagster.transforms.predictions import TOP_VALUE_SEGMENTS, high_risk_revenue_series

SECTION_TITLE = "Predictive customer health"
DEFAULT_TIE_SHARE = MetricParams().backtest_tie_share


def _money(x: float) -> str:
    return f"R$ {x:,.2f}"


def _day(value) -> str:
    """A date as YYYY-MM-DD, whether it came as a date, a datetime or a pandas Timestamp."""
    return pd.Timestamp(value).date().isoformat()


def _pct(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:+.1%}"


def _floats(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    return frame.assign(**{c: pd.to_numeric(frame[c].astype(float)) for c in columns})


def backtest_findings(backtest: pd.DataFrame, tie_share: float = DEFAULT_TIE_SHARE) -> list[str]:
    """Expected vs actual in the holdout, and the model against the baseline."""
    if backtest.empty:
        return ["No backtest: there were no orders before the calibration cut."]
    b = _floats(backtest, ("expected_repeat_orders", "aggregate_error", "mae", "rmse"))
    model_name, naive_name = schema.PREDICTION_MODELS
    model = b[b["model"] == model_name].iloc[0]
    naive = b[b["model"] == naive_name].iloc[0]
    out = [
        f"Fitted on completed orders up to {_day(model['calibration_end'])} and scored on the "
        f"{int(model['holdout_days'])} days to {_day(model['holdout_end'])}: the "
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
    m = _floats(monitor, ("high_risk_revenue", "revenue"))
    top = m[m["value_segment"].isin(TOP_VALUE_SEGMENTS)].groupby("as_of")
    share = (top["high_risk_revenue"].sum() / top["revenue"].sum()).sort_index()
    first, last = series.iloc[0], series.iloc[-1]
    if not (series["high_risk_revenue"] > 0).any():
        # Nothing to trend: "went from R$ 0.00 to R$ 0.00 (0.0% then 0.0%)" reads as a figure.
        return [
            f"No High Value or VIP customer was at High churn risk on any of the {len(series)} "
            f"monitor dates ({_day(first['as_of'])} to {_day(last['as_of'])})."
        ]
    out = [
        f"High Value and VIP revenue held by High-risk customers went from "
        f"{_money(first['high_risk_revenue'])} on {_day(first['as_of'])} to "
        f"{_money(last['high_risk_revenue'])} on {_day(last['as_of'])} "
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
            out.append(f"Since {_day(prev['as_of'])}: {_pct(rise)}.")
        else:
            # Up from nothing: a share of zero is no figure.
            out.append(f"None of it was at High risk on {_day(prev['as_of'])}.")
    if not bool(monitor["fit_converged"].all()):
        bad = sorted(set(monitor.loc[~monitor["fit_converged"].astype(bool), "as_of"]))
        out.append(
            f"The fit did not converge on {', '.join(map(_day, bad))}: read those with care."
        )
    return out


def early_warning_findings(early_warning: pd.DataFrame) -> list[str]:
    """The list's size and predicted value, by value segment."""
    if early_warning.empty:
        return ["No Active or Warm customer is at High churn risk."]
    e = _floats(early_warning, ("predicted_clv_365d", "lifetime_revenue"))
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
        f"## {SECTION_TITLE}",
        "**Holdout backtest.** " + " ".join(backtest_findings(backtest, tie_share)),
        "**Churn risk over time.** " + " ".join(monitor_findings(monitor)),
        "**Early warning.** " + " ".join(early_warning_findings(early_warning)),
    ]
    return "\n\n".join(blocks) + "\n"


# --- charts ------------------------------------------------------------------------------------

_LEFT, _RIGHT, _TOP, _BOTTOM = 70, 20, 50, 50


def _axis(svg: Svg, ticks: list[float], y, fmt) -> None:
    for v in ticks:
        svg.line(_LEFT, y(v), svg.width - _RIGHT, y(v), stroke=GRID)
        svg.text(_LEFT - 6, y(v) + 4, fmt(v), size=LABEL_SIZE, anchor="end", fill=MUTED)
    svg.line(_LEFT, y(ticks[0]), svg.width - _RIGHT, y(ticks[0]), stroke=AXIS)


def backtest_chart(backtest: pd.DataFrame) -> str | None:
    """Actual vs expected repeat purchase days in the holdout: the model and the baseline."""
    if backtest.empty:
        return None
    b = _floats(backtest, ("expected_repeat_orders",))
    bars = [("Actual", float(b["actual_repeat_orders"].iloc[0]), NEUTRAL)] + [
        (str(r["model"]), float(r["expected_repeat_orders"]), c)
        for (_, r), c in zip(b.iterrows(), (PRIMARY, ACCENT), strict=False)
    ]
    width, height = SIZE
    svg = Svg(width, height, "Holdout repeat purchase days: actual vs expected")
    svg.text(_LEFT, 28, "Holdout repeat purchase days: actual vs expected", size=TITLE_SIZE,
             fill=TEXT, bold=True)  # fmt: skip
    first = b.iloc[0]
    svg.text(_LEFT, 44, f"fitted up to {_day(first['calibration_end'])}, scored to "
             f"{_day(first['holdout_end'])}", size=LABEL_SIZE, fill=MUTED)  # fmt: skip
    ticks = nice_ticks(0, max(v for _, v, _ in bars) or 1.0, 6)
    bottom, top = height - _BOTTOM, _TOP + 10

    def y(v: float) -> float:
        return bottom - (v - ticks[0]) / ((ticks[-1] - ticks[0]) or 1) * (bottom - top)

    _axis(svg, ticks, y, lambda v: f"{v:,.0f}")
    band = (width - _LEFT - _RIGHT) / len(bars)
    for i, (label, value, color) in enumerate(bars):
        x0 = _LEFT + i * band + band * 0.2
        svg.rect(x0, y(value), x0 + band * 0.6, y(0), fill=color)
        svg.text(x0 + band * 0.3, y(value) - 6, f"{value:,.1f}", size=LABEL_SIZE, anchor="middle",
                 fill=TEXT)  # fmt: skip
        svg.text(x0 + band * 0.3, bottom + 20, label, size=LABEL_SIZE, anchor="middle", fill=TEXT)
    return svg.render()


def churn_trend_chart(monitor: pd.DataFrame) -> str | None:
    """High-risk revenue per monitor date, one line per value segment."""
    if monitor.empty:
        return None
    m = _floats(monitor, ("high_risk_revenue",)).sort_values("as_of")
    dates = sorted(set(m["as_of"]))
    width, height = SIZE
    title = "Revenue of High churn-risk customers, by value segment"
    svg = Svg(width, height, title)
    svg.text(_LEFT, 28, title, size=TITLE_SIZE, fill=TEXT, bold=True)
    ticks = nice_ticks(0, float(m["high_risk_revenue"].max()) or 1.0, 6)
    bottom, top = height - _BOTTOM, _TOP + 20

    def y(v: float) -> float:
        return bottom - (v - ticks[0]) / ((ticks[-1] - ticks[0]) or 1) * (bottom - top)

    def x(i: int) -> float:
        room = width - _LEFT - _RIGHT - 40
        return _LEFT + 20 + (room * i / (len(dates) - 1) if len(dates) > 1 else room / 2)

    _axis(svg, ticks, y, money_short)
    for i, d in enumerate(dates):
        svg.text(x(i), bottom + 20, _day(d), size=LABEL_SIZE, anchor="middle", fill=MUTED)
    for k, segment in enumerate(schema.VALUE_SEGMENTS):
        rows = m[m["value_segment"] == segment]
        points = [(x(dates.index(d)), y(v)) for d, v in zip(rows["as_of"], rows["high_risk_revenue"],
                                                             strict=True)]  # fmt: skip
        color = VALUE_COLORS[segment]
        if len(points) > 1:
            svg.path(points, close=False, fill="none", stroke=color, stroke_width=2.5)
        for px, py in points:
            svg.circle(px, py, 3.5, color)
        svg.rect(_LEFT + k * 150, _TOP - 4, _LEFT + k * 150 + 12, _TOP + 8, fill=color)
        svg.text(_LEFT + k * 150 + 18, _TOP + 7, segment, size=LABEL_SIZE, fill=TEXT)
    return svg.render()


def early_warning_chart(early_warning: pd.DataFrame) -> str | None:
    """Customers on the early-warning list per value segment, labelled with their predicted
    365-day value."""
    if early_warning.empty:
        return None
    e = _floats(early_warning, ("predicted_clv_365d",))
    per = e.groupby("value_segment").agg(
        customers=("customer_unique_id", "size"), clv=("predicted_clv_365d", "sum")
    )
    segments = [s for s in schema.VALUE_SEGMENTS if s in per.index]
    width, height = SIZE
    title = "Early-warning list: Active or Warm customers at High churn risk"
    svg = Svg(width, height, title)
    svg.text(_LEFT, 28, title, size=TITLE_SIZE, fill=TEXT, bold=True)
    svg.text(_LEFT, 44, "customers per value segment · their predicted 365-day CLV",
             size=LABEL_SIZE, fill=MUTED)  # fmt: skip
    ticks = nice_ticks(0, float(per["customers"].max()), 6, min_step=1)
    bottom, top = height - _BOTTOM, _TOP + 10

    def y(v: float) -> float:
        return bottom - (v - ticks[0]) / ((ticks[-1] - ticks[0]) or 1) * (bottom - top)

    _axis(svg, ticks, y, lambda v: f"{v:,.0f}")
    band = (width - _LEFT - _RIGHT) / len(segments)
    for i, s in enumerate(segments):
        x0 = _LEFT + i * band + band * 0.2
        n, clv = int(per.loc[s, "customers"]), float(per.loc[s, "clv"])
        svg.rect(x0, y(n), x0 + band * 0.6, y(0), fill=VALUE_COLORS[s])
        svg.text(x0 + band * 0.3, y(n) - 6, f"{n:,} · {money_short(clv)}", size=LABEL_SIZE,
                 anchor="middle", fill=TEXT)  # fmt: skip
        svg.text(x0 + band * 0.3, bottom + 20, s, size=LABEL_SIZE, anchor="middle", fill=TEXT)
    return svg.render()


CHARTS = {
    "prediction_backtest": backtest_chart,
    "churn_risk_monitor": churn_trend_chart,
    "early_warning": early_warning_chart,
}


def svg_markdown(svg: str, title: str) -> str:
    """An SVG as a Markdown image with a base64 data URI (the Dagster UI renders it)."""
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
    return f"![{title}]({uri})"


def prediction_chart_markdown(table_name: str, frame: pd.DataFrame) -> str | None:
    """The chart of one prediction KPI table as Markdown, or None when there is nothing to draw."""
    chart = CHARTS[table_name](frame)
    return None if chart is None else svg_markdown(chart, table_name.replace("_", " "))
