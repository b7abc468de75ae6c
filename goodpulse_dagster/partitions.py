"""Order-grain tables are partitioned by the calendar quarter of the order's purchase time."""

from __future__ import annotations

from datetime import date, datetime

from dagster import TimeWindowPartitionsDefinition

QUARTER_CRON = "0 0 1 */3 *"
FIRST_QUARTER = "2016-07-01"
PARTITION_KEY_FORMAT = "%Y-%m-%d"

# end_offset=1 makes the quarter in progress a partition too, so the daily schedule and the
# landing-zone sensor can refresh it before it closes.
quarterly_partitions = TimeWindowPartitionsDefinition(
    cron_schedule=QUARTER_CRON,
    start=FIRST_QUARTER,
    fmt=PARTITION_KEY_FORMAT,
    end_offset=1,
)


def quarter_start(moment: date | datetime) -> date:
    return date(moment.year, 3 * ((moment.month - 1) // 3) + 1, 1)


def partition_key_for(moment: date | datetime) -> str:
    """The partition key of the quarter containing ``moment`` (e.g. '2017-01-01')."""
    return quarter_start(moment).strftime(PARTITION_KEY_FORMAT)


def partition_key_for_label(label: str) -> str:
    """'2017-Q1' (a per-quarter drop's file name) -> '2017-01-01'."""
    year, q = label.split("-Q")
    return date(int(year), 3 * (int(q) - 1) + 1, 1).strftime(PARTITION_KEY_FORMAT)
