"""Bronze: one asset per source table, a typed as-is copy plus ingestion columns.

Raw files are modelled as external assets (``raw/<table>``) so the lineage in the UI starts at the
landing zone. Order-grain tables are partitioned by purchase quarter; items, payments and reviews
take the quarter of their order, so they also read the raw orders files.
"""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    MetadataValue,
    Output,
    asset,
)

from goodpulse_dagster.asset_conventions import (
    LAKE_IO_MANAGER,
    LAKE_KIND,
    OWNERS,
    UNRECOGNISED_COUNT,
    UNRECOGNISED_FILES,
    partition_window,
    profile_metadata,
    single_run_backfills_allowed,
)
from goodpulse_dagster.bronze.staging import build_bronze
from goodpulse_dagster.landing.zone import unrecognised_entries
from goodpulse_dagster.partitions import quarterly_partitions
from goodpulse_dagster.resources.storage import LakeResource, LandingZoneResource
from goodpulse_dagster.retries import STEP_RETRY_POLICY, user_errors_fail_fast
from goodpulse_dagster.schema import (
    BRONZE,
    ORDERS,
    RAW,
    SOURCE_TABLES,
    SourceTable,
)

CODE_VERSION = "2"


def raw_spec(table: SourceTable) -> AssetSpec:
    return AssetSpec(
        key=AssetKey([RAW, table.name]),
        group_name=RAW,
        description=(
            f"Raw export of `{table.name}` in the landing zone: `{table.file_name}` (a full "
            f"export) and/or `{table.drop_dir}/<YYYY>-Q<n>.csv` per-quarter drops; plain, "
            "`.csv.gz`, or inside a `.zip`."
        ),
        kinds={"csv"},
        owners=OWNERS,
    )


def _raw_deps(table: SourceTable) -> list[AssetKey]:
    deps = [AssetKey([RAW, table.name])]
    if table.partitioned and table.name != ORDERS.name:
        deps.append(AssetKey([RAW, ORDERS.name]))
    return deps


def build_bronze_asset(table: SourceTable):
    @asset(
        name=table.name,
        key_prefix=[BRONZE],
        group_name=BRONZE,
        partitions_def=quarterly_partitions if table.partitioned else None,
        # One run can cover many quarters: each raw file is parsed once for all of them.
        backfill_policy=BackfillPolicy.single_run() if table.partitioned else None,
        io_manager_key=LAKE_IO_MANAGER,
        deps=_raw_deps(table),
        kinds={"duckdb", LAKE_KIND},
        owners=OWNERS,
        code_version=CODE_VERSION,
        tags={"layer": BRONZE},
        # It reads the landing zone and writes the lake: transient S3 errors are retried.
        retry_policy=STEP_RETRY_POLICY,
    )
    def _bronze(context: AssetExecutionContext, landing: LandingZoneResource, lake: LakeResource):
        with user_errors_fail_fast():
            return _build(context, landing, lake)

    # The step's work, called by the step inside user_errors_fail_fast (retries.py).
    def _build(context: AssetExecutionContext, landing: LandingZoneResource, lake: LakeResource):
        zone = landing.zone()
        build = build_bronze(
            table.name,
            zone,
            landing.staging_path,
            partition_window(context),
            folder=lake.output_folder(context.run.run_id, BRONZE, table.name),
            partition_keys=sorted(context.partition_keys) if table.partitioned else None,
        )
        quarantined_rows = build.quarantine_output.row_count
        quarantine_uri = lake.publish_quarantine(table.name, BRONZE, build.quarantine_output)
        # Every bronze asset reports the files no table reads (bronze/checks.py checks it).
        unrecognised = unrecognised_entries(zone)
        metadata = profile_metadata(build.output, context.asset_key)
        metadata.update(
            {
                "source_files": MetadataValue.md(
                    "\n".join(
                        f"- `{f.uri}` ({f.records:,} records, {f.encoding})" for f in build.files
                    )
                ),
                "source_records": sum(f.records for f in build.files),
                "source_encodings": ", ".join(sorted(set(build.encodings.values()))) or "none",
                "quarantined_rows": quarantined_rows,
                "quarantine_uri": quarantine_uri,
                "duplicate_files_skipped": len(build.duplicate_files),
                "extra_columns": ", ".join(build.extra_columns) or "none",
                UNRECOGNISED_COUNT: len(unrecognised),
                UNRECOGNISED_FILES: MetadataValue.md(
                    "\n".join(f"- `{e}`" for e in unrecognised) or "none"
                ),
            }
        )
        for uri, encoding in build.encodings.items():
            if encoding not in ("utf-8", "utf-8-sig"):
                context.log.warning(f"bronze/{table.name}: {uri} is not UTF-8, read as {encoding}")
        if unrecognised:
            context.log.warning(
                f"bronze/{table.name}: not read (unknown name or refused): "
                + "; ".join(unrecognised)
            )
        if build.extra_columns:
            context.log.warning(
                f"bronze/{table.name}: extra column(s) kept: {', '.join(build.extra_columns)}"
            )
        if build.duplicate_files:
            context.log.warning(
                "same content as another file, read once: " + ", ".join(build.duplicate_files)
            )
        # Parquet files DuckDB wrote: the IO manager publishes them (resources/lake_data.py).
        return Output(build.output, metadata=metadata)

    return _bronze


raw_assets = [raw_spec(t) for t in SOURCE_TABLES.values()]
with single_run_backfills_allowed():
    bronze_assets = [build_bronze_asset(t) for t in SOURCE_TABLES.values()]
