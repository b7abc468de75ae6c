"""Schedules, the landing-zone sensor (local directory and S3 API), and declarative automation."""

import os
import shutil
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    BetaWarning,
    DagsterInstance,
    PartitionKeyRange,
    PreviewWarning,
    RunRequest,
    SensorResult,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    evaluate_automation_conditions,
)

from goodpulse_dagster.automation import build_schedules, build_sensors
from goodpulse_dagster.automation.conditions import (
    ANALYTICS_CONDITION_LABEL,
    analytics_automation_condition,
)
from goodpulse_dagster.automation.jobs import ANALYTICS_RUN, LAKE_RUN, RUN_KIND_TAG
from goodpulse_dagster.automation.landing_logic import (
    LOOKBACK_SECONDS,
    LandingCursor,
    advance_cursor,
    new_objects,
    plan_runs,
)
from goodpulse_dagster.automation.schedules import (
    closed_quarter_key,
    daily_lake_schedule,
    quarterly_lake_schedule,
)
from goodpulse_dagster.automation.sensors import (
    AUTOMATION_SENSOR,
    LANDING_SENSOR,
    RANGE_END_TAG,
    RANGE_START_TAG,
    landing_zone_sensor,
)
from goodpulse_dagster.landing.zone import RawObject
from goodpulse_dagster.partitions import quarterly_partitions
from goodpulse_dagster.resources.storage import LandingZoneResource, S3Connection
from goodpulse_dagster.schema import (
    GOLD,
    KPI,
    PARTITIONED_TABLES,
    REPORT,
    SILVER_PARTITIONED_TABLES,
    SOURCE_TABLES,
)
from goodpulse_dagster_tests.rawdata import write_table
from goodpulse_dagster_tests.s3_server import s3_client

warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)

REPO = Path(__file__).resolve().parents[1]
VALID = set(quarterly_partitions.get_partition_keys())

# A few orders in two quarters (Q1 and Q2 2017), Kaggle headers.
ORDER_ROWS = [
    {"order_id": "o1", "customer_id": "c1", "order_status": "delivered",
     "order_purchase_timestamp": "2017-02-10 10:00:00"},
    {"order_id": "o2", "customer_id": "c2", "order_status": "delivered",
     "order_purchase_timestamp": "2017-03-31 23:59:59"},
    {"order_id": "o3", "customer_id": "c1", "order_status": "canceled",
     "order_purchase_timestamp": "2017-05-02 08:00:00"},
]  # fmt: skip
Q3_ORDER = {
    "order_id": "o4",
    "customer_id": "c2",
    "order_status": "shipped",
    "order_purchase_timestamp": "2017-08-15 12:00:00",
}
CUSTOMER_ROWS = [
    {"customer_id": "c1", "customer_unique_id": "u1", "customer_zip_code_prefix": "1310",
     "customer_city": "sao paulo", "customer_state": "SP"},
    {"customer_id": "c2", "customer_unique_id": "u2", "customer_zip_code_prefix": "20040",
     "customer_city": "rio de janeiro", "customer_state": "RJ"},
]  # fmt: skip
ITEM_ROWS = [
    {"order_id": "o1", "order_item_id": "1", "product_id": "p1", "seller_id": "s1",
     "shipping_limit_date": "2017-02-12 10:00:00", "price": "10.0", "freight_value": "2.5"},
]  # fmt: skip


def obj(key: str, modified: float, version: str = "v1") -> RawObject:
    return RawObject(key=key, size=1, modified=modified, version=version)


def file_name(table: str) -> str:
    return SOURCE_TABLES[table].file_name


# --- landing_logic: pure decisions -----------------------------------------------------------


