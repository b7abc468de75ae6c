"""Charts of the predictive-health section (docs/predictions.md): the holdout backtest, the
churn-risk trend and the early-warning list, one per prediction KPI table."""

from __future__ import annotations

import pandas as pd

from goodpulse_dagster import schema
from goodpulse_dagster.charts.data import (
    with_float_columns,
)
from goodpulse_dagster.charts.format import iso_day, money_short
from goodpulse_dagster.charts.style import SIZE, VALUE_COLORS
from goodpulse_dagster.charts.svg import (
    ACCENT,
    AXIS,
    GRID,
    LABEL_SIZE,
    MUTED,
    NEUTRAL,
    PRIMARY,
    TEXT,
    TITLE_SIZE,
    Svg,
    nice_ticks,
)

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
    b = with_float_columns(backtest, ("expected_repeat_orders",))
    bars = [("Actual", float(b["actual_repeat_orders"].iloc[0]), NEUTRAL)] + [
        (str(r["model"]), float(r["expected_repeat_orders"]), c)
        for (_, r), c in zip(b.iterrows(), (PRIMARY, ACCENT), strict=False)
    ]
    width, height = SIZE
    svg = Svg(width, height, "Holdout repeat purchase days: actual vs expected")
    svg.text(_LEFT, 28, "Holdout repeat purchase days: actual vs expected", size=TITLE_SIZE,
             fill=TEXT, bold=True)  # fmt: skip
    first = b.iloc[0]
    svg.text(_LEFT, 44, f"fitted up to {iso_day(first['calibration_end'])}, scored to "
             f"{iso_day(first['holdout_end'])}", size=LABEL_SIZE, fill=MUTED)  # fmt: skip
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
    m = with_float_columns(monitor, ("high_risk_revenue",)).sort_values("as_of")
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
        svg.text(x(i), bottom + 20, iso_day(d), size=LABEL_SIZE, anchor="middle", fill=MUTED)
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
    e = with_float_columns(early_warning, ("predicted_clv_365d",))
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


# The chart of each prediction KPI table, by table name.
PREDICTION_CHARTS = {
    "prediction_backtest": backtest_chart,
    "churn_risk_monitor": churn_trend_chart,
    "early_warning": early_warning_chart,
}
