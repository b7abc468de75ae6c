"""Jobs, schedules and sensors. Each ``build_*`` returns what the Definitions object holds."""

from goodpulse_dagster.automation.jobs import analytics_job, lake_job


def build_jobs() -> list:
    return [lake_job, analytics_job]


def build_schedules() -> list:
    return []


def build_sensors() -> list:
    return []
