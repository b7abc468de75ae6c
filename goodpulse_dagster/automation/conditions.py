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
    ).with_label(ANALYTICS_CONDITION_LABEL)