def test_new_objects_follow_the_cursor_and_ignore_other_files():
    listing = [
        obj(file_name("orders"), 100.0),
        obj("orders/2017-Q1.csv", 200.0),
        obj("notes.txt", 300.0),
        obj("orders/.2017-Q2.csv.part", 300.0),
    ]
    first = new_objects(listing, LandingCursor())
    assert [o.key for o in first] == [file_name("orders"), "orders/2017-Q1.csv"]

    cursor = advance_cursor(LandingCursor(), listing, first)
    assert (cursor.modified, cursor.key) == (200.0, "orders/2017-Q1.csv")
    assert new_objects(listing, cursor) == []
    # The cursor survives a JSON round trip (it is stored by Dagster as a string).
    assert LandingCursor.from_json(cursor.to_json()) == cursor


def test_changed_file_and_late_timestamps_are_new_again():
    listing = [obj("orders/2017-Q1.csv", 200.0, "a"), obj("orders/2017-Q2.csv", 200.0, "b")]
    cursor = advance_cursor(LandingCursor(), listing, new_objects(listing, LandingCursor()))
    # Same key, new version, same one-second timestamp (an S3 re-upload within the second).
    changed = [obj("orders/2017-Q1.csv", 200.0, "a2"), listing[1]]
    assert [o.version for o in new_objects(changed, cursor)] == ["a2"]
    # A file whose timestamp is older than the cursor (a multipart upload that started before
    # the last tick) is still seen, inside the look-back window...
    late = [*listing, obj("order_items/2017-Q1.csv", 200.0 - LOOKBACK_SECONDS / 2)]
    assert [o.key for o in new_objects(late, cursor)] == ["order_items/2017-Q1.csv"]
    # ...and not beyond it.
    old = [*listing, obj("order_items/2017-Q1.csv", 200.0 - 2 * LOOKBACK_SECONDS)]
    assert new_objects(old, cursor) == []


def test_plan_quarter_drops_full_exports_and_dimensions():
    asked = []

    def order_quarters():
        asked.append(1)
        return ["2017-01-01", "2017-04-01"]

    # A per-quarter drop: exactly that quarter; the order quarters are not even read.
    plan = plan_runs([obj("orders/2017-Q3.csv", 1.0)], order_quarters, VALID)
    assert [r.partition_key for r in plan.runs] == ["2017-07-01"]
    assert asked == []

    # Two drops for one quarter: one run of it, naming both files.
    drops = [obj("orders/2017-Q1.csv", 1.0), obj("order_items/2017-Q1.csv", 2.0)]
    (run,) = plan_runs(drops, order_quarters, VALID).runs
    assert run.partition_key == "2017-01-01" and len(run.files) == 2

    # Drops for several quarters (a first load of a per-quarter landing zone): one run over
    # the range, not one run per quarter; dimension files of the tick ride along.
    first_load = [
        obj("orders/2017-Q1.csv", 1.0),
        obj("orders/2017-Q3.csv", 2.0),
        obj("order_items/2017-Q2.csv", 3.0),
        obj(file_name("customers"), 4.0),
    ]
    (run,) = plan_runs(first_load, order_quarters, VALID).runs
    assert run.partition_range == ("2017-01-01", "2017-07-01") and run.partition_key is None
    assert run.tables == ("customers",) and len(run.files) == 4
    assert asked == []

    # Full exports of child tables: every quarter of the orders, as one run over the range.
    fresh = [obj(file_name("order_items"), 1.0), obj(file_name("order_payments"), 2.0)]
    (run,) = plan_runs(fresh, order_quarters, VALID).runs
    assert run.partition_range == ("2017-01-01", "2017-04-01") and run.partition_key is None
    assert len(run.files) == 2
    assert asked == [1]

    # A drop in the same tick widens the range instead of starting a run of its own.
    (run,) = plan_runs([*fresh, obj("orders/2017-Q3.csv", 3.0)], order_quarters, VALID).runs
    assert run.partition_range == ("2017-01-01", "2017-07-01")

    # A dimension file alone: its unpartitioned tables.
    (run,) = plan_runs([obj(file_name("customers"), 1.0)], order_quarters, VALID).runs
    assert not run.is_lake_run and run.tables == ("customers",)

    # With a lake run in the same tick, the dimension rides along: the quarter's run rebuilds
    # it, and only it among the dimension tables.
    plan = plan_runs(
        [obj(file_name("customers"), 1.0), obj("orders/2017-Q1.csv", 2.0)], order_quarters, VALID
    )
    (run,) = plan.runs
    assert run.partition_key == "2017-01-01" and run.tables == ("customers",)
    assert any(f.startswith(file_name("customers")) for f in run.files)


