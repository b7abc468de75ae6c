"""Running a job in this process without holding every step's output in memory.

``JobDefinition.execute_in_process`` keeps the value of every step output until the run ends (so
that ``result.output_for_node`` can return it). The lake job runs all quarters in one run
(single-run backfills), so every bronze and silver table of the run stayed in memory at once:
at 1,000,000 orders the CLI's run peaked at 5.9 GB with capture and 3.4 GB without it
(docs/performance.md). Our assets hand their outputs to IO managers and nobody reads them back from
the result, so the CLI, the benchmark's refresh and the tests run jobs through ``execute_job_here``.

It uses Dagster's public ``execute_job``, which keeps no outputs (a caller reads them back through
the IO managers). ``execute_job`` takes a *reconstructable* job, a pointer it can resolve again,
because its executor may run steps in other processes. Ours run in this process (GoodPulse's
jobs have the ``in_process_executor``; a job with Dagster's default executor is told to run in
process by its run config), so the pointer only has to lead back to the ``JobDefinition`` we
hold: ``execute_job_here`` files the job in ``_JOBS`` under a fresh key for the length of the run,
and the pointer is ``_job_filed_as(key)`` (``dagster.build_reconstructable_job``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from dagster import (
    AssetKey,
    DagsterInstance,
    JobDefinition,
    JobExecutionResult,
    build_reconstructable_job,
    execute_job,
    in_process_executor,
    multi_or_in_process_executor,
)

# The tag Dagster puts on a run of one partition (``execute_in_process(partition_key=...)`` and
# the launchpad set it the same way).
PARTITION_TAG = "dagster/partition"
# The tags Dagster's own single-run backfills put on a run covering a range of partitions.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

# Jobs being run by ``execute_job_here``, by the key their reconstructable pointer carries.
_JOBS: dict[str, JobDefinition] = {}
_KEYS = itertools.count()
# The run config that makes Dagster's default executor run every step in this process.
_IN_PROCESS = {"execution": {"config": {"in_process": {}}}}


def _job_filed_as(key: str) -> JobDefinition:
    """The job ``execute_job_here`` filed under ``key``: what ``execute_job`` reconstructs."""
    return _JOBS[key]


def execute_job_here(
    job: JobDefinition,
    instance: DagsterInstance,
    run_config: Mapping[str, object] | None = None,
    tags: Mapping[str, str] | None = None,
    partition_key: str | None = None,
    asset_selection: Sequence[AssetKey] | None = None,
    raise_on_error: bool = True,
) -> JobExecutionResult:
    """Run ``job`` in this process, as ``job.execute_in_process(...)`` does, but without keeping
    its outputs: the result has the run's events, the values are where the IO managers put them.

    The job's executor must be able to run in this process: the ``in_process_executor`` (every
    GoodPulse job's) or Dagster's default one. Another would start processes that cannot find
    the job filed here."""
    run_config = dict(run_config or {})
    if job.executor_def is multi_or_in_process_executor:
        run_config = {**_IN_PROCESS, **run_config}
    elif job.executor_def is not in_process_executor:
        raise ValueError(
            f"{job.name}: execute_job_here runs jobs in this process; its executor "
            f"{job.executor_def.name} would start others"
        )
    key = f"{job.name}:{next(_KEYS)}"
    _JOBS[key] = job
    try:
        run_tags = dict(tags or {})
        if partition_key is not None:
            run_tags[PARTITION_TAG] = partition_key
        return execute_job(
            build_reconstructable_job(__name__, _job_filed_as.__name__, (key,)),
            instance=instance,
            run_config=run_config,
            tags=run_tags,
            asset_selection=list(asset_selection) if asset_selection else None,
            raise_on_error=raise_on_error,
        )
    finally:
        del _JOBS[key]
