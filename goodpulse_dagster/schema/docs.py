"""Prose generated from the table specs: asset descriptions (the Dagster UI) and the table
reference of docs/metrics.md. Plain text, no Dagster: asset_conventions.py turns it into asset specs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from goodpulse_dagster.schema.sources import SOURCE_TABLES
from goodpulse_dagster.schema.spec import TableSpec
from goodpulse_dagster.schema.types import BRONZE, GOLD, KPI, QUARANTINE, SILVER

_LAYER_TITLES = {BRONZE: "Bronze", SILVER: "Silver", GOLD: "Gold", KPI: "KPI"}
_PARTITIONED = " Partitioned by the calendar quarter of the order's purchase time (`_partition`)."


def asset_description(table: TableSpec, values: Mapping[str, str]) -> str:
    """The description of the table's asset: its grain and what its layer did to it."""
    grain = table.describe(values)
    partitioned = _PARTITIONED if table.partitioned else ""
    if table.layer == BRONZE:
        source = SOURCE_TABLES[table.name]
        return (
            f"Bronze `{table.name}`: typed as-is copy of `{source.file_name}`. Grain: {grain}"
            f"{partitioned or ' Unpartitioned.'} Adds `_source_file` and `_ingested_at`. Rows that "
            "cannot be read (wrong field count, unparseable value, no quarter, unknown order) go to "
            f"`quarantine/{table.name}/bronze.parquet` with file, line and reason."
        )
    if table.layer == SILVER and table.name in SOURCE_TABLES:
        return (
            f"Silver `{table.name}`. Grain: {grain} Exact duplicates dropped; conflicting "
            "duplicate keys, empty keys and orphans quarantined in "
            f"`quarantine/{table.name}/silver`.{partitioned}"
        )
    if table.layer == QUARANTINE:
        return f"Quarantined rows of `{table.name}`: {grain}"
    return f"{_LAYER_TITLES[table.layer]} `{table.name}`. Grain: {grain}{partitioned}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def table_reference(tables: Iterable[TableSpec], values: Mapping[str, str]) -> str:
    """Markdown: one section per table with its grain, key and columns (type, meaning)."""
    parts: list[str] = []
    for table in tables:
        key = ", ".join(f"`{c}`" for c in table.primary_key) or "none (one row, or a list)"
        parts += [
            f"### `{table.qualified_name}`",
            "",
            _cell(table.describe(values)),
            "",
            f"Primary key: {key}."
            + (" Partitioned by purchase quarter." if table.partitioned else ""),
            "",
            "| column | type | meaning |",
            "|---|---|---|",
            *(f"| `{c.name}` | {c.type} | {_cell(c.describe(values))} |" for c in table.columns),
            "",
        ]
    return "\n".join(parts)


# docs/metrics.md holds the generated reference between these two lines.
REFERENCE_BEGIN = (
    "<!-- table reference: generated from goodpulse_dagster/schema with the default settings by "
    "`python -m goodpulse_dagster.schema.docs`; edit the specs, not this text -->"
)
REFERENCE_END = "<!-- end of table reference -->"


def metrics_reference(values: Mapping[str, str]) -> str:
    """The generated part of docs/metrics.md: the order lifecycle, gold and KPI tables."""
    from goodpulse_dagster import schema

    tables = [
        schema.table_spec(SILVER, schema.LIFECYCLE),
        *schema.GOLD_SPECS.values(),
        *schema.PREDICTION_GOLD_SPECS.values(),
        *schema.KPI_SPECS.values(),
        *schema.PREDICTION_KPI_SPECS.values(),
    ]
    return f"{REFERENCE_BEGIN}\n\n{table_reference(tables, values)}\n{REFERENCE_END}"


def with_reference(document: str, values: Mapping[str, str]) -> str:
    """``document`` (docs/metrics.md) with its generated table reference replaced."""
    head, begin, rest = document.partition(REFERENCE_BEGIN)
    _, end, tail = rest.partition(REFERENCE_END)
    if not (begin and end):
        raise ValueError("docs/metrics.md has no table reference markers")
    return head + metrics_reference(values) + tail


if __name__ == "__main__":
    from pathlib import Path

    from goodpulse_dagster.schema.spec import setting_values

    path = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
    path.write_text(with_reference(path.read_text(encoding="utf-8"), setting_values()))
    print(f"wrote the table reference of {path}")
