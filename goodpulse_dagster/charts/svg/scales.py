"""Value axes: round tick values (``nice_ticks``), the value-to-pixel ``Scale``, and the plain
number formats of tick labels."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from goodpulse_dagster.charts.svg.text import widest
from goodpulse_dagster.charts.svg.theme import FONT_SIZE


def pct_tick(v: float) -> str:
    """A share as a percentage with at most one decimal and no trailing zero: 40%, 2.5%."""
    text = f"{v * 100:.1f}".rstrip("0").rstrip(".")
    return "0%" if text in ("0", "-0") else text + "%"


def percent(x: float, decimals: int = 1) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x * 100:.{decimals}f}%"


def count_label(x: float) -> str:
    return f"{x:,.0f}"


def nice_ticks(lo: float, hi: float, max_ticks: int, min_step: float = 0.0) -> list[float]:
    """At most ``max_ticks`` evenly spaced round values covering [lo, hi], the step 1, 2 or 5
    times a power of ten and at least ``min_step`` (1 for counts, 0.001 for percentages printed
    with one decimal, so that no two ticks print the same)."""
    if not hi > lo:
        hi = lo + (abs(lo) or 1.0)
    k = math.floor(math.log10((hi - lo) / max(max_ticks, 2)))
    while True:
        for m in (1, 2, 5):
            step = m * 10.0**k
            if step < min_step * (1 - 1e-9):
                continue
            first = math.floor(lo / step + 1e-9)
            last = math.ceil(hi / step - 1e-9)
            if last - first + 1 <= max(max_ticks, 2):
                # round() removes float noise (0.30000000000000004), so labels and output are clean.
                return [round(i * step, 12) + 0.0 for i in range(first, last + 1)]
        k += 1


@dataclass(frozen=True)
class Scale:
    """Maps values in [lo, hi] to pixels in [start, end], linearly or on a log10 scale."""

    lo: float
    hi: float
    start: float
    end: float
    log: bool = False

    def __call__(self, v: float) -> float:
        lo, hi = self.lo, self.hi
        if self.log:
            v, lo, hi = math.log10(max(v, lo)), math.log10(lo), math.log10(hi)
        span = (hi - lo) or 1.0
        return self.start + (v - lo) / span * (self.end - self.start)


@dataclass(frozen=True)
class Ticks:
    values: list[float]
    labels: list[str]


def value_ticks(
    lo: float,
    hi: float,
    fmt: Callable[[float], str],
    length: float,
    *,
    min_step: float = 0.0,
    across: bool = False,
    size: float = FONT_SIZE,
) -> Ticks:
    """Ticks of a value axis ``length`` px long covering [lo, hi]: at most one every 40 px (60 px
    side by side on an x axis) and 9 in all, as many as keep every label distinct and, on an x
    axis (``across``), apart from its neighbours."""
    most = max(2, min(9, int(length // (60 if across else 40)) + 1))
    for n in range(most, 1, -1):
        values = nice_ticks(lo, hi, n, min_step)
        labels = [fmt(v) for v in values]
        if len(set(labels)) < len(labels):
            continue
        if across and len(values) > 1:
            spacing = length * (values[1] - values[0]) / (values[-1] - values[0])
            if widest(labels, size) + 14 > spacing:
                continue
        break
    return Ticks(values, labels)


def log_ticks(lo: float, hi: float, length: float) -> Ticks:
    """The powers of ten in [lo, hi], every other one (or fewer) when their labels would touch."""
    decades = list(range(math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9) + 1))
    values = [10.0**k for k in decades]
    labels = [f"{v:,.0f}" if v >= 1 else f"{v:g}" for v in values]
    spacing = length / max(math.log10(hi / lo), 1e-9)
    stride = 1
    while widest(labels, FONT_SIZE) + 14 > spacing * stride and stride < len(values):
        stride += 1
    return Ticks(values[::stride], labels[::stride])
