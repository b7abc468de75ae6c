"""What a table spec is: the Python counterpart of a dbt ``schema.yml`` entry.

Each silver, gold, KPI and quarantine table is declared once, as a ``TableSpec``: its layer and
name (together its asset key), its grain, partitioning, columns (name, type, description), primary
key, the references it checks and the asset checks it carries. Asset descriptions and column
schemas in the Dagster UI, the silver reference rules, the key checks, docs/metrics.md's table
reference and the report's metric definitions are generated from the specs or tested against them
(goodpulse_dagster_tests/test_table_spec.py).

Prose that depends on a setting (a threshold, a quantile, a list of statuses) names it as a
``{placeholder}`` and is filled in from the settings in force by ``setting_values``: no threshold
is written into a description.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from goodpulse_dagster.schema.glossary import GLOSSARY

if TYPE_CHECKING:
    from goodpulse_dagster.params import MetricParams


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    # Empty: the column's meaning is the glossary's entry for its name (schema/glossary.py), the
    # same in every table that has it.
    description: str = ""

    def describe(self, values: Mapping[str, str]) -> str:
        text = self.description or GLOSSARY.get(self.name, "")
        return text.format(**values)


@dataclass(frozen=True)
class Reference:
    """``column`` holds a key of the parent table of the same layer (a foreign key)."""

    column: str
    parent: str
    # The layer that sets an orphan aside (quarantine rule 'orphan'); silver checks every
    # reference whichever layer enforced it.
    quarantined_by: str = "silver"


@dataclass(frozen=True)
class TableSpec:
    layer: str
    name: str
    # What one row is and what it holds, one or two sentences (may use {placeholders}).
    grain: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    partitioned: bool = False
    references: tuple[Reference, ...] = ()
    # Names of the asset checks the table carries (each layer's checks.py builds them; a test keeps the two equal).
    checks: tuple[str, ...] = ()

    @property
    def key_path(self) -> tuple[str, str]:
        return (self.layer, self.name)

    @property
    def qualified_name(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def column_types(self) -> dict[str, str]:
        return {c.name: c.type for c in self.columns}

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.qualified_name} has no column {name!r}")

    def describe(self, values: Mapping[str, str]) -> str:
        return self.grain.format(**values)


def columns(types: Mapping[str, str], descriptions: Mapping[str, str] | None = None):
    """Columns from a name -> type mapping, with the descriptions that differ from the glossary."""
    descriptions = descriptions or {}
    unknown = set(descriptions) - set(types)
    if unknown:
        raise ValueError(f"descriptions for columns the table does not have: {sorted(unknown)}")
    return tuple(Column(n, t, descriptions.get(n, "")) for n, t in types.items())


def setting_values(params: MetricParams | None = None) -> dict[str, str]:
    """The settings that prose may name, as text, from ``params`` (defaults when None)."""
    from goodpulse_dagster.params import MetricParams

    p = params or MetricParams()
    q20, q80, q95 = (f"p{round(q * 100):d}" for q in p.value_quantiles)
    active, warm, at_risk = p.lifecycle_days
    return {
        "completed_statuses": ", ".join(f"'{s}'" for s in p.completed_statuses),
        "regular_min_orders": str(p.regular_min_orders),
        "regular_max_orders": str(p.power_user_min_orders - 1),
        "power_user_min_orders": str(p.power_user_min_orders),
        "value_q_low": q20,
        "value_q_mid": q80,
        "value_q_high": q95,
        "active_days": str(active),
        "warm_days": str(warm),
        "at_risk_days": str(at_risk),
        "top_n_cities": str(p.top_n_cities),
        "max_line_amount": f"{p.max_line_amount:,.0f}",
        "churn_high_below": f"{p.churn_high_below:g}",
        "churn_medium_below": f"{p.churn_medium_below:g}",
        "backtest_holdout_days": str(p.backtest_holdout_days),
        "prediction_min_repeat_customers": str(p.prediction_min_repeat_customers),
    }
