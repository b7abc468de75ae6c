"""Freshness checks: is data arriving, and does each layer keep up with the one before it?

- ``raw/<table>`` ``files_arrived`` (WARN), on the order-grain tables (orders, items, payments,
  reviews: the exports that arrive day after day; a dimension file arrives when the dimension
  changes, which may be never): the newest file of the table in the landing zone is at most
  GOODPULSE_RAW_MAX_AGE_HOURS old.
- ``silver/<table>`` ``up_to_date_with_landing`` (ERROR), on every silver table built from a
  source table: no file of that table has waited unread for more than
  GOODPULSE_SILVER_MAX_LAG_HOURS, i.e. arrived (its modification time) after silver's last
  materialization that long ago. The landing-zone sensor starts a run within a minute and the
  daily schedule within a day, so a longer wait means the lake runs are off or failing.
- ``report/executive_report`` ``up_to_date_with_silver`` (ERROR): the report has not been older
  than silver data for more than one automation cycle, GOODPULSE_AUTOMATION_CYCLE_MINUTES (a
  tick of the analytics automation sensor, the run queue, and one analytics run).

What the silver check cannot see: it compares file times with silver's last materialization of
any quarter, so a file of quarter A that arrived before a run of quarter B counts as read even if
A's own run failed (the run-failure alert reports that run), and identical bytes dropped again (a
new modification time, but no run: the landing sensor versions files by content) count as
unread until the next lake run of that table.

"Waited for more than X" is measured from the oldest change the downstream layer has not seen,
not from the newest: with the newest, a stream of drops (or of silver refreshes) that arrive
more often than X would hide a downstream that never runs.

Dagster's ``build_last_update_freshness_checks`` compares one asset's last update with the clock;
these compare two layers (and a raw file's time, which no Dagster event records), so they are
asset checks of their own. They run in three places: after their asset in any run that
materializes it (where they pass, the asset being new), in the check-only runs that
``freshness_sensor`` (automation/freshness.py) starts when an outcome changes, and from the UI
(an asset's Checks tab, "Execute").

The rules are pure functions of timestamps (``raw_arrival``, ``layer_lag``), tested on both sides
of each threshold; the checks only gather the timestamps (``FreshnessInputs``).
"""

# No `from __future__ import annotations`: Dagster reads the `context` annotation of a check.
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    ConfigurableResource,
    DagsterInstance,
    asset_check,
)

from goodpulse_dagster.landing.zone import LandingZone
from goodpulse_dagster.resources.storage import LandingZoneResource
from goodpulse_dagster.schema import (
    EXECUTIVE_REPORT,
    PARTITIONED_TABLES,
    RAW,
    REPORT,
    SILVER,
    SILVER_TABLES,
    SOURCE_TABLES,
)

FRESHNESS_RESOURCE = "freshness"
RAW_CHECK = "files_arrived"
SILVER_CHECK = "up_to_date_with_landing"
REPORT_CHECK = "up_to_date_with_silver"
REPORT_KEY = AssetKey([REPORT, EXECUTIVE_REPORT])
RAW_TABLES = PARTITIONED_TABLES
# unified_user_lifecycle is built from other silver tables, not from files: the report's check
# covers it.
SILVER_SOURCE_TABLES = tuple(t for t in SILVER_TABLES if t in SOURCE_TABLES)
SILVER_KEYS = tuple(AssetKey([SILVER, t]) for t in SILVER_TABLES)


class FreshnessSettings(ConfigurableResource):
    """The thresholds of the freshness checks (settings.py reads them from the environment)."""

    raw_max_age_hours: float = 26.0
    silver_max_lag_hours: float = 26.0
    automation_cycle_minutes: float = 30.0


@dataclass(frozen=True)
class Finding:
    passed: bool
    description: str
    metadata: dict


