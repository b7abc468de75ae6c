"""The tables the report reads, normalised to the columns of the table specs (schema/), and small readers of
their values that treat NULL, NaN and infinity alike (as "no value")."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from goodpulse_dagster import schema
from goodpulse_dagster.report.names import TABLE_COLUMNS

# Money (DECIMAL) is shown as a float: the report only presents it.
_NUMERIC_TYPES = (schema.BIGINT, schema.INTEGER, schema.DOUBLE, schema.MONEY)
_TEMPORAL_TYPES = (schema.DATE, schema.TIMESTAMP)


def normalise_table(name: str, df: pd.DataFrame | None) -> pd.DataFrame:
    """``df`` with exactly the schema columns of ``name``: numbers as float (NaN for NULL), dates
    as datetime64, booleans as nullable booleans, text as object with None. A missing table
    becomes an empty frame; a table that lacks schema columns is an error (the contract broke).
    """
    cols = TABLE_COLUMNS[name]
    if df is None:
        df = pd.DataFrame(columns=list(cols))
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(
            f"table {name!r} lacks columns {missing}; the table spec (schema/) defines {list(cols)}"
        )
    out = df[list(cols)].copy()
    for col, sql_type in cols.items():
        s = out[col]
        if sql_type in _NUMERIC_TYPES:
            out[col] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif sql_type in _TEMPORAL_TYPES:
            out[col] = pd.to_datetime(s, errors="coerce")
        elif sql_type == "BOOLEAN":
            out[col] = s.astype("boolean")
        else:
            out[col] = s.astype(object).where(s.notna(), None)
    return out.reset_index(drop=True)


def is_num(x: object) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and math.isfinite(float(x))


def first_number(s: pd.Series) -> float | None:
    """The first finite value of a column (for headline values repeated on every row)."""
    vals = pd.to_numeric(s, errors="coerce").dropna()
    vals = vals[np.isfinite(vals)]
    return float(vals.iloc[0]) if len(vals) else None


def as_flags(s: pd.Series) -> pd.Series:
    return s.fillna(False).astype(bool)


def share_of(part: float | None, whole: float | None) -> float | None:
    return part / whole if is_num(part) and is_num(whole) and whole else None


def row_where(df: pd.DataFrame, col: str, value: str) -> pd.Series | None:
    hit = df[df[col] == value]
    return hit.iloc[0] if len(hit) else None


def col_share(df: pd.DataFrame, row: pd.Series, share_col: str, base_col: str) -> float | None:
    """``row[share_col]`` when present, else ``row[base_col]`` over the column total."""
    value = row[share_col]
    if is_num(value):
        return float(value)
    return share_of(row[base_col], df[base_col].sum())
