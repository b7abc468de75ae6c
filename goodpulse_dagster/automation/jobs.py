"""The two jobs: the quarterly-partitioned lake (bronze + silver) and the analytics (gold, KPI,
report) that reads every quarter."""

from dagster import AssetKey, AssetSelection, define_asset_job

from goodpulse_dagster.schema import (
    BRONZE,
    GOLD,
    KPI,
    PARTITIONED_TABLES,
    QUARANTINE,
    REPORT,
    SILVER,
    SILVER_PARTITIONED_TABLES,
)

LAKE_JOB = "lake_job"
ANALYTICS_JOB = "analytics_job"

lake_selection = AssetSelection.groups(BRONZE, SILVER)
analytics_selection = AssetSelection.groups(GOLD, KPI, REPORT, QUARANTINE)
# The order-grain (quarterly) part of the lake job. A lake run for some quarters needs only these
# when the dimension tables' files did not change: their bronze and silver objects are current.
ORDER_GRAIN_LAKE_KEYS: tuple[AssetKey, ...] = (
    *(AssetKey([BRONZE, t]) for t in PARTITIONED_TABLES),
    *(AssetKey([SILVER, t]) for t in SILVER_PARTITIONED_TABLES),
)

lake_job = define_asset_job(
    LAKE_JOB,
    selection=lake_selection,
    # No partitions_def: it is deprecated on asset jobs, the quarters come from the selected
    # order-grain assets (the dimension tables in the selection are unpartitioned).
    description="Bronze and silver for one quarter (or a range of quarters in one run); the "
    "unpartitioned dimension tables are refreshed with it.",
)
analytics_job = define_asset_job(
    ANALYTICS_JOB,
    selection=analytics_selection,
    description="Gold, KPI and the executive report from every quarter of silver.",
)
