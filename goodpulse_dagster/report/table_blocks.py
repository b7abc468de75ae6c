"""Table blocks built from a KPI table: a segment table, and a pivot shaded by value."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from goodpulse_dagster.report.blocks import Table
from goodpulse_dagster.report.formatting import fmt_int, fmt_money, fmt_pct
from goodpulse_dagster.report.inputs import col_share, is_num


def ordered_rows(df: pd.DataFrame, col: str, order: Sequence[str]) -> pd.DataFrame:
    """Rows in the canonical category order, unknown categories after them alphabetically."""
    rank = {v: i for i, v in enumerate(order)}
    key = df[col].map(lambda v: (rank.get(v, len(order)), str(v)))
    return df.assign(_k=key).sort_values("_k").drop(columns="_k")


SEGMENT_COLUMNS = [
    "Customers",
    "Share of customers",
    "Revenue",
    "Share of revenue",
    "Revenue per customer",
]


def segment_table(df: pd.DataFrame, col: str, label: str, order: Sequence[str]) -> Table:
    rows = []
    for _, r in ordered_rows(df, col, order).iterrows():
        rows.append(
            [
                str(r[col]),
                fmt_int(r["customers"]),
                fmt_pct(col_share(df, r, "customer_share", "customers")),
                fmt_money(r["revenue"]),
                fmt_pct(col_share(df, r, "revenue_share", "revenue")),
                fmt_money(r["revenue_per_customer"], 2),
            ]
        )
    return Table([label, *SEGMENT_COLUMNS], rows, [False] + [True] * 5)


def heat_table(
    df: pd.DataFrame,
    value: str,
    fmt: Callable[[object], str],
    rows_col: str,
    cols_col: str,
    row_order: Sequence[str],
    col_order: Sequence[str],
    corner: str,
    totals: bool = True,
    cell_text: Callable[[str, str], str] | None = None,
) -> Table:
    """A pivot as a table whose cells are shaded by value (relative to the largest cell)."""
    grid = df.pivot_table(index=rows_col, columns=cols_col, values=value, aggfunc="sum")
    rows = [r for r in row_order if r in grid.index] + sorted(
        r for r in grid.index if r not in row_order
    )
    cols = [c for c in col_order if c in grid.columns] + sorted(
        c for c in grid.columns if c not in col_order
    )
    grid = grid.reindex(index=rows, columns=cols)
    vmax = np.nanmax(grid.to_numpy(dtype=float)) if grid.size else np.nan
    out_rows, heat = [], []
    for r in rows:
        cells = [str(r)]
        shades: list[float | None] = [None]
        for c in cols:
            v = grid.at[r, c]
            cells.append(cell_text(r, c) if cell_text else fmt(v))
            shades.append(float(v / vmax) if is_num(v) and is_num(vmax) and vmax > 0 else 0.0)
        if totals:
            cells.append(fmt(grid.loc[r].sum()))
            shades.append(None)
        out_rows.append(cells)
        heat.append(shades)
    if totals:
        cells = ["Total", *(fmt(grid[c].sum()) for c in cols), fmt(np.nansum(grid.to_numpy()))]
        out_rows.append(cells)
        heat.append([None] * len(cells))
    header = [corner, *map(str, cols), *(["Total"] if totals else [])]
    return Table(header, out_rows, [False] + [True] * (len(header) - 1), heat=heat)