def _when(ts: float | None) -> str:
    if ts is None:
        return "never"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def raw_arrival(
    table: str, newest: float | None, newest_key: str | None, now: float, max_age_hours: float
) -> Finding:
    """Passed when the newest file of ``table`` (modified at ``newest``, epoch seconds) is at most
    ``max_age_hours`` old at ``now``; failed when it is older or there is no file at all."""
    limit = max_age_hours * 3600
    metadata = {"newest_file": newest_key or "none", "max_age_hours": max_age_hours}
    if newest is None:
        return Finding(False, f"No {table} file in the landing zone.", metadata)
    age = now - newest
    metadata["newest_file_at"] = _when(newest)
    metadata["age_hours"] = _hours(age)
    if age <= limit:
        return Finding(
            True,
            f"Newest {table} file {newest_key} arrived {_hours(age)} h ago "
            f"(limit {max_age_hours} h).",
            metadata,
        )
    return Finding(
        False,
        f"No {table} file has arrived for {_hours(age)} h (limit {max_age_hours} h): the newest, "
        f"{newest_key}, arrived {_when(newest)}. Is the export that fills the landing zone running?",
        metadata,
    )


def layer_lag(
    what: str,
    behind: str,
    updated: float | None,
    behind_since: float | None,
    now: float,
    max_lag_seconds: float,
) -> Finding:
    """Passed unless ``what`` (last updated at ``updated``) has been missing a change of
    ``behind`` for more than ``max_lag_seconds``: ``behind_since`` is the time of the oldest
    change of ``behind`` after ``updated`` (None when there is none)."""
    metadata = {
        "last_updated": _when(updated),
        "unseen_change_since": _when(behind_since),
        "max_lag_minutes": round(max_lag_seconds / 60, 2),
    }
    if behind_since is None:
        return Finding(True, f"{what} is up to date with {behind}.", metadata)
    lag = now - behind_since
    metadata["lag_minutes"] = round(lag / 60, 2)
    if lag <= max_lag_seconds:
        return Finding(
            True,
            f"{behind} changed {round(lag / 60, 1)} min ago, after {what} was last updated "
            f"({_when(updated)}); still within the {round(max_lag_seconds / 60, 1)} min allowed.",
            metadata,
        )
    return Finding(
        False,
        f"{what} (last updated {_when(updated)}) has not followed {behind} for "
        f"{round(lag / 60, 1)} min (allowed {round(max_lag_seconds / 60, 1)} min): {behind} changed "
        f"at {_when(behind_since)}. Look for failed, skipped or stopped runs, or switched-off "
        "automation.",
        metadata,
    )


# --- Gathering the timestamps --------------------------------------------------------------------


def latest_materialization(instance: DagsterInstance, key: AssetKey) -> float | None:
    """When ``key`` was last materialized (any partition), epoch seconds."""
    event = instance.get_latest_materialization_event(key)
    return event.timestamp if event is not None else None


def first_materialization_after(
    instance: DagsterInstance, keys: Iterable[AssetKey], after: float | None
) -> float | None:
    """The earliest materialization of any of ``keys`` after ``after`` (all time when None)."""
    times = []
    for key in keys:
        result = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=key, after_timestamp=after), limit=1, ascending=True
        )
        times += [r.timestamp for r in result.records]
    return min(times, default=None)


class FreshnessInputs:
    """The timestamps the checks compare, from the instance and one listing of the landing zone."""

    def __init__(
        self, instance: DagsterInstance, zone: LandingZone | None = None, now: float | None = None
    ):
        self.instance = instance
        self.now = time.time() if now is None else now
        self._zone = zone
        self._objects: list | None = None

    def files(self, table: str) -> list[tuple[float, str]]:
        """(modification time, key) of each file of ``table``, oldest first; the zone is listed
        once per ``FreshnessInputs``, on first use (the report's check never lists it)."""
        if self._objects is None:
            self._objects = self._zone.source_objects() if self._zone is not None else []
        return sorted((o.modified, o.key) for o in self._objects if o.table == table)

    def raw(self, table: str, settings: FreshnessSettings) -> Finding:
        files = self.files(table)
        newest, key = files[-1] if files else (None, None)
        return raw_arrival(table, newest, key, self.now, settings.raw_max_age_hours)

    def silver(self, table: str, settings: FreshnessSettings) -> Finding:
        updated = latest_materialization(self.instance, AssetKey([SILVER, table]))
        unread = [ts for ts, _key in self.files(table) if updated is None or ts > updated]
        return layer_lag(
            f"silver/{table}",
            f"the landing zone's {table} files",
            updated,
            min(unread, default=None),
            self.now,
            settings.silver_max_lag_hours * 3600,
        )

    def report(self, settings: FreshnessSettings) -> Finding:
        updated = latest_materialization(self.instance, REPORT_KEY)
        return layer_lag(
            REPORT_KEY.to_user_string(),
            "silver",
            updated,
            first_materialization_after(self.instance, SILVER_KEYS, updated),
            self.now,
            settings.automation_cycle_minutes * 60,
        )

    def evaluate(self, settings: FreshnessSettings) -> dict[AssetCheckKey, Finding]:
        """Every freshness check's finding (what the sensor compares between ticks)."""
        findings = {
            AssetCheckKey(AssetKey([RAW, t]), RAW_CHECK): self.raw(t, settings) for t in RAW_TABLES
        }
        findings.update(
            {
                AssetCheckKey(AssetKey([SILVER, t]), SILVER_CHECK): self.silver(t, settings)
                for t in SILVER_SOURCE_TABLES
            }
        )
        findings[AssetCheckKey(REPORT_KEY, REPORT_CHECK)] = self.report(settings)
        return findings


