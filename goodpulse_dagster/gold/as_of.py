"""The reference date (as_of) of a run: explicit, or derived from the orders (refused when the
latest purchases are a tiny share of orders far after all the others). Gold, KPI and prediction
transforms all take it from here (docs/metric_decisions.md).

A helper query, not a table: its SQL stays here rather than in ``models/``.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from goodpulse_dagster.engine import Input, run_sql, session
from goodpulse_dagster.errors import UserInputError
from goodpulse_dagster.params import MetricParams


def compute_as_of(lifecycle: Input, params: MetricParams) -> date | None:
    """The reference date: ``params.as_of`` if set, else the date of the latest purchase timestamp
    among ALL orders (any status). ``None`` only when there are no orders and no override.

    A derived date is refused (``UserInputError``, ``as_of_outliers``) when the latest purchases
    are a tiny share of orders far after all the others: a mistyped year would otherwise move
    as_of years ahead and make nearly every customer Dormant, with every check green.
    """
    if params.as_of is not None:
        return params.as_of
    latest = (
        run_sql(
            "SELECT max(order_purchase_timestamp)::DATE AS latest FROM lifecycle",
            {"lifecycle": lifecycle},
        )
        .column("latest")[0]
        .as_py()
    )
    outliers = as_of_outliers(lifecycle, params)
    if outliers is not None:
        raise UserInputError(outliers.message())
    return latest  # type: ignore[return-value]


# How many outlying orders the as_of error names (the count is always given).
AS_OF_OUTLIERS_NAMED = 10

_AS_OF_GAP_SQL = """
WITH purchases AS (
    SELECT order_id, order_purchase_timestamp AS ts
    FROM lifecycle WHERE order_purchase_timestamp IS NOT NULL
),
gaps AS (
    SELECT
        ts,
        lag(ts) OVER w AS previous_ts,
        epoch(ts - lag(ts) OVER w) / 86400.0 AS gap_days,
        -- Orders from this one to the end (this one included), and all orders.
        count(*) OVER (w ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS tail,
        count(*) OVER () AS total
    FROM purchases
    WINDOW w AS (ORDER BY ts, order_id)
)
-- The earliest gap after which the orders are a tiny share: it holds every outlying order.
SELECT ts, previous_ts, gap_days, tail, total FROM gaps
WHERE gap_days > $max_gap_days AND tail <= $max_share * total
ORDER BY ts
LIMIT 1
"""


class AsOfOutliers(NamedTuple):
    """Orders whose purchase times lie after a long gap at the end of the data."""

    orders: list[tuple[str, object]]  # (order_id, purchase timestamp), the first few
    count: int
    total: int
    gap_days: float
    previous_purchase: object
    max_gap_days: int
    max_share: float

    def message(self) -> str:
        named = ", ".join(f"{oid} (purchased {ts:%Y-%m-%d %H:%M:%S})" for oid, ts in self.orders)
        more = f" and {self.count - len(self.orders)} more" if self.count > len(self.orders) else ""
        first_date = f"{self.orders[0][1]:%Y-%m-%d}"
        return (
            f"The reference date (as_of) cannot be derived from the orders: {self.count} of "
            f"{self.total} orders ({self.count / self.total:.3%}) were purchased after a gap of "
            f"{self.gap_days:.0f} days (more than GOODPULSE_AS_OF_MAX_GAP_DAYS={self.max_gap_days}"
            f"; at most GOODPULSE_AS_OF_OUTLIER_MAX_SHARE={self.max_share} of the orders) since "
            f"the previous purchase on {self.previous_purchase:%Y-%m-%d}: order {named}{more}. "
            f"A mistyped date would make as_of {first_date} or later and nearly every customer "
            "Dormant. Fix the purchase date in the orders export, or set GOODPULSE_AS_OF="
            "YYYY-MM-DD (the analytics settings' as_of) to the reference date you mean."
        )


def as_of_outliers(lifecycle: Input, params: MetricParams) -> AsOfOutliers | None:
    """The orders that would wrongly decide a derived as_of, or None (docs/metric_decisions.md).

    Purchase times (all orders, any status) are sorted; the earliest gap of more than
    ``params.as_of_max_gap_days`` after which at most ``params.as_of_outlier_max_share`` of all
    orders remain marks those remaining orders as outliers. A share of 0 turns the rule off.
    """
    sql_params = {
        "max_gap_days": params.as_of_max_gap_days,
        "max_share": params.as_of_outlier_max_share,
    }
    with session({"lifecycle": lifecycle}) as s:
        row = s.sql(_AS_OF_GAP_SQL, sql_params).fetchall()
        if not row:
            return None
        start, previous, gap_days, tail, total = row[0]
        named = s.sql(
            "SELECT order_id, order_purchase_timestamp FROM lifecycle "
            "WHERE order_purchase_timestamp >= $start "
            "ORDER BY order_purchase_timestamp, order_id LIMIT $n",
            {"start": start, "n": AS_OF_OUTLIERS_NAMED},
        ).fetchall()
    return AsOfOutliers(
        orders=[(oid, ts) for oid, ts in named],
        count=int(tail),
        total=int(total),
        gap_days=float(gap_days),
        previous_purchase=previous,
        max_gap_days=params.as_of_max_gap_days,
        max_share=params.as_of_outlier_max_share,
    )
