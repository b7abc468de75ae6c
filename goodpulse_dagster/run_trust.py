"""Trustworthy numbers at the run level (docs/data_quality.md, "Runs: isolation, blocking, messages,
staleness").

- ``guard_upstream_checks``: gold, KPI and report steps refuse to run while the latest evaluation
  of a blocking check upstream of them failed with ERROR, whichever way the run was started (CLI,
  schedule, sensor, declarative automation, a launch from the UI). Within one run Dagster's own
  blocking checks already stop the downstream steps; this covers the runs that come after.
- The state file ``$GOODPULSE_HOME/state/last_good_run.json``: the last good analytics run and
  every failure since. The report asset records a good run; the guard records the runs it
  blocks; the CLI records every failure of its runs. The report files and ``goodpulse kpis``
  carry a notice while there are failures since the last good run.
- ``user_error_message``: the plain message of a user error, dug out of the error chain Dagster
  records for a failed step.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    DagsterInstance,
)

from goodpulse_dagster import atomic_files, lake_layout
from goodpulse_dagster.errors import UserError, mask_url_secrets

STATE_FILE = Path("state") / "last_good_run.json"
# Executions of one check read to find the latest evaluation of each quarter; a range run's
# evaluation (recorded without a partition) ends the search, so this is rarely reached.
CHECK_HISTORY_LIMIT = 200


class BlockedByFailedCheckError(UserError):
    """An analytics step did not run: a blocking check upstream of it failed."""


# --- The state file ------------------------------------------------------------------------------


def state_path(home: Path) -> Path:
    return Path(home) / STATE_FILE


def home_of_reports(reports_dir: str | Path) -> Path:
    """$GOODPULSE_HOME from the reports directory the ``reports`` resource names
    ($GOODPULSE_HOME/reports, settings.py): the assets know their home through it."""
    return lake_layout.home_of_reports(Path(reports_dir))


@dataclass(frozen=True)
class Failure:
    """A failed step or check of a run: what failed, and why in one sentence."""

    what: str
    cause: str
    run_id: str | None = None
    at: str | None = None


def read_state(home: Path) -> dict:
    path = state_path(home)
    if not path.exists():
        return {"last_good": None, "failures_since": []}
    return json.loads(path.read_text(encoding="utf-8"))


def _write_state(home: Path, state: dict) -> None:
    # Temporary file + rename: a reader (the CLI, the report) never sees a half-written file.
    atomic_files.write_text(state_path(home), json.dumps(state, indent=1))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def record_good_run(home: Path, run_id: str | None) -> None:
    """The analytics run ``run_id`` published the report: nothing since is a failure."""
    _write_state(home, {"last_good": {"at": _now(), "run_id": run_id}, "failures_since": []})


def record_failures(home: Path, failures: Iterable[Failure]) -> None:
    """Add failures to the state (once each) and mark the published report as stale."""
    state = read_state(home)
    known = {(f["what"], f["cause"], f.get("run_id")) for f in state["failures_since"]}
    for failure in failures:
        entry = asdict(failure)
        entry["at"] = entry["at"] or _now()
        if (entry["what"], entry["cause"], entry["run_id"]) not in known:
            known.add((entry["what"], entry["cause"], entry["run_id"]))
            state["failures_since"].append(entry)
    _write_state(home, state)
    from goodpulse_dagster.report import mark_report_stale

    mark_report_stale(lake_layout.reports_dir(home), stale_notice(state))


def stale_notice(state: Mapping) -> str | None:
    """The notice the report and ``goodpulse kpis`` show while failures followed the last good
    run; None when the published figures are current."""
    failures = state.get("failures_since") or []
    if not failures:
        return None
    good = state.get("last_good")
    when = f"{good['at']} (run {good['run_id']})" if good else "an unknown time"
    # Steps blocked for one reason share it (each gold step of a blocked run says the same).
    by_cause: dict[str, list[str]] = {}
    for failure in failures:
        by_cause.setdefault(failure["cause"], []).append(failure["what"])
    listed = "; ".join(f"{', '.join(whats)}: {cause}" for cause, whats in by_cause.items())
    return f"These figures are from the last good run at {when}; since then: {listed}"


# --- The guard -----------------------------------------------------------------------------------


# The resource key of the dependency graph (definitions.py).
DEPENDENCY_GRAPH = "dependency_graph"


@dataclass(frozen=True)
class DependencyGraph:
    """Every asset's dependencies and every asset's blocking checks."""

    deps: Mapping[AssetKey, frozenset[AssetKey]]
    blocking: Mapping[AssetKey, tuple[AssetCheckKey, ...]]

    @classmethod
    def of(cls, assets: Iterable, checks: Iterable) -> DependencyGraph:
        """From the asset and check definitions of the one Definitions object, which hands the
        graph to the guarded steps as the ``dependency_graph`` resource (so the guard needs no
        import of the asset modules, which call it)."""
        deps: dict[AssetKey, frozenset[AssetKey]] = {}
        for assets_def in assets:
            for key, parents in getattr(assets_def, "asset_deps", {}).items():
                deps[key] = frozenset(parents)
        blocking: dict[AssetKey, list[AssetCheckKey]] = {}
        for checks_def in checks:
            for spec in checks_def.check_specs:
                if spec.blocking:
                    blocking.setdefault(spec.asset_key, []).append(spec.key)
        return cls(deps, {k: tuple(sorted(v, key=str)) for k, v in blocking.items()})

    def upstream(self, keys: Iterable[AssetKey]) -> set[AssetKey]:
        """Every asset ``keys`` read, directly or through other assets."""
        seen: set[AssetKey] = set()
        todo = [p for k in keys for p in self.deps.get(k, ())]
        while todo:
            key = todo.pop()
            if key not in seen:
                seen.add(key)
                todo.extend(self.deps.get(key, ()))
        return seen


def latest_evaluations(instance: DagsterInstance, check_key: AssetCheckKey) -> list:
    """The execution records (partition, run_id, evaluation) of the latest evaluation of each quarter, newest first.

    A one-quarter run records its evaluation against the quarter; a run over a range of quarters
    (the CLI, a full export, a backfill) records one without a partition, which covers every
    quarter the run read and so supersedes the older evaluations. Executions that never
    evaluated (skipped because their asset failed) leave the older evaluation in force: the data
    it judged is still the data in the lake."""
    out, seen = [], set()
    history = instance.event_log_storage.get_asset_check_execution_history(
        check_key, limit=CHECK_HISTORY_LIMIT
    )
    for record in history:
        # A record whose execution was planned but never reported an evaluation has none.
        if not isinstance(record.evaluation, AssetCheckEvaluation) or record.partition in seen:
            continue
        seen.add(record.partition)
        out.append(record)
        if record.partition is None:
            break
    return out


def failed_blocking_checks(
    instance: DagsterInstance, graph: DependencyGraph, asset_keys: Iterable[AssetKey]
) -> list[Failure]:
    """The blocking checks of ``asset_keys`` whose latest evaluation (per quarter) failed with
    ERROR. A blocking check failing with WARN does not block, as within a run."""
    failures = []
    for asset_key in sorted(asset_keys, key=lambda k: k.to_user_string()):
        for check_key in graph.blocking.get(asset_key, ()):
            for record in latest_evaluations(instance, check_key):
                evaluation, partition = record.evaluation, record.partition
                if evaluation.passed or evaluation.severity != AssetCheckSeverity.ERROR:
                    continue
                where = asset_key.to_user_string() + (
                    f" (quarter {partition})" if partition else ""
                )
                failures.append(
                    Failure(
                        what=f"check {check_key.name} of {where}",
                        cause=evaluation.description or "no description recorded",
                        run_id=record.run_id,
                    )
                )
    return failures


def blocked_message(failures: Sequence[Failure]) -> str:
    listed = "; ".join(f"{f.what} failed: {f.cause}" for f in failures)
    return (
        f"Not rebuilt: {listed}. Gold, KPIs and the report were not rebuilt; the last good ones "
        "are kept. Fix the input and run the lake again."
    )


def guard_upstream_checks(context, reports_dir: str | Path, graph: DependencyGraph) -> None:
    """Raise ``BlockedByFailedCheckError`` (and record it in the state file) when a blocking check
    of an asset this step reads, directly or not, last failed with ERROR.

    Called first thing by every gold, KPI and report step, before anything is read or written:
    a blocked step publishes nothing, and Dagster skips what depends on it."""
    failures = failed_blocking_checks(
        context.instance, graph, graph.upstream(context.selected_asset_keys)
    )
    if not failures:
        return
    message = blocked_message(failures)
    # Named as the CLI names a failed step, so that its record of the same failure is a no-op.
    step = Failure(f"step {context.op_def.name}", message, run_id=context.run.run_id)
    record_failures(home_of_reports(reports_dir), [step])
    raise BlockedByFailedCheckError(message)


# --- Messages ------------------------------------------------------------------------------------


def _user_error_class_names() -> set[str]:
    names, todo = set(), [UserError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def _strip_class(message: str, cls_name: str | None) -> str:
    # SerializableErrorInfo.message is traceback.format_exception_only: "ClassName: text\n".
    text = message.strip()
    if cls_name:
        for prefix in (f"{cls_name}: ", f"{cls_name}:"):
            if prefix in text.split("\n", 1)[0]:
                text = text.split(prefix, 1)[1]
                break
    return text.strip()


def user_error_message(error) -> str:
    """The message of the user error in a Dagster error chain (``SerializableErrorInfo``, as in
    a STEP_FAILURE event: "Error occurred while executing op ..." caused by our error); else the
    first line of the innermost error's message."""
    names, chain = _user_error_class_names(), []
    while error is not None:
        chain.append(error)
        error = error.cause or error.context
    # Masked: the cause is printed, written to the state file and the report, and alerted, and
    # an error of boto3 or DuckDB may quote a URL with its credentials.
    for info in chain:
        if info.cls_name in names:
            return mask_url_secrets(_strip_class(info.message, info.cls_name))
    innermost = chain[-1]
    return mask_url_secrets(_strip_class(innermost.message, innermost.cls_name).split("\n", 1)[0])
