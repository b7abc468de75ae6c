"""The purchase calendar of the simulated marketplace, and the time arithmetic every table shares.

Times are held as int64 epoch seconds (days as epoch days) until they are written as text; a
missing timestamp is :data:`NULL_TIMESTAMP`.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from goodpulse_dagster.sample_data.randomness import cdf

FIRST_PURCHASE_DAY = date(2016, 9, 4)
LAST_PURCHASE_DAY = date(2018, 10, 17)
# Orders per purchase month: the shape of the real Olist history (slow 2016 start, 2017 growth,
# 2018 plateau, a thin tail after the 2018-08 cut-off). November 2017 is raised above its real
# count so that it stays the peak month even in small samples.
ORDERS_PER_MONTH: dict[tuple[int, int], float] = {
    (2016, 9): 4,
    (2016, 10): 324,
    (2016, 11): 0,
    (2016, 12): 1,
    (2017, 1): 800,
    (2017, 2): 1780,
    (2017, 3): 2682,
    (2017, 4): 2404,
    (2017, 5): 3700,
    (2017, 6): 3245,
    (2017, 7): 4026,
    (2017, 8): 4331,
    (2017, 9): 4285,
    (2017, 10): 4631,
    (2017, 11): 8600,
    (2017, 12): 5673,
    (2018, 1): 7269,
    (2018, 2): 6728,
    (2018, 3): 7211,
    (2018, 4): 6939,
    (2018, 5): 6873,
    (2018, 6): 6167,
    (2018, 7): 6292,
    (2018, 8): 6512,
    (2018, 9): 16,
    (2018, 10): 4,
}
BLACK_FRIDAY = date(2017, 11, 24)
# Day offset from Black Friday -> multiplier of that day's weight (the weekend and Cyber Monday).
BLACK_FRIDAY_BOOST = {0: 6.0, 1: 2.5, 2: 1.8, 3: 2.0}
WEEKDAY_WEIGHTS = np.array([1.16, 1.15, 1.10, 1.07, 1.03, 0.76, 0.82])  # Monday .. Sunday
HOUR_WEIGHTS = np.array(
    [2394, 1170, 510, 272, 206, 188, 502, 1231, 2967, 4785, 6177, 6578]
    + [5995, 6518, 6569, 6454, 6675, 6150, 5769, 5982, 6193, 6217, 5816, 4123],
    dtype=float,
)
# Orders whose delivery would fall after the export was taken are still "shipped" in it.
SNAPSHOT_END = date(2018, 10, 18)

SECONDS_PER_DAY = 86_400
NULL_TIMESTAMP = np.iinfo(np.int64).min  # an empty timestamp cell


def day_number(day: date) -> int:
    """Epoch days of a date."""
    return (day - date(1970, 1, 1)).days


def midnight(seconds: np.ndarray) -> np.ndarray:
    """The start of the day of epoch seconds."""
    return seconds - seconds % SECONDS_PER_DAY


def purchase_days() -> tuple[np.ndarray, np.ndarray]:
    """Start second and cumulative probability of every purchase day (weekday, month, Black
    Friday shape)."""
    days = np.arange(day_number(FIRST_PURCHASE_DAY), day_number(LAST_PURCHASE_DAY) + 1)
    weights = WEEKDAY_WEIGHTS[(days + 3) % 7].copy()  # 1970-01-01 was a Thursday
    for offset, boost in BLACK_FRIDAY_BOOST.items():
        weights[days == day_number(BLACK_FRIDAY) + offset] *= boost
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    month_keys, month_of_day = np.unique(months, return_inverse=True)
    target = np.array(
        [ORDERS_PER_MONTH[(int(str(m)[:4]), int(str(m)[5:7]))] for m in month_keys], dtype=float
    )
    month_weight = np.bincount(month_of_day, weights=weights)
    scale = np.divide(target, month_weight, out=np.zeros_like(target), where=month_weight > 0)
    return days.astype(np.int64) * SECONDS_PER_DAY, cdf(weights * scale[month_of_day])


def quarter_number(seconds: np.ndarray) -> np.ndarray:
    """Quarters since 1970-Q1 of epoch seconds (the partition of an order-grain row)."""
    months = seconds.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    return (months // 3).astype(np.int32)


def purchase_quarters() -> range:
    """Quarter numbers of every quarter of the purchase window (see :func:`quarter_number`)."""
    first, last = (
        int(quarter_number(np.array([day_number(day) * SECONDS_PER_DAY]))[0])
        for day in (FIRST_PURCHASE_DAY, LAST_PURCHASE_DAY)
    )
    return range(first, last + 1)
