"""Run the real Dagster definitions against a temporary home, for tests."""

import warnings
from pathlib import Path

import pyarrow as pa
from dagster import BetaWarning, DagsterInstance

from goodpulse_dagster.automation.jobs import ANALYTICS_JOB, LAKE_JOB
from goodpulse_dagster.definitions import build_definitions
from goodpulse_dagster.resources.lake import LocalLakeStore
from goodpulse_dagster.settings import Settings, load_settings

warnings.filterwarnings("ignore", category=BetaWarning)
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def lake_settings(home: Path, raw: Path, **env: str) -> Settings:
    return load_settings({"GOODPULSE_HOME": str(home), "GOODPULSE_RAW_DIR": str(raw), **env})


def materialize_lake(settings: Settings, first: str, last: str | None = None, instance=None):
    """Run the lake job for one quarter, or the quarters first..last in one run."""
    defs = build_definitions(settings)
    job = defs.resolve_job_def(LAKE_JOB)
    if last is None:
        return job.execute_in_process(
            partition_key=first, run_config=QUIET, instance=instance or DagsterInstance.ephemeral()
        )
    return job.execute_in_process(
        run_config=QUIET,
        instance=instance or DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
    )


def materialize_analytics(settings: Settings, instance=None):
    defs = build_definitions(settings)
    return defs.resolve_job_def(ANALYTICS_JOB).execute_in_process(
        run_config=QUIET, instance=instance or DagsterInstance.ephemeral()
    )


def read_lake(settings: Settings, relpath: str) -> pa.Table:
    return LocalLakeStore(settings.lake_dir).read_table(relpath)
