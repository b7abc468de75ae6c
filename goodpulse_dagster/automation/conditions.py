"""Declarative automation of the analytics layer (see docs/automation.md for the choice).

Gold, KPI and report assets are unpartitioned and read every quarter of silver. With such a
parent, ``AutomationCondition.eager()`` waits forever: its ``~any_deps_missing()`` term is true
as soon as *one* parent partition is missing, and the quarterly partitions always include quarters
that nobody has materialized (the quarter in progress, quarters outside the data). The IO manager
reads a missing quarter as empty, so the analytics should run as soon as every input has *some*
data. ``analytics_automation_condition`` is eager with that one term replaced.
"""

from dagster import AutomationCondition

ANALYTICS_CONDITION_LABEL = "eager_over_all_quarters"


def inputs_have_data() -> AutomationCondition:
    """True when every dependency has data: an unpartitioned one is materialized (or requested
    in this tick); a partitioned one has at least one materialized (or requested) partition.

    ``all_deps_match`` maps the parent partitions that match onto the unpartitioned child, so a
    single matching quarter is enough, while eager's ``any_deps_missing`` maps the *missing*
    quarters and so blocks on a single missing one."""
    return AutomationCondition.all_deps_match(
        ~AutomationCondition.missing() | AutomationCondition.will_be_requested()
    ).with_label("inputs_have_data")


def inputs_failed() -> AutomationCondition:
    """True when an input's latest run failed or was stopped before it (a step skipped because a
    blocking check upstream failed counts as failed), or an input's blocking check last failed.

    Not ``AutomationCondition.all_deps_blocking_checks_passed()``, for two reasons found by
    testing it (test_run_trust.py): with quarterly parents and an unpartitioned child it is true
    as soon as *one* quarter's checks passed (``all_deps_match`` maps the matching quarters onto
    the child, see ``inputs_have_data``); and Dagster's check conditions ignore the evaluations
    of a run over a range of quarters (recorded without a partition), which is how the CLI, a
    full export and a backfill run the lake. ``execution_failed`` sees those runs: when a silver
    table's blocking check fails, the silver lifecycle table that reads it is skipped in the run,
    and each of its quarters counts as failed until a later run builds it."""
    failed = AutomationCondition.execution_failed() | AutomationCondition.any_checks_match(
        AutomationCondition.check_failed(), blocking_only=True
    )
    # An input requested in this tick is rebuilt in the same run, ahead of its dependents, and
    # Dagster's in-run blocking stops them if it fails again: a failed gold table does not hold
    # its KPIs back for one more tick once it is being rebuilt.
    return AutomationCondition.any_deps_match(
        failed & ~AutomationCondition.will_be_requested()
    ).with_label("inputs_failed")


def analytics_automation_condition() -> AutomationCondition:
    """Gold, KPI and report assets refresh when any input changes (any quarter of silver, a
    dimension, an upstream gold table), once nothing upstream is still running.

    The terms are those of ``AutomationCondition.eager()`` except ``~any_deps_missing()``,
    replaced by ``inputs_have_data()`` (see the module docstring)."""
    return (
        AutomationCondition.in_latest_time_window()
        & (
            AutomationCondition.newly_missing() | AutomationCondition.any_deps_updated()
        ).since_last_handled()
        & inputs_have_data()
        # Waiting for in-progress (and queued) parents means a backfill of every quarter, or the
        # several partition runs of a full export, is followed by one analytics run, not one each.
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
        # Never rebuilt from inputs that failed or that a blocking check failed on
        # (docs/data_quality.md, "Runs"); the next lake run that builds them releases it. Launches
        # that bypass conditions meet the same rule in each step (run_trust.py).
        & ~inputs_failed()
    ).with_label(ANALYTICS_CONDITION_LABEL)
