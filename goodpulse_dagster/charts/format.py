"""Label texts shared by the charts and the report: compact money, dates and cohort periods."""

from __future__ import annotations

import numpy as np
import pandas as pd

CURRENCY = "R$"


def money_short(x: float) -> str:
    """Compact currency for axes and labels: R$ 1.2M, R$ 35k, R$ 940."""
    if x is None or not np.isfinite(x):
        return "n/a"
    ax = abs(x)
    if ax >= 1e9:
        return f"{CURRENCY} {x / 1e9:.1f}B"
    if ax >= 1e6:
        return f"{CURRENCY} {x / 1e6:.1f}M"
    if ax >= 1e4:
        return f"{CURRENCY} {x / 1e3:.0f}k"
    if ax >= 1e3:
        return f"{CURRENCY} {x / 1e3:.1f}k"
    return f"{CURRENCY} {x:.0f}"


def period_label(ts: pd.Timestamp, grain: str) -> str:
    if grain == "quarter":
        return f"{ts.year}-Q{(ts.month - 1) // 3 + 1}"
    return ts.strftime("%Y-%m")


def iso_day(value) -> str:
    """A date as YYYY-MM-DD, whether it came as a date, a datetime or a pandas Timestamp."""
    return pd.Timestamp(value).date().isoformat()
