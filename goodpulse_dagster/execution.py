"""Running a job in this process without holding every step's output in memory.

``JobDefinition.execute_in_process`` keeps the value of every step output until the run ends (so
that ``result.output_for_node`` can return it). The lake job runs all quarters in one run
(single-run backfills), so every bronze and silver table of the run stayed in memory at once:
at 1,000,000 orders the CLI's run peaked at 5.9 GB with capture and 3.4 GB without it
(docs/performance.md). Our assets hand their outputs to IO managers and nobody reads them back from
the result, so the CLI, the benchmark's refresh and the tests run jobs through ``execute_job_here``,
which is ``execute_in_process`` with output capture switched off.

It uses the same Dagster-internal building blocks ``execute_in_process`` uses (pinned by
``dagster>=1.13,<1.14`` in pyproject.toml); ``test_execution.py`` checks the behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult, JobDefinition


def execute_job_here(
    job: JobDefinition,
    instance: DagsterInstance,
    run_config: Mapping[str, object] | None = None,
    tags: Mapping[str, str] | None = None,
    partition_key: str | None = None,
    asset_selection: Sequence[AssetKey] | None = None,
    raise_on_error: bool = True,
) -> ExecuteInProcessResult:
    """``job.execute_in_process(...)`` (in-process executor), without output capture."""
    from dagster._core.definitions.job_base import InMemoryJob
    from dagster._core.execution.execute_in_process import (
        core_execute_in_process,
        merge_run_tags,
        type_check_and_normalize_args,
    )

    run_config, _, asset_selection, resource_defs, partition_key, input_values = (
        type_check_and_normalize_args(
            run_config=run_config, partition_key=partition_key, asset_selection=asset_selection
        )
    )
    ephemeral_job = job.as_ephemeral_job(
        resource_defs=resource_defs,
        input_values=input_values,
        op_selection=None,
        asset_selection=asset_selection,
    )
    if not run_config and ephemeral_job.partitioned_config and partition_key:
        run_config = ephemeral_job.partitioned_config.get_run_config_for_partition_key(
            partition_key
        )
    return core_execute_in_process(
        job=InMemoryJob(job_def=ephemeral_job),
        run_config=run_config,
        instance=instance,
        output_capturing_enabled=False,
        raise_on_error=raise_on_error,
        run_tags=merge_run_tags(
            job_def=job,
            partition_key=partition_key,
            tags=tags,
            asset_selection=asset_selection,
            instance=instance,
            run_config=run_config,
        ),
        asset_selection=frozenset(asset_selection),
    )
