"""``execute_job_here``: a job run in this process through Dagster's public ``execute_job``,
keeping none of its outputs (goodpulse_dagster/execution.py says why)."""

from __future__ import annotations

import gc
import weakref

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    StaticPartitionsDefinition,
    asset,
    define_asset_job,
    multiprocess_executor,
)

from goodpulse_dagster import execution
from goodpulse_dagster.execution import PARTITION_TAG, execute_job_here


class Payload:
    """An output value that can be watched with a weak reference (a list cannot)."""

    def __init__(self, numbers: list[int]):
        self.numbers = numbers


def _numbers_job(produced: list):
    @asset
    def numbers() -> Payload:
        value = Payload(list(range(1_000)))
        produced.append(weakref.ref(value))
        return value

    @asset
    def total(numbers: Payload) -> int:
        return sum(numbers.numbers)

    defs = Definitions(assets=[numbers, total], jobs=[define_asset_job("both")])
    return defs.resolve_job_def("both")


def test_execute_job_here_materializes_and_keeps_no_outputs(tmp_path):
    produced: list[weakref.ref] = []
    job = _numbers_job(produced)
    instance = DagsterInstance.ephemeral(tempdir=str(tmp_path))
    result = execute_job_here(job, instance)
    assert result.success
    assert {e.asset_key for e in result.get_asset_materialization_events()} == {
        AssetKey("numbers"),
        AssetKey("total"),
    }
    # The value went to the IO manager (which the next step loaded back from its file): nothing,
    # the result included, holds it once the run is over. execute_in_process's result would.
    gc.collect()
    assert len(produced) == 1 and produced[0]() is None
    # Nor is the job left filed for reconstruction.
    assert execution._JOBS == {}  # noqa: SLF001 - the registry must not grow run after run

    subset = execute_job_here(job, instance, asset_selection=[AssetKey("total")])
    assert [e.asset_key for e in subset.get_asset_materialization_events()] == [AssetKey("total")]


def test_execute_job_here_runs_one_partition_with_the_run_config_and_tags_given(tmp_path):
    seen = {}

    @asset(partitions_def=StaticPartitionsDefinition(["a", "b"]))
    def letters(context) -> str:
        seen["partition"] = context.partition_key
        seen["tag"] = context.run.tags.get("team")
        context.log.info("letters ran")
        return context.partition_key

    job = Definitions(assets=[letters], jobs=[define_asset_job("letters_job")]).resolve_job_def(
        "letters_job"
    )
    instance = DagsterInstance.ephemeral(tempdir=str(tmp_path))
    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    result = execute_job_here(job, instance, quiet, tags={"team": "x"}, partition_key="b")
    assert result.success
    assert seen == {"partition": "b", "tag": "x"}
    assert result.dagster_run.tags[PARTITION_TAG] == "b"
    # The job has Dagster's default executor: its run config tells it to stay in this process.
    assert result.dagster_run.run_config == {**quiet, "execution": {"config": {"in_process": {}}}}
    [materialization] = result.get_asset_materialization_events()
    assert materialization.partition == "b"


def test_execute_job_here_raises_or_reports_a_failure(tmp_path):
    @asset
    def broken() -> int:
        raise RuntimeError("broken on purpose")

    job = Definitions(assets=[broken], jobs=[define_asset_job("broken_job")]).resolve_job_def(
        "broken_job"
    )
    instance = DagsterInstance.ephemeral(tempdir=str(tmp_path))
    result = execute_job_here(job, instance, raise_on_error=False)
    assert not result.success
    [failure] = result.get_step_failure_events()
    assert "broken on purpose" in failure.step_failure_data.error.cause.message
    with pytest.raises(RuntimeError, match="broken on purpose"):
        execute_job_here(job, instance)
    assert execution._JOBS == {}  # noqa: SLF001 - released after a failed run too


def test_execute_job_here_refuses_a_job_whose_executor_starts_processes():
    @asset
    def one() -> int:
        return 1

    job = Definitions(
        assets=[one], jobs=[define_asset_job("spawning", executor_def=multiprocess_executor)]
    ).resolve_job_def("spawning")
    with pytest.raises(ValueError, match="spawning: execute_job_here runs jobs in this process"):
        execute_job_here(job, DagsterInstance.ephemeral())
