"""The two jobs: the quarterly-partitioned lake (bronze + silver) and the analytics (gold, KPI,
report) that reads every quarter."""

from dagster import AssetSelection, define_asset_job

from goodpulse_dagster.schema import BRONZE, GOLD, KPI, QUARANTINE, REPORT, SILVER

LAKE_JOB = "lake_job"
ANALYTICS_JOB = "analytics_job"

lake_selection = AssetSelection.groups(BRONZE, SILVER)
analytics_selection = AssetSelection.groups(GOLD, KPI, REPORT, QUARANTINE)

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
