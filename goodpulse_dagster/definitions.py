"""The one Definitions object: assets, checks, resources, jobs, schedules and sensors.

``build_definitions(settings)`` builds it for any environment (tests pass a temporary home or an
S3 endpoint); ``defs`` is the code location that ``dagster dev`` and the CLI load, configured from
the GOODPULSE_* environment variables (settings.py).
"""

from __future__ import annotations

from dagster import Definitions

from goodpulse_dagster import lake_layout
from goodpulse_dagster.asset_conventions import (
    LAKE_IO_MANAGER,
    WAREHOUSE_IO_MANAGER,
    document_table_assets,
)
from goodpulse_dagster.automation import build_jobs, build_schedules, build_sensors
from goodpulse_dagster.automation.freshness import freshness_checks_job, freshness_sensor
from goodpulse_dagster.automation.freshness_checks import (
    FRESHNESS_RESOURCE,
    FreshnessSettings,
    build_freshness_checks,
)
from goodpulse_dagster.automation.jobs import RUN_EXECUTOR
from goodpulse_dagster.bronze.assets import bronze_assets, raw_assets
from goodpulse_dagster.bronze.checks import build_bronze_checks
from goodpulse_dagster.gold.assets import gold_assets
from goodpulse_dagster.gold.checks import build_gold_checks
from goodpulse_dagster.kpi.assets import kpi_assets
from goodpulse_dagster.kpi.checks import build_kpi_checks
from goodpulse_dagster.predictions.assets import prediction_assets
from goodpulse_dagster.predictions.checks import build_prediction_checks
from goodpulse_dagster.quarantine.assets import quarantine_assets
from goodpulse_dagster.report.assets import report_assets
from goodpulse_dagster.resources.parquet_io import ParquetLakeIOManager
from goodpulse_dagster.resources.storage import (
    LakeResource,
    LandingZoneResource,
    ReportsResource,
    S3Connection,
    analytics_settings,
)
from goodpulse_dagster.resources.warehouse import WarehouseIOManager, WarehouseResource
from goodpulse_dagster.run_trust import DEPENDENCY_GRAPH, DependencyGraph
from goodpulse_dagster.settings import Settings, load_settings
from goodpulse_dagster.silver.assets import silver_assets
from goodpulse_dagster.silver.checks import build_silver_checks


def build_checks(spark: bool = False) -> list:
    """Every asset check, layer by layer (docs/data_quality.md; the freshness checks of the landing
    zone, silver and the report in automation/freshness_checks.py, which never block). With
    ``spark``, the checks of the assets Spark builds are spark/checks.py's (same names)."""
    layer_checks = [
        *build_silver_checks(),
        *build_gold_checks(),
        *build_kpi_checks(),
        *build_prediction_checks(),
    ]
    if spark:
        # Imported only with GOODPULSE_ENGINE=spark: the DuckDB path never loads the extra.
        from goodpulse_dagster.spark.checks import SPARK_CHECKED_KEYS, build_spark_checks

        layer_checks = [
            check
            for check in layer_checks
            if not {k.asset_key for k in check.check_keys} & SPARK_CHECKED_KEYS
        ] + build_spark_checks()
    return [*build_bronze_checks(), *layer_checks, *build_freshness_checks()]


def engine_assets(assets: list, spark: bool) -> list:
    """``assets``, or with ``spark`` the same with the Spark implementations swapped in for the
    unified lifecycle, gold, KPI and prediction assets (same keys; spark/assets.py)."""
    if not spark:
        return assets
    from goodpulse_dagster.spark.assets import with_spark_assets

    return with_spark_assets(assets)


def build_resources(settings: Settings) -> dict:
    s3 = S3Connection(
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        max_attempts=settings.s3_max_attempts,
    )
    lake = LakeResource(
        storage=settings.storage,
        local_dir=str(settings.lake_dir),
        s3_bucket=settings.s3_bucket,
        s3_prefix=settings.s3_lake_prefix,
        s3=s3,
        scratch_dir=str(lake_layout.lake_output_dir(settings.home)),
    )
    landing = LandingZoneResource(
        storage=settings.storage,
        raw_dir=str(settings.raw_dir),
        s3_bucket=settings.s3_bucket,
        s3_prefix=settings.s3_raw_prefix,
        staging_dir=str(settings.staging_dir),
        cache_dir=str(settings.raw_cache_dir),
        csv_encoding=settings.csv_encoding,
        s3=s3,
    )
    analytics = analytics_settings(settings.metrics, settings.orphan_error_rate)
    resources = {
        "lake": lake,
        "landing": landing,
        "analytics": analytics,
        "reports": ReportsResource(directory=str(settings.reports_dir)),
        LAKE_IO_MANAGER: ParquetLakeIOManager(lake=lake),
        WAREHOUSE_IO_MANAGER: WarehouseIOManager(database=str(settings.warehouse_path)),
        # The warehouse as the engine of the gold and KPI steps (the IO manager's connection).
        "warehouse": WarehouseResource(database=str(settings.warehouse_path)),
        # Thresholds of the freshness checks and of freshness_sensor (automation/freshness_checks.py).
        FRESHNESS_RESOURCE: FreshnessSettings(
            raw_max_age_hours=settings.raw_max_age_hours,
            silver_max_lag_hours=settings.silver_max_lag_hours,
            automation_cycle_minutes=settings.automation_cycle_minutes,
        ),
    }
    if settings.engine.spark:
        from goodpulse_dagster.spark.assets import SPARK_RESOURCE
        from goodpulse_dagster.spark.session import SparkConnectResource

        # The Spark Connect session of a run (opened when its first Spark step starts).
        resources[SPARK_RESOURCE] = SparkConnectResource(remote=settings.engine.spark_remote)
    return resources


def build_definitions(settings: Settings | None = None) -> Definitions:
    settings = settings or load_settings()
    # In data-flow order; descriptions and column schemas come from the table specs.
    assets = engine_assets(
        [
            *raw_assets,
            *bronze_assets,
            *silver_assets,
            *gold_assets,
            *kpi_assets,
            *prediction_assets,
            *report_assets,
            *quarantine_assets,
        ],
        settings.engine.spark,
    )
    checks = build_checks(settings.engine.spark)
    return Definitions(
        assets=document_table_assets(assets, settings.metrics),
        asset_checks=checks,
        # The freshness job and sensor import the checks, which import the assets: registered
        # here rather than in automation/__init__.py, which the assets import.
        jobs=[*build_jobs(), freshness_checks_job],
        schedules=build_schedules(),
        sensors=[*build_sensors(settings.alerts), freshness_sensor],
        resources={
            **build_resources(settings),
            # What the gold, KPI and report steps' guard walks (run_trust.guard_upstream_checks).
            DEPENDENCY_GRAPH: DependencyGraph.of(assets, checks),
        },
        # Backfills and automation runs too (automation/jobs.py says why in-process).
        executor=RUN_EXECUTOR,
    )


defs = build_definitions()
