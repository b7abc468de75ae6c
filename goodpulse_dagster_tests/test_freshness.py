"""Freshness checks (automation/freshness_checks.py) and their sensor (automation/freshness.py).

- the rules on hand-set timestamps, one second either side of each threshold;
- the timestamps gathered from real runs: files whose modification times a test sets, the
  materializations a real lake and analytics run record, evaluated at hand-set moments around
  each threshold;
- the checks as Dagster runs them (freshness_checks_job, the lake and analytics jobs) with their
  severities, and the sensor's run requests tick after tick.
"""

import json
import os
import time
from pathlib import Path

import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    DagsterInstance,
    RunRequest,
    build_sensor_context,
)

from goodpulse_dagster.automation.freshness import (
    FRESHNESS_JOB,
    FRESHNESS_SENSOR,
    changed_checks,
)
from goodpulse_dagster.automation.freshness_checks import (
    RAW_CHECK,
    REPORT_CHECK,
    REPORT_KEY,
    SILVER_CHECK,
    FreshnessInputs,
    FreshnessSettings,
    layer_lag,
    raw_arrival,
)
from goodpulse_dagster.definitions import build_definitions
from goodpulse_dagster.errors import UserSettingsError
from goodpulse_dagster.settings import load_settings
from goodpulse_dagster_tests.pipeline import (
    QUIET,
    lake_settings,
    materialize_analytics,
    materialize_lake,
)
from goodpulse_dagster_tests.small_lake import write_small_landing_zone

HOUR = 3600.0
NOW = 1_780_000_000.0  # 2026-05-28 20:26:40 UTC: a fixed moment, so the rules never read the clock here
Q1, Q2 = "2017-01-01", "2017-04-01"
ORDERS_FILE = "olist_orders_dataset.csv"


# --- the rules --------------------------------------------------------------------------------


def test_raw_arrival_warns_one_second_past_the_max_age():
    fresh = raw_arrival("orders", NOW - 26 * HOUR + 1, "2026-Q2.csv", NOW, 26)
    stale = raw_arrival("orders", NOW - 26 * HOUR - 1, "2026-Q2.csv", NOW, 26)
    at_limit = raw_arrival("orders", NOW - 26 * HOUR, "2026-Q2.csv", NOW, 26)
    assert (fresh.passed, at_limit.passed, stale.passed) == (True, True, False)
    assert stale.metadata["age_hours"] == 26.0
    assert stale.metadata["newest_file"] == "2026-Q2.csv"
    assert stale.description.startswith("No orders file has arrived for 26.0 h (limit 26 h)")
    assert "2026-05-27 18:26:39 UTC" in stale.description
    # No file at all is not fresh either.
    none = raw_arrival("orders", None, None, NOW, 26)
    assert (none.passed, none.description) == (False, "No orders file in the landing zone.")


def test_layer_lag_errors_one_second_past_the_allowed_lag():
    cycle = 30 * 60
    updated = NOW - 2 * HOUR
    within = layer_lag("report", "silver", updated, NOW - cycle + 1, NOW, cycle)
    past = layer_lag("report", "silver", updated, NOW - cycle - 1, NOW, cycle)
    assert (within.passed, past.passed) == (True, False)
    assert past.metadata["lag_minutes"] == 30.02
    assert past.metadata["max_lag_minutes"] == 30.0
    assert "has not followed silver for 30.0 min (allowed 30.0 min)" in past.description
    # Nothing newer than the report: up to date however old both are.
    quiet = layer_lag("report", "silver", NOW - 1000 * HOUR, None, NOW, cycle)
    assert (quiet.passed, quiet.metadata["unseen_change_since"]) == (True, "never")
    # Never built while its input changed long ago: stale.
    never = layer_lag("report", "silver", None, NOW - 2 * cycle, NOW, cycle)
    assert (never.passed, never.metadata["last_updated"]) == (False, "never")


