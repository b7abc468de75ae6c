"""Schedules of the lake job. Gold, KPI and report follow through declarative automation
(``conditions.py``, ``analytics_automation_sensor``), so a schedule only refreshes a quarter.

Both are stopped by default; docs/automation.md says how to switch them on.

``build_schedule_from_partitioned_job`` is not used: with ``end_offset=1`` the newest partition is
the quarter in progress, so on the first day of a quarter it would pick the quarter that has just
opened, not the one that has just closed.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)

from goodpulse_dagster.automation.jobs import lake_job
from goodpulse_dagster.partitions import partition_key_for, quarter_start

QUARTERLY_SCHEDULE = "quarterly_lake_schedule"
DAILY_SCHEDULE = "daily_lake_schedule"
SCHEDULE_TAG = "goodpulse/schedule"
# The partitions are UTC quarters; the schedules run on the same clock.
TIMEZONE = "UTC"


def closed_quarter_key(moment: date | datetime) -> str:
    """The partition key of the last quarter that closed before ``moment``."""
    return partition_key_for(quarter_start(moment) - timedelta(days=1))


def current_quarter_key(moment: date | datetime) -> str:
    return partition_key_for(moment)


def _tick_time(context: ScheduleEvaluationContext) -> datetime:
    # scheduled_execution_time is None only when a schedule is evaluated by hand.
    return context.scheduled_execution_time or datetime.now(UTC)


def _lake_schedule(
    name: str, cron: str, quarter_key: Callable[[datetime], str], description: str
) -> ScheduleDefinition:
    """A stopped schedule of the lake job that refreshes the partition ``quarter_key`` picks."""

    @schedule(
        name=name,
        job=lake_job,
        cron_schedule=cron,
        execution_timezone=TIMEZONE,
        default_status=DefaultScheduleStatus.STOPPED,
        description=description,
    )
    def _lake_schedule_tick(context: ScheduleEvaluationContext):
        key = quarter_key(_tick_time(context))
        return RunRequest(partition_key=key, tags={SCHEDULE_TAG: name})

    return _lake_schedule_tick


quarterly_lake_schedule = _lake_schedule(
    QUARTERLY_SCHEDULE,
    # 03:00 on the first day of each quarter: late drops of the last day are in, and the daily
    # run of the new quarter (02:00) is out of the way.
    "0 3 1 1,4,7,10 *",
    closed_quarter_key,
    "Refreshes the quarter that has just closed (bronze + silver of that partition, and the "
    "dimension tables); gold, KPI and the report follow through declarative automation.",
)

daily_lake_schedule = _lake_schedule(
    DAILY_SCHEDULE,
    "0 2 * * *",
    current_quarter_key,
    "Refreshes the quarter in progress every night (bronze + silver of the current "
    "partition, and the dimension tables); gold, KPI and the report follow.",
)


schedules = [quarterly_lake_schedule, daily_lake_schedule]