def test_plan_skips_quarters_that_are_not_partitions():
    plan = plan_runs(
        [obj("orders/2015-Q1.csv", 1.0), obj(file_name("orders"), 2.0)], lambda: [], VALID
    )
    assert plan.runs == []
    assert len(plan.skipped) == 2


def test_run_keys_change_with_the_file_version():
    one = plan_runs([obj("orders/2017-Q1.csv", 1.0, "a")], list, VALID).runs[0]
    again = plan_runs([obj("orders/2017-Q1.csv", 1.0, "a")], list, VALID).runs[0]
    changed = plan_runs([obj("orders/2017-Q1.csv", 5.0, "b")], list, VALID).runs[0]
    assert one.run_key == again.run_key == "lake/2017-01-01:orders/2017-Q1.csv@a"
    assert changed.run_key != one.run_key


# --- the sensor, through Dagster, on a directory and on an S3 API ----------------------------


def tick(landing: LandingZoneResource, cursor: str | None):
    # A context manager: the resource (a ConfigurableResource with a nested S3 resource) is
    # set up and torn down with the tick, as in the daemon.
    with build_sensor_context(cursor=cursor, resources={"landing": landing}) as context:
        return landing_zone_sensor(context)


def quarters_of(request: RunRequest) -> list[str]:
    """The partition keys a lake run request covers: one key, or a range of them in one run."""
    if request.partition_key is not None:
        return [request.partition_key]
    first, last = request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]
    return quarterly_partitions.get_partition_keys_in_range(PartitionKeyRange(first, last))


def partitions_of(result) -> list[str]:
    assert isinstance(result, SensorResult), result
    return sorted(k for r in result.run_requests for k in quarters_of(r))


def run_keys(result) -> set[str]:
    return {r.run_key for r in result.run_requests}


def check_sensor_ticks(landing: LandingZoneResource, put) -> None:
    """The same story for either zone; ``put(key, path)`` lands a local file under ``key``."""
    src = landing.staging_path.parent / "src"

    orders = write_table(src / "orders.csv", "orders", ORDER_ROWS)
    put(file_name("orders"), orders)
    put(file_name("customers"), write_table(src / "customers.csv", "customers", CUSTOMER_ROWS))

    # First tick: the full orders export -> one lake run over every partition (the tick does
    # not parse the export to find the quarters that hold orders; the run does, and the
    # others are valid, empty partitions); the customers export rides along in it.
    first = tick(landing, None)
    assert partitions_of(first) == sorted(VALID)
    (request,) = first.run_requests
    assert {k.to_user_string() for k in request.asset_selection} == {
        *(f"bronze/{t}" for t in PARTITIONED_TABLES),
        *(f"silver/{t}" for t in SILVER_PARTITIONED_TABLES),
        *(f"quarantine/{t}" for t in PARTITIONED_TABLES),
        "bronze/customers",
        "silver/customers",
        "quarantine/customers",
    }
    assert file_name("customers") in request.tags["goodpulse/landing_files"]

    # Nothing new: nothing requested.
    assert isinstance(tick(landing, first.cursor), SkipReason)

    # The same bytes landed again (a new modification time): nothing new, no run.
    put(file_name("orders"), orders)
    assert isinstance(tick(landing, first.cursor), SkipReason)

    # The orders export changes (a Q3 order appears): every quarter again, under new run keys.
    write_table(orders, "orders", [*ORDER_ROWS, Q3_ORDER])
    put(file_name("orders"), orders)
    second = tick(landing, first.cursor)
    assert partitions_of(second) == sorted(VALID)
    assert not run_keys(second) & run_keys(first)
    assert isinstance(tick(landing, second.cursor), SkipReason)

    # A per-quarter drop of a child table: exactly that quarter.
    put("order_items/2017-Q1.csv", write_table(src / "items.csv", "order_items", ITEM_ROWS))
    third = tick(landing, second.cursor)
    assert partitions_of(third) == ["2017-01-01"]
    (request,) = third.run_requests
    assert request.partition_key == "2017-01-01"
    # The order-grain tables only: no dimension file changed, their lake objects are current.
    # Their quarantine tables are loaded by the same run.
    assert {k.to_user_string() for k in request.asset_selection} == {
        *(f"bronze/{t}" for t in PARTITIONED_TABLES),
        *(f"silver/{t}" for t in SILVER_PARTITIONED_TABLES),
        *(f"quarantine/{t}" for t in PARTITIONED_TABLES),
    }

    # A dimension file alone: its bronze and silver assets (and silver/products, built from the
    # category translation), unpartitioned.
    translation = write_table(src / "translation.csv", "category_translation", [])
    put(file_name("category_translation"), translation)
    fourth = tick(landing, third.cursor)
    (request,) = fourth.run_requests
    assert request.partition_key is None
    assert {k.to_user_string() for k in request.asset_selection} == {
        "bronze/category_translation",
        "silver/category_translation",
        "silver/products",
        "quarantine/category_translation",
        "quarantine/products",
    }
    assert isinstance(tick(landing, fourth.cursor), SkipReason)


