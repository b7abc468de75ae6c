"""The one table spec: every table of every layer, declared once.

- ``types``: layer names, lake columns, SQL types, category vocabularies.
- ``sources``: the Olist source tables as they land, and their bronze/silver columns.
- ``glossary``: what each column name means.
- ``spec``: ``TableSpec`` / ``Column`` / ``Reference`` and the filling of settings into prose.
- ``bronze``, ``silver``, ``gold``, ``kpi``: the tables of each layer (and quarantine).
- ``docs``: the table reference of docs/metrics.md, generated from the specs.

Everything is re-exported here, so ``from goodpulse_dagster import schema`` reaches it all.
"""

from __future__ import annotations

from goodpulse_dagster.schema.bronze import BRONZE_SPECS, QUARANTINE_COLUMNS, QUARANTINE_SPECS
from goodpulse_dagster.schema.glossary import GLOSSARY
from goodpulse_dagster.schema.gold import *  # noqa: F403
from goodpulse_dagster.schema.gold import GOLD_SPECS, PREDICTION_GOLD_SPECS
from goodpulse_dagster.schema.kpi import *  # noqa: F403
from goodpulse_dagster.schema.kpi import KPI_SPECS, PREDICTION_KPI_SPECS
from goodpulse_dagster.schema.silver import (
    LIFECYCLE,
    SILVER_SPECS,
    silver_inputs,
    silver_references,
)
from goodpulse_dagster.schema.sources import *  # noqa: F403
from goodpulse_dagster.schema.spec import Column, Reference, TableSpec, setting_values
from goodpulse_dagster.schema.types import *  # noqa: F403

# Every table spec by asset key path (layer, name), in data-flow order.
TABLE_SPECS: dict[tuple[str, str], TableSpec] = {
    spec.key_path: spec
    for specs in (
        BRONZE_SPECS,
        SILVER_SPECS,
        GOLD_SPECS,
        PREDICTION_GOLD_SPECS,
        KPI_SPECS,
        PREDICTION_KPI_SPECS,
        QUARANTINE_SPECS,
    )
    for spec in specs.values()
}


def table_spec(layer: str, name: str) -> TableSpec:
    """The spec of table ``layer``.``name``; KeyError names the table when there is none."""
    try:
        return TABLE_SPECS[(layer, name)]
    except KeyError:
        raise KeyError(f"no table spec for {layer}.{name}") from None


__all__ = [
    "BRONZE_SPECS",
    "Column",
    "GLOSSARY",
    "GOLD_SPECS",
    "KPI_SPECS",
    "LIFECYCLE",
    "PREDICTION_GOLD_SPECS",
    "PREDICTION_KPI_SPECS",
    "QUARANTINE_COLUMNS",
    "QUARANTINE_SPECS",
    "Reference",
    "SILVER_SPECS",
    "TABLE_SPECS",
    "TableSpec",
    "setting_values",
    "silver_inputs",
    "silver_references",
    "table_spec",
]