def test_thresholds_come_from_settings():
    defaults = load_settings({})
    assert (
        defaults.raw_max_age_hours,
        defaults.silver_max_lag_hours,
        defaults.automation_cycle_minutes,
    ) == (26.0, 26.0, 30.0)
    custom = load_settings(
        {
            "GOODPULSE_RAW_MAX_AGE_HOURS": "48",
            "GOODPULSE_SILVER_MAX_LAG_HOURS": "2.5",
            "GOODPULSE_AUTOMATION_CYCLE_MINUTES": "10",
        }
    )
    assert (
        custom.raw_max_age_hours,
        custom.silver_max_lag_hours,
        custom.automation_cycle_minutes,
    ) == (48.0, 2.5, 10.0)
    resource = build_definitions(custom).resources["freshness"]
    assert (resource.raw_max_age_hours, resource.automation_cycle_minutes) == (48.0, 10.0)
    for bad in ("0", "-1", "soon"):
        with pytest.raises(UserSettingsError, match="GOODPULSE_RAW_MAX_AGE_HOURS"):
            load_settings({"GOODPULSE_RAW_MAX_AGE_HOURS": bad})


def test_changed_checks():
    assert changed_checks(None, {"a": True, "b": False}) == ["a", "b"]
    assert changed_checks({"a": True, "b": False}, {"a": True, "b": False}) == []
    assert changed_checks({"a": True, "b": False}, {"a": False, "b": False}) == ["a"]


# --- timestamps from a real landing zone and real runs -----------------------------------------


def set_mtime(path: Path, ts: float) -> None:
    os.utime(path, (ts, ts))


def small_zone(tmp_path: Path, mtime: float) -> Path:
    raw = write_small_landing_zone(tmp_path / "raw")
    for path in raw.rglob("*.csv"):
        set_mtime(path, mtime)
    return raw


def materialized_at(instance: DagsterInstance, key: AssetKey) -> float:
    return instance.get_latest_materialization_event(key).timestamp


def test_silver_and_report_lag_from_real_runs(tmp_path):
    raw = small_zone(tmp_path, time.time() - 3 * HOUR)
    settings = lake_settings(tmp_path / "home", raw)
    landing = build_definitions(settings).resources["landing"]
    limits = FreshnessSettings(
        raw_max_age_hours=26, silver_max_lag_hours=2, automation_cycle_minutes=30
    )
    cycle, silver_lag = 30 * 60, 2 * HOUR
    instance = DagsterInstance.ephemeral()

    def at(now: float) -> FreshnessInputs:
        return FreshnessInputs(instance, landing.zone(), now=now)

    # Before any run: every file is unread by silver, and has been for 3 h > 2 h.
    orders_file = raw / ORDERS_FILE
    unread = at(time.time()).silver("orders", limits)
    assert not unread.passed and unread.metadata["last_updated"] == "never"

    assert materialize_lake(settings, Q1, Q2, instance=instance).success
    silver_at = materialized_at(instance, AssetKey(["silver", "orders"]))
    # Every file is older than the run: silver is up to date, however late it is evaluated.
    assert at(silver_at + 1000 * HOUR).silver("orders", limits).passed
    # The report was never built: stale one cycle after silver's first materialization.
    first_silver = min(
        materialized_at(instance, AssetKey(["silver", t]))
        for t in ("orders", "customers", "order_items", "unified_user_lifecycle")
    )
    assert at(first_silver + cycle - 1).report(limits).passed
    late = at(first_silver + cycle + 1).report(limits)
    assert not late.passed and late.metadata["last_updated"] == "never"

    # A new orders export lands after the run (its modification time set by hand).
    arrived = silver_at + 1
    set_mtime(orders_file, arrived)
    assert at(arrived + silver_lag - 1).silver("orders", limits).passed
    behind = at(arrived + silver_lag + 1).silver("orders", limits)
    assert not behind.passed
    assert behind.metadata["lag_minutes"] == 120.02
    assert "silver/orders" in behind.description
    # Another table's files did not change: its silver table is up to date.
    assert at(arrived + silver_lag + 1).silver("customers", limits).passed
    # The raw orders file arrived just now: fresh for 26 h, WARN after.
    assert at(arrived + 26 * HOUR).raw("orders", limits).passed
    old = at(arrived + 26 * HOUR + 1).raw("orders", limits)
    assert not old.passed and old.metadata["newest_file"] == ORDERS_FILE

    # The analytics run builds the report after silver: up to date.
    assert materialize_analytics(settings, instance=instance).success
    report_at = materialized_at(instance, REPORT_KEY)
    assert report_at > silver_at
    assert at(report_at + 1000 * HOUR).report(limits).passed
    # The lake runs again, after the new file's time: it reads the file, and the report is
    # behind from that moment.
    time.sleep(max(0.0, arrived + 0.1 - time.time()))
    assert materialize_lake(settings, Q1, Q2, instance=instance).success
    assert at(time.time() + 1000 * HOUR).silver("orders", limits).passed
    again = min(
        e.timestamp
        for t in ("orders", "customers")
        for e in [instance.get_latest_materialization_event(AssetKey(["silver", t]))]
    )
    assert again > report_at
    assert at(again + cycle - 1).report(limits).passed
    assert not at(again + cycle + 1).report(limits).passed


