"""Declarative automation of the analytics layer (see docs/automation.md for the choice)."""

from dagster import AutomationCondition


def analytics_automation_condition() -> AutomationCondition:
    """Gold, KPI and report assets refresh when their inputs change."""
    return AutomationCondition.eager()