def test_sensor_ticks_on_a_local_directory(tmp_path):
    raw = tmp_path / "raw"
    landing = LandingZoneResource(raw_dir=str(raw), staging_dir=str(tmp_path / "staging"))
    clock = [datetime(2024, 1, 1, tzinfo=UTC).timestamp()]

    def put(key: str, path: Path) -> None:
        target = raw / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
        # Strictly increasing mtimes: the test does not depend on the file system's resolution.
        clock[0] += 10
        os.utime(target, (clock[0], clock[0]))

    check_sensor_ticks(landing, put)


def test_a_zip_export_is_versioned_by_content_and_the_same_bytes_again_start_nothing(tmp_path):
    """A Kaggle .zip dropped as it is: its members start one run; the same archive copied in
    again (a new modification time) starts nothing; a changed archive starts a new run."""
    import zipfile

    raw = tmp_path / "raw"
    raw.mkdir()
    src = tmp_path / "src"
    orders = write_table(src / file_name("orders"), "orders", ORDER_ROWS)
    customers = write_table(src / file_name("customers"), "customers", CUSTOMER_ROWS)

    def put_zip(rows) -> None:
        write_table(orders, "orders", rows)
        archive = tmp_path / "export.zip"
        # Members dated once, not by their files' mtimes (2-second resolution): the same rows
        # give the same archive bytes however long apart the two writes are.
        with zipfile.ZipFile(archive, "w") as zf:
            for path in (orders, customers):
                member = zipfile.ZipInfo(f"olist/{path.name}", date_time=(2018, 9, 1, 0, 0, 0))
                zf.writestr(member, path.read_bytes())
        shutil.copyfile(archive, raw / "export.zip")  # a new mtime on every copy

    landing = LandingZoneResource(raw_dir=str(raw), staging_dir=str(tmp_path / "staging"))
    put_zip(ORDER_ROWS)
    first = tick(landing, None)
    (request,) = first.run_requests
    assert "export.zip!/olist/" + file_name("orders") in request.tags["goodpulse/landing_files"]
    put_zip(ORDER_ROWS)
    assert isinstance(tick(landing, first.cursor), SkipReason)
    put_zip([*ORDER_ROWS, Q3_ORDER])
    second = tick(landing, first.cursor)
    (changed,) = second.run_requests
    assert changed.run_key != request.run_key


