"""Sensors: the landing zone (new raw files -> lake runs) and declarative automation (changed
silver -> gold, KPI and report).

The landing-zone sensor is one sensor for a local directory and an S3 prefix alike: it takes the
``landing`` resource and talks to whichever ``LandingZone`` it builds. The decisions (which files
are new, what to run) live in ``landing_logic.py``; this module only lists, asks, and wraps the
answer in ``RunRequest``s.
"""

from dataclasses import replace
from pathlib import Path

from dagster import (
    AssetKey,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from goodpulse_dagster.automation.jobs import (
    ANALYTICS_RUN,
    ORDER_GRAIN_LAKE_KEYS,
    RANGE_END_TAG,
    RANGE_START_TAG,
    RUN_KIND_TAG,
    lake_job,
)
from goodpulse_dagster.automation.landing_logic import (
    LandingCursor,
    PlannedRun,
    advance_cursor,
    new_objects,
    plan_runs,
)
from goodpulse_dagster.bronze.staging import file_content_hash
from goodpulse_dagster.landing.zone import LandingZone, LocalLandingZone, RawObject
from goodpulse_dagster.partitions import quarterly_partitions
from goodpulse_dagster.resources.storage import LandingZoneResource
from goodpulse_dagster.schema import (
    BRONZE,
    ORDERS,
    QUARANTINE,
    SILVER,
    SOURCE_TABLES,
    silver_inputs,
)

LANDING_SENSOR = "landing_zone_sensor"
AUTOMATION_SENSOR = "analytics_automation_sensor"
TRIGGER_TAG = "goodpulse/trigger"
FILES_TAG = "goodpulse/landing_files"
# Tag values are shown in the UI run list; a full export can name a dozen files.
_MAX_TAG_CHARS = 500
# How often each sensor is evaluated: every 5 s, the daemon's own sensor loop, so as often as
# Dagster can. A drop waits for one landing tick, then (after the lake run) one automation tick,
# before anything runs: at 15 s each those waits were a third of a first load's 45 s at 100,000
# orders (benchmarks/ui_paths.py). A tick is cheap: a landing tick lists the zone and hashes only
# files whose (size, mtime) changed; an automation tick evaluated the conditions of 21 analytics
# assets in 0.3-0.8 s.
LANDING_SENSOR_INTERVAL_SECONDS = 5
AUTOMATION_SENSOR_INTERVAL_SECONDS = 5


def full_export_quarters(listing: list[RawObject], valid_partitions: list[str]) -> list[str]:
    """The quarters a new full export of an order-grain table may touch: every partition when an
    orders file is in the landing zone (items, payments and reviews take their order's quarter),
    none before. Which quarters actually hold orders is known only after parsing the export,
    which a sensor tick must not do (a tick of a 10M-order export would parse GBs in the
    daemon): the run parses it once, and a quarter without orders is a valid, empty partition.
    """
    if not any(o.table == ORDERS.name for o in listing):
        return []
    return sorted(valid_partitions)


def content_versions(zone: LandingZone, listing: list[RawObject], cache_dir: Path):
    """The listing with each local source file's version set to its content hash, so the same
    bytes dropped again (a new mtime) are not a new version and start nothing. Hashes are cached
    by (path, size, mtime): an unchanged file is not read again, a touched one once. A zip
    member's version is its archive's hash and the member's CRC (the archive is hashed once for
    all its members). S3 objects keep their ETag, which S3 derives from the content."""
    if not isinstance(zone, LocalLandingZone):
        return listing

    def version(obj: RawObject) -> str:
        if obj.member is None:
            return file_content_hash(zone.fetch(obj), cache_dir)
        archive = file_content_hash(zone.fetch(replace(obj, key=obj.archive_key)), cache_dir)
        return f"{archive}:{obj.version.rsplit(':', 1)[1]}"

    return [replace(o, version=version(o)) if o.table else o for o in listing]


def dimension_asset_keys(tables: tuple[str, ...]) -> list[AssetKey]:
    """Bronze and silver of each dimension table, plus the silver dimensions built from it
    (category_translation -> products), and the quarantine tables of all of them."""
    names = set(tables)
    for name, source in SOURCE_TABLES.items():
        if not source.partitioned and names & set(silver_inputs(name)):
            names.add(name)
    keys = [AssetKey([BRONZE, t]) for t in sorted(set(tables))]
    keys += [AssetKey([SILVER, t]) for t in sorted(names)]
    keys += [AssetKey([QUARANTINE, t]) for t in sorted(names)]
    return keys


def quarter_run_asset_keys(tables: tuple[str, ...]) -> list[AssetKey]:
    """What a one-quarter lake run materializes: the order-grain bronze and silver tables, plus
    the dimension tables ``tables`` whose files changed (and those built from them)."""
    return [*ORDER_GRAIN_LAKE_KEYS, *dimension_asset_keys(tables)]


def to_run_request(run: PlannedRun) -> RunRequest:
    tags = {TRIGGER_TAG: LANDING_SENSOR, FILES_TAG: ", ".join(run.files)[:_MAX_TAG_CHARS]}
    if run.partition_key is not None:
        return RunRequest(
            run_key=run.run_key,
            partition_key=run.partition_key,
            asset_selection=quarter_run_asset_keys(run.tables),
            tags=tags,
        )
    if run.partition_range is not None:
        # One run over the range, as a single-run backfill does it (same tags).
        tags[RANGE_START_TAG], tags[RANGE_END_TAG] = run.partition_range
        return RunRequest(
            run_key=run.run_key, asset_selection=quarter_run_asset_keys(run.tables), tags=tags
        )
    return RunRequest(
        run_key=run.run_key, asset_selection=dimension_asset_keys(run.tables), tags=tags
    )


@sensor(
    name=LANDING_SENSOR,
    job=lake_job,
    minimum_interval_seconds=LANDING_SENSOR_INTERVAL_SECONDS,
    # Off until switched on (UI or `dagster sensor start`): on a first tick every file already in
    # the landing zone is new, which would start a full load as soon as `dagster dev` opens.
    default_status=DefaultSensorStatus.STOPPED,
    description=(
        "Watches the landing zone (local directory or S3 prefix, from the `landing` resource). "
        "A per-quarter drop runs the order-grain tables of lake_job for that quarter (and the "
        "dimension tables whose files changed); a full export of an order-grain table runs all "
        "of lake_job once over the quarters that hold orders; a dimension file refreshes its "
        "bronze and silver tables. One run per file version (run key = key@version)."
    ),
)
def landing_zone_sensor(context: SensorEvaluationContext, landing: LandingZoneResource):
    cursor = LandingCursor.from_json(context.cursor)
    zone = landing.zone()
    listing = content_versions(zone, zone.list_objects(), landing.staging_path)
    fresh = new_objects(listing, cursor)
    if not fresh:
        return SkipReason(f"no new or changed source file in {zone.uri}")
    partitions = quarterly_partitions.get_partition_keys()
    plan = plan_runs(
        fresh,
        order_quarters=lambda: full_export_quarters(listing, partitions),
        valid_partitions=set(partitions),
    )
    for note in plan.skipped:
        context.log.warning(note)
    context.log.info(
        f"{len(fresh)} new file(s) in {zone.uri}: "
        + ", ".join(o.key for o in fresh)
        + f" -> {len(plan.runs)} run(s)"
    )
    return SensorResult(
        run_requests=[to_run_request(r) for r in plan.runs],
        cursor=advance_cursor(cursor, listing, fresh).to_json(),
    )


# Evaluates the `automation_condition` of every asset (gold, KPI, report). Running by default, so
# the analytics follow silver without anyone switching it on; it replaces Dagster's implicit
# `default_automation_condition_sensor`, which starts stopped.
analytics_automation_sensor = AutomationConditionSensorDefinition(
    AUTOMATION_SENSOR,
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=AUTOMATION_SENSOR_INTERVAL_SECONDS,
    # Automation runs write the warehouse: the run queue runs one such run at a time.
    run_tags={RUN_KIND_TAG: ANALYTICS_RUN},
    description=(
        "Declarative automation: gold, KPI and report assets run once their silver (or gold) "
        "inputs have changed and nothing upstream is still queued or running."
    ),
)
