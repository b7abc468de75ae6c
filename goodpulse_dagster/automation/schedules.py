"""Schedules of the lake job. Gold, KPI and report follow through declarative automation
(``conditions.py``, ``analytics_automation_sensor``), so a schedule only refreshes a quarter.

Both are stopped by default; docs/automation.md says how to switch them on.

``build_schedule_from_partitioned_job`` is not used: with ``end_offset=1`` the newest partition is
the quarter in progress, so on the first day of a quarter it would pick the quarter that has just
opened, not the one that has just closed.
"""

from datetime import UTC, date, datetime, timedelta

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
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


@schedule(
    name=QUARTERLY_SCHEDULE,
    job=lake_job,
    # 03:00 on the first day of each quarter: late drops of the last day are in, and the daily
    # run of the new quarter (02:00) is out of the way.
    cron_schedule="0 3 1 1,4,7,10 *",
    execution_timezone=TIMEZONE,
    default_status=DefaultScheduleStatus.STOPPED,
    description=(
        "Refreshes the quarter that has just closed (bronze + silver of that partition, and the "
        "dimension tables); gold, KPI and the report follow through declarative automation."
    ),
)
def quarterly_lake_schedule(context: ScheduleEvaluationContext):
    key = closed_quarter_key(_tick_time(context))
    return RunRequest(partition_key=key, tags={SCHEDULE_TAG: QUARTERLY_SCHEDULE})


@schedule(
    name=DAILY_SCHEDULE,
    job=lake_job,
    cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE,
    default_status=DefaultScheduleStatus.STOPPED,
    description=(
        "Refreshes the quarter in progress every night (bronze + silver of the current "
        "partition, and the dimension tables); gold, KPI and the report follow."
    ),
)
def daily_lake_schedule(context: ScheduleEvaluationContext):
    key = current_quarter_key(_tick_time(context))
    return RunRequest(partition_key=key, tags={SCHEDULE_TAG: DAILY_SCHEDULE})


schedules = [quarterly_lake_schedule, daily_lake_schedule]