def test_sensor_ticks_on_an_s3_prefix(tmp_path, s3_endpoint):
    client = s3_client(s3_endpoint)
    client.create_bucket(Bucket="landing")
    landing = LandingZoneResource(
        storage="s3",
        s3_bucket="landing",
        s3_prefix="raw",
        staging_dir=str(tmp_path / "staging"),
        cache_dir=str(tmp_path / "cache"),
        s3=S3Connection(endpoint_url=s3_endpoint),
    )

    def put(key: str, path: Path) -> None:
        client.upload_file(str(path), "landing", f"raw/{key}")

    # Unrelated objects next to the prefix are not part of the zone.
    client.put_object(Bucket="landing", Key="lake/silver/orders/2017-01-01.parquet", Body=b"x")
    check_sensor_ticks(landing, put)


def test_order_quarters_for_a_child_export_without_orders(tmp_path):
    raw = tmp_path / "raw"
    write_table(raw / file_name("order_items"), "order_items", ITEM_ROWS)
    landing = LandingZoneResource(raw_dir=str(raw), staging_dir=str(tmp_path / "staging"))
    result = tick(landing, None)
    # No orders yet, so no quarter to run: the tick says so and moves on.
    assert isinstance(result, SensorResult) and result.run_requests == []
    assert LandingCursor.from_json(result.cursor).key == file_name("order_items")


# --- schedules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "closed", "current"),
    [
        (datetime(2017, 4, 1, 3, tzinfo=UTC), "2017-01-01", "2017-04-01"),
        (datetime(2018, 1, 1, 3, tzinfo=UTC), "2017-10-01", "2018-01-01"),
        (datetime(2017, 8, 15, 2, tzinfo=UTC), "2017-04-01", "2017-07-01"),
        (datetime(2017, 12, 31, 2, tzinfo=UTC), "2017-07-01", "2017-10-01"),
    ],
)
def test_schedules_pick_the_closed_and_the_current_quarter(when, closed, current):
    context = build_schedule_context(scheduled_execution_time=when)
    quarterly = quarterly_lake_schedule(context)
    daily = daily_lake_schedule(build_schedule_context(scheduled_execution_time=when))
    assert quarterly.partition_key == closed == closed_quarter_key(when)
    assert daily.partition_key == current


def test_schedule_definitions():
    by_name = {s.name: s for s in build_schedules()}
    quarterly, daily = by_name["quarterly_lake_schedule"], by_name["daily_lake_schedule"]
    assert quarterly.cron_schedule == "0 3 1 1,4,7,10 *"
    assert daily.cron_schedule == "0 2 * * *"
    for schedule in (quarterly, daily):
        assert schedule.job_name == "lake_job"
        assert schedule.execution_timezone == "UTC"
        assert schedule.default_status.value == "STOPPED"


def test_sensor_definitions():
    by_name = {s.name: s for s in build_sensors()}
    assert by_name[LANDING_SENSOR].default_status.value == "STOPPED"
    assert by_name[LANDING_SENSOR].job_name == "lake_job"
    assert by_name[AUTOMATION_SENSOR].default_status.value == "RUNNING"
    # A drop waits at most one tick of each before its runs start (docs/performance.md).
    assert by_name[LANDING_SENSOR].minimum_interval_seconds == 5
    assert by_name[AUTOMATION_SENSOR].minimum_interval_seconds == 5


# --- declarative automation ------------------------------------------------------------------


@pytest.fixture(scope="module")
def defs():
    from goodpulse_dagster.definitions import build_definitions
    from goodpulse_dagster.settings import load_settings

    return build_definitions(load_settings({"GOODPULSE_HOME": "/nonexistent-goodpulse-home"}))


def test_analytics_assets_carry_the_condition_and_the_duckdb_pool(defs):
    graph = defs.resolve_asset_graph()
    analytics = [k for k in graph.get_all_asset_keys() if k.path[0] in (GOLD, KPI, REPORT)]
    assert any(k.path[0] == GOLD for k in analytics) and any(k.path[0] == KPI for k in analytics)
    for key in analytics:
        node = graph.get(key)
        assert node.automation_condition is not None, key
        assert node.automation_condition.get_label() == ANALYTICS_CONDITION_LABEL, key
        assert node.pools == {"duckdb"}, key


