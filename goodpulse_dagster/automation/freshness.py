"""When the freshness checks (automation/freshness_checks.py) are evaluated outside pipeline runs.

A check's outcome changes with the clock alone (a file grows old, the report falls behind), and
no run would record it: ``freshness_sensor`` evaluates the rules itself every few minutes and
starts a check-only run of ``freshness_checks_job`` for the checks whose outcome differs from
the last one it launched (remembered in the sensor cursor). So the UI shows a check turning WARN
or ERROR within one tick, and an unchanged state starts no run: Dagster's own
``build_sensor_for_freshness_checks`` schedules only the checks of
``build_last_update_freshness_checks``.
"""

import json

from dagster import (
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)

from goodpulse_dagster.automation.freshness_checks import (
    FRESHNESS_CHECK_KEYS,
    FreshnessInputs,
    FreshnessSettings,
)
from goodpulse_dagster.automation.jobs import RUN_EXECUTOR, RUN_KIND_TAG
from goodpulse_dagster.resources.storage import LandingZoneResource

FRESHNESS_JOB = "freshness_checks_job"
FRESHNESS_SENSOR = "freshness_sensor"
# Not `lake` or `analytics`: a freshness run reads the instance and lists the landing zone, it
# never writes the lake or the warehouse, so the run queue's tag limits do not hold it back.
FRESHNESS_RUN = "freshness"
FRESHNESS_INTERVAL_SECONDS = 300

freshness_checks_job = define_asset_job(
    FRESHNESS_JOB,
    selection=AssetSelection.checks(*FRESHNESS_CHECK_KEYS),
    description="The freshness checks of the landing zone, silver and the report (no asset runs).",
    executor_def=RUN_EXECUTOR,
    run_tags={RUN_KIND_TAG: FRESHNESS_RUN},
)


def outcomes(findings) -> dict[str, bool]:
    return {key.to_user_string(): f.passed for key, f in findings.items()}


def changed_checks(previous: dict[str, bool] | None, current: dict[str, bool]) -> list[str]:
    """The checks whose outcome differs from ``previous`` (every check on a first tick)."""
    previous = previous or {}
    return sorted(k for k, passed in current.items() if previous.get(k) != passed)


@sensor(
    name=FRESHNESS_SENSOR,
    job=freshness_checks_job,
    minimum_interval_seconds=FRESHNESS_INTERVAL_SECONDS,
    # Running by default: its runs only evaluate checks, and without it a stale report or a
    # landing zone gone quiet would show nowhere.
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Evaluates the freshness rules of the landing zone, silver and the report every 5 "
        "minutes and runs the freshness checks whose outcome changed, so the UI shows them."
    ),
)
def freshness_sensor(
    context: SensorEvaluationContext, landing: LandingZoneResource, freshness: FreshnessSettings
):
    findings = FreshnessInputs(context.instance, landing.zone()).evaluate(freshness)
    current = outcomes(findings)
    previous = json.loads(context.cursor) if context.cursor else None
    changed = changed_checks(previous, current)
    if not changed:
        failing = sorted(k for k, passed in current.items() if not passed)
        return SkipReason(
            "no freshness outcome changed"
            + (f"; still failing: {', '.join(failing)}" if failing else "; all fresh")
        )
    by_name = {k.to_user_string(): k for k in findings}
    context.log.info("freshness outcome changed: " + ", ".join(changed))
    return SensorResult(
        run_requests=[RunRequest(asset_check_keys=[by_name[k] for k in changed])],
        cursor=json.dumps(current, sort_keys=True),
    )
