"""The delivery chart: average review score per delivery-days bucket."""

from __future__ import annotations

import numpy as np
import pandas as pd

from goodpulse_dagster.charts.data import (
    drawn_from_finite_rows,
    floats,
)
from goodpulse_dagster.charts.style import SIZE
from goodpulse_dagster.charts.svg import PRIMARY, Series, canvas, column_panel


@drawn_from_finite_rows("avg_review_score")
def delivery_review_chart(d: pd.DataFrame) -> str | None:
    """Average review score per delivery-days bucket; the title carries the correlation."""
    d = d.assign(bucket_order=pd.to_numeric(d["bucket_order"], errors="coerce")).sort_values(
        "bucket_order"
    )
    corr = pd.to_numeric(d["correlation"], errors="coerce").dropna()
    scores = floats(d["avg_review_score"])
    labels = [
        f"{s:.2f}\n{o:,.0f} orders" if np.isfinite(o) else f"{s:.2f}"
        for s, o in zip(scores, floats(d["orders"]), strict=True)
    ]
    r = f" (correlation r = {corr.iloc[0]:.2f})" if len(corr) else ""
    svg, area = canvas(SIZE, f"Review score by delivery time{r}")
    buckets = [str(b) for b in d["delivery_bucket"]]
    column_panel(
        svg,
        area,
        buckets,
        [Series(scores, [PRIMARY] * len(buckets), labels)],
        value_fmt=lambda v: f"{v:.0f}",
        fixed_ticks=[0, 1, 2, 3, 4, 5],  # review scores run from 1 to 5
        x_title="delivery days (purchase to delivery)",
        y_title="average review score",
    )
    return svg.render()