def test_silver_update_requests_gold_and_kpi_with_most_quarters_missing(defs):
    """One materialized quarter (of ~40) is enough: plain ``eager()`` would wait for all."""
    graph = defs.resolve_asset_graph()
    lake = [k for k in graph.get_all_asset_keys() if k.path[0] in ("bronze", "silver")]
    instance = DagsterInstance.ephemeral()
    first = evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.total_requested == 0

    for key in lake:
        partition = "2017-01-01" if graph.get(key).partitions_def else None
        instance.report_runless_asset_event(AssetMaterialization(key, partition=partition))
    second = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    requested = {r.key for r in second.results if r.true_subset.size}
    assert AssetKey([GOLD, "customer_360"]) in requested
    assert AssetKey([KPI, "northstar"]) in requested

    # Nothing changed since: nothing requested again.
    third = evaluate_automation_conditions(defs=defs, instance=instance, cursor=second.cursor)
    assert third.total_requested == 0


def test_plain_eager_would_not_fire_with_missing_quarters():
    """Why conditions.py does not use ``AutomationCondition.eager()`` as is."""
    from dagster import AutomationCondition, Definitions, asset

    @asset(partitions_def=quarterly_partitions)
    def part():
        return 1

    @asset(deps=[part], automation_condition=AutomationCondition.eager())
    def with_eager():
        return 1

    @asset(deps=[part], automation_condition=analytics_automation_condition())
    def with_ours():
        return 1

    defs = Definitions(assets=[part, with_eager, with_ours])
    instance = DagsterInstance.ephemeral()
    first = evaluate_automation_conditions(defs=defs, instance=instance)
    instance.report_runless_asset_event(AssetMaterialization("part", partition="2017-01-01"))
    second = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    requested = {r.key.to_user_string() for r in second.results if r.true_subset.size}
    assert requested == {"with_ours"}


# --- instance configuration ------------------------------------------------------------------


def test_dagster_yaml_limits_the_duckdb_pool_to_one(tmp_path):
    """``dagster dev`` without DAGSTER_HOME reads dagster.yaml from the working directory: the
    same InstanceRef.from_dir(<temp dir>, config_dir=<cwd>) call is made here."""
    from dagster._core.instance.ref import InstanceRef

    with DagsterInstance.from_ref(
        InstanceRef.from_dir(str(tmp_path), config_dir=str(REPO))
    ) as inst:
        config = inst.get_concurrency_config()
        pools = config.pool_config
        assert pools.default_pool_limit == 1
        assert pools.pool_granularity.value == "op"
        # The run queue: two runs at once, lake runs in both slots, one warehouse writer.
        queue = config.run_queue_config
        assert queue.max_concurrent_runs == 2
        assert sorted((t["value"], t["limit"]) for t in queue.tag_concurrency_limits) == [
            (ANALYTICS_RUN, 1),
            (LAKE_RUN, 2),
        ]
        assert {t["key"] for t in queue.tag_concurrency_limits} == {RUN_KIND_TAG}
        # A queued run waits at most a second for the daemon's look; sensors tick in two
        # threads.
        assert inst.run_coordinator.dequeue_interval_seconds == 1
        assert inst.get_sensor_settings() == {"use_threads": True, "num_workers": 2}


def test_every_run_carries_its_run_kind_and_runs_in_process(defs):
    """The tags the run queue limits by, on every job and on the automation sensor's runs; one
    executor for every run (jobs, backfills, automation)."""
    assert defs.resolve_job_def("lake_job").run_tags[RUN_KIND_TAG] == LAKE_RUN
    assert defs.resolve_job_def("analytics_job").run_tags[RUN_KIND_TAG] == ANALYTICS_RUN
    sensor = defs.resolve_sensor_def("analytics_automation_sensor")
    assert sensor.run_tags[RUN_KIND_TAG] == ANALYTICS_RUN
    for job in (
        defs.resolve_job_def("lake_job"),
        defs.resolve_job_def("analytics_job"),
        defs.resolve_implicit_global_asset_job_def(),
    ):
        assert job.executor_def.name == "in_process"
