"""Jobs, schedules and sensors. Each ``build_*`` returns what the Definitions object holds."""

from goodpulse_dagster.automation.alerts import build_alert_sensors
from goodpulse_dagster.automation.jobs import analytics_job, lake_job
from goodpulse_dagster.automation.schedules import daily_lake_schedule, quarterly_lake_schedule
from goodpulse_dagster.automation.sensors import analytics_automation_sensor, landing_zone_sensor
from goodpulse_dagster.settings import AlertSettings


def build_jobs() -> list:
    return [lake_job, analytics_job]


def build_schedules() -> list:
    return [quarterly_lake_schedule, daily_lake_schedule]


def build_sensors(alerts: AlertSettings | None = None) -> list:
    """The landing-zone and automation sensors, plus the alert sensors when ``alerts`` configures
    a channel (automation/alerts.py)."""
    return [
        landing_zone_sensor,
        analytics_automation_sensor,
        *build_alert_sensors(alerts or AlertSettings()),
    ]