# --- the checks in Dagster runs, and the sensor -------------------------------------------------


def evaluations(result) -> dict[tuple[str, str], object]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }


def test_checks_in_runs_and_the_sensor(tmp_path):
    now = time.time()
    raw = small_zone(tmp_path, now - 30 * HOUR)  # 30 h old: past the 26 h default
    # The order items export arrived an hour ago.
    set_mtime(raw / "olist_order_items_dataset.csv", now - HOUR)
    # A cycle of 0.01 min (0.6 s): the report falls behind silver within the test.
    settings = lake_settings(tmp_path / "home", raw, GOODPULSE_AUTOMATION_CYCLE_MINUTES="0.01")
    defs = build_definitions(settings)
    instance = DagsterInstance.ephemeral()

    # The lake run evaluates the silver freshness checks after their tables: they pass.
    lake = materialize_lake(settings, Q1, Q2, instance=instance)
    lake_evals = evaluations(lake)
    silver_freshness = {k: e for k, e in lake_evals.items() if k[1] == SILVER_CHECK}
    assert len(silver_freshness) == 11 and all(e.passed for e in silver_freshness.values())
    time.sleep(1.0)

    job = defs.resolve_job_def(FRESHNESS_JOB)
    result = job.execute_in_process(instance=instance, run_config=QUIET, raise_on_error=False)
    assert result.success  # a failed check is a finding, not a failed run
    assert result.get_asset_materialization_events() == []  # checks only
    evals = evaluations(result)
    assert len(evals) == 4 + 11 + 1
    orders = evals[("raw/orders", RAW_CHECK)]
    assert (orders.passed, orders.severity) == (False, AssetCheckSeverity.WARN)
    assert orders.metadata["age_hours"].value == 30.0
    items = evals[("raw/order_items", RAW_CHECK)]
    assert (items.passed, items.metadata["age_hours"].value) == (True, 1.0)
    report = evals[("report/executive_report", REPORT_CHECK)]
    assert (report.passed, report.severity) == (False, AssetCheckSeverity.ERROR)
    assert report.metadata["last_updated"].text == "never"
    assert all(e.passed for k, e in evals.items() if k[1] == SILVER_CHECK)

    # The sensor: a first tick runs every check; an unchanged state runs nothing.
    sensor = defs.resolve_sensor_def(FRESHNESS_SENSOR)
    # Running by default, every 5 minutes, on the check-only job.
    assert sensor.default_status.value == "RUNNING"
    assert (sensor.job_name, sensor.minimum_interval_seconds) == (FRESHNESS_JOB, 300)
    assert job.run_tags["goodpulse/run_kind"] == "freshness"
    resources = {"landing": defs.resources["landing"], "freshness": defs.resources["freshness"]}

    def tick(cursor=None):
        # A context manager: the nested S3 resource of `landing` is set up for the tick, as in
        # the daemon.
        with build_sensor_context(instance=instance, resources=resources, cursor=cursor) as ctx:
            return sensor.evaluate_tick(ctx)

    first = tick()
    [request] = first.run_requests
    assert isinstance(request, RunRequest) and len(request.asset_check_keys) == 16
    cursor = json.loads(first.cursor)
    assert cursor["raw/orders:files_arrived"] is False
    assert cursor["report/executive_report:up_to_date_with_silver"] is False
    second = tick(first.cursor)
    assert second.run_requests == []
    assert "still failing: raw/order_payments:files_arrived" in second.skip_message

    # A new orders export arrives and the report is built: only those two checks are run, and
    # the analytics run records the report's check passing.
    set_mtime(raw / ORDERS_FILE, time.time())
    analytics = materialize_analytics(settings, instance=instance)
    report_eval = evaluations(analytics)[("report/executive_report", REPORT_CHECK)]
    assert report_eval.passed
    third = tick(first.cursor)
    [request] = third.run_requests
    assert sorted(k.to_user_string() for k in request.asset_check_keys) == [
        "raw/orders:files_arrived",
        "report/executive_report:up_to_date_with_silver",
    ]
    assert AssetCheckKey(AssetKey(["raw", "orders"]), RAW_CHECK) in request.asset_check_keys