# --- The checks ----------------------------------------------------------------------------------


def _result(finding: Finding, severity: AssetCheckSeverity) -> AssetCheckResult:
    return AssetCheckResult(
        passed=finding.passed,
        severity=severity,
        description=finding.description,
        metadata=finding.metadata,
    )


# How a landing-zone check judges its table: FreshnessInputs.raw or FreshnessInputs.silver.
_Judge = Callable[[FreshnessInputs, str, FreshnessSettings], Finding]


def _landing_check(
    key: AssetKey, name: str, description: str, judge: _Judge, severity: AssetCheckSeverity
):
    """A check of ``key``'s table against the landing zone's files: ``judge`` decides."""
    table = key.path[-1]

    @asset_check(asset=key, name=name, description=description)
    def _check(
        context: AssetCheckExecutionContext,
        landing: LandingZoneResource,
        freshness: FreshnessSettings,
    ) -> AssetCheckResult:
        inputs = FreshnessInputs(context.instance, landing.zone())
        return _result(judge(inputs, table, freshness), severity)

    return _check


def _raw_check(table: str):
    return _landing_check(
        AssetKey([RAW, table]),
        RAW_CHECK,
        f"WARN when no `{table}` file has arrived in the landing zone for more than "
        "GOODPULSE_RAW_MAX_AGE_HOURS (newest file's modification time).",
        FreshnessInputs.raw,
        AssetCheckSeverity.WARN,
    )


def _silver_check(table: str):
    return _landing_check(
        AssetKey([SILVER, table]),
        SILVER_CHECK,
        f"ERROR when a `{table}` file of the landing zone has waited unread (modified after "
        f"silver/{table} was last materialized) for more than GOODPULSE_SILVER_MAX_LAG_HOURS.",
        FreshnessInputs.silver,
        AssetCheckSeverity.ERROR,
    )


@asset_check(
    asset=REPORT_KEY,
    name=REPORT_CHECK,
    description=(
        "ERROR when a silver table was materialized after the report and the report has not "
        "followed within one automation cycle (GOODPULSE_AUTOMATION_CYCLE_MINUTES)."
    ),
)
def report_freshness_check(
    context: AssetCheckExecutionContext, freshness: FreshnessSettings
) -> AssetCheckResult:
    finding = FreshnessInputs(context.instance).report(freshness)
    return _result(finding, AssetCheckSeverity.ERROR)


def build_freshness_checks() -> list:
    return [
        *(_raw_check(t) for t in RAW_TABLES),
        *(_silver_check(t) for t in SILVER_SOURCE_TABLES),
        report_freshness_check,
    ]


FRESHNESS_CHECK_KEYS: tuple[AssetCheckKey, ...] = (
    *(AssetCheckKey(AssetKey([RAW, t]), RAW_CHECK) for t in RAW_TABLES),
    *(AssetCheckKey(AssetKey([SILVER, t]), SILVER_CHECK) for t in SILVER_SOURCE_TABLES),
    AssetCheckKey(REPORT_KEY, REPORT_CHECK),
)
