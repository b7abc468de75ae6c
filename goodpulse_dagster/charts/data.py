"""Reading a table for a chart: finite values only, categories in their canonical order."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd


def ordered(values: Iterable[str], order: Sequence[str]) -> list[str]:
    """Known categories in their canonical order, then any others alphabetically (never dropped)."""
    present = [v for v in dict.fromkeys(values) if isinstance(v, str)]
    return [c for c in order if c in present] + sorted(c for c in present if c not in order)


def finite_rows(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    """Rows where every named column is a finite number (NaN/None/inf dropped)."""
    if df is None or df.empty:
        return pd.DataFrame(columns=list(df.columns) if df is not None else list(cols))
    out = df.copy()
    for c in cols:
        out[c] = pd.to_numeric(out[c], errors="coerce")
    mask = np.isfinite(out[list(cols)].astype(float)).all(axis=1)
    return out[mask]


def drawn_from_finite_rows(*cols: str):
    """Decorator of a chart function ``chart(df, ...) -> svg``: the chart gets only the rows of
    ``df`` where every column of ``cols`` is a finite number (``finite_rows``), and is not drawn
    (None) when no row is left: a chart with nothing to show is no chart."""

    def decorate(chart: Callable[..., str | None]) -> Callable[..., str | None]:
        @functools.wraps(chart)
        def draw(df: pd.DataFrame, *args, **kwargs) -> str | None:
            rows = finite_rows(df, *cols)
            return None if rows.empty else chart(rows, *args, **kwargs)

        return draw

    return decorate


def floats(s: pd.Series) -> list[float]:
    """A column as plain floats (NaN where it is not a number)."""
    return pd.to_numeric(s, errors="coerce").astype(float).tolist()


def pivot_grid(d: pd.DataFrame, rows: str, cols: str, value: str, how: str = "sum") -> pd.DataFrame:
    """``value`` aggregated into a rows x cols table (NaN where a combination has no row)."""
    return d.groupby([rows, cols])[value].agg(how).unstack()


def with_float_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    return frame.assign(**{c: pd.to_numeric(frame[c].astype(float)) for c in columns})
