"""Numbers, dates and periods as the report prints them; "n/a" for a missing value."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from goodpulse_dagster import charts
from goodpulse_dagster.charts import CURRENCY
from goodpulse_dagster.report.inputs import is_num

NA = "n/a"


def fmt_int(x: object) -> str:
    return f"{float(x):,.0f}" if is_num(x) else NA


def fmt_money(x: object, decimals: int = 0) -> str:
    return f"{CURRENCY} {float(x):,.{decimals}f}" if is_num(x) else NA


def fmt_money_short(x: object) -> str:
    return charts.money_short(float(x)) if is_num(x) else NA


def fmt_pct(x: object, decimals: int = 1) -> str:
    """A share as a percentage; a positive share that would round to zero is "<0.1%", so a small
    group never reads as an empty one ("0.0% of customers" for 5 Power Users)."""
    if not is_num(x):
        return NA
    value = float(x) * 100
    step = 10.0**-decimals
    if 0 < value < step / 2:
        return f"<{step:.{decimals}f}%"
    return f"{value:.{decimals}f}%"


def fmt_points(x: object) -> str:
    """A difference of two shares in percentage points, signed: "+5.2 points"."""
    return f"{float(x) * 100:+.1f} points" if is_num(x) else NA


def fmt_num(x: object, decimals: int = 2) -> str:
    return f"{float(x):.{decimals}f}" if is_num(x) else NA


def fmt_date(x: object) -> str:
    ts = pd.Timestamp(x) if x is not None and not pd.isna(x) else None
    return ts.strftime("%Y-%m-%d") if ts is not None else NA


def fmt_month(x: object) -> str:
    ts = pd.Timestamp(x) if x is not None and not pd.isna(x) else None
    return ts.strftime("%b %Y") if ts is not None else NA


def fmt_period(x: object, grain: str) -> str:
    """A cohort period as an executive reads it: "Mar 2017" or "Q1 2017"."""
    ts = pd.Timestamp(x) if x is not None and not pd.isna(x) else None
    if ts is None:
        return NA
    return f"Q{(ts.month - 1) // 3 + 1} {ts.year}" if grain == "quarter" else fmt_month(ts)


def months_list(values: Iterable[object]) -> str:
    return ", ".join(fmt_month(v) for v in values)
