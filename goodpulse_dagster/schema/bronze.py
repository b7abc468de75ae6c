"""Bronze tables (typed copies of the raw files) and their quarantine tables.

Bronze keeps every row it can read, duplicates included, so it declares no primary key; what it
cannot read goes to the source table's quarantine table with file, line and reason.
"""

from __future__ import annotations

from goodpulse_dagster.schema.sources import SOURCE_TABLES, bronze_table_columns
from goodpulse_dagster.schema.spec import TableSpec, columns
from goodpulse_dagster.schema.types import (
    BIGINT,
    BRONZE,
    DATE,
    PARTITION_COLUMN,
    QUARANTINE,
    TIMESTAMP,
    VARCHAR,
)

_BRONZE_CHECKS = (
    "column_schema_change",
    "expected_columns",
    "extra_columns",
    "landing_zone_files_recognised",
    "rows_parseable",
)

BRONZE_SPECS: dict[str, TableSpec] = {
    name: TableSpec(
        layer=BRONZE,
        name=name,
        grain=source.description,
        columns=columns(bronze_table_columns(name)),
        primary_key=(),
        partitioned=source.partitioned,
        checks=tuple(
            sorted(_BRONZE_CHECKS + (("references_orders",) if source.references_orders else ()))
        ),
    )
    for name, source in SOURCE_TABLES.items()
}

# --- Quarantine (lake: quarantine/<table>/...; warehouse: schema ``quarantine``) ---------------
# Every row a layer rejects lands here with the reason, so nothing is lost silently.
QUARANTINE_COLUMNS: dict[str, str] = {
    "table_name": VARCHAR,
    "layer": VARCHAR,
    "rule": VARCHAR,
    "source_file": VARCHAR,
    "source_line": BIGINT,
    "reason": VARCHAR,
    "record": VARCHAR,
    PARTITION_COLUMN: DATE,
    "quarantined_at": TIMESTAMP,
}

QUARANTINE_SPECS: dict[str, TableSpec] = {
    name: TableSpec(
        layer=QUARANTINE,
        name=name,
        grain=(
            f"One row per record of `{name}` that bronze could not read or route (malformed, "
            "unparseable, unroutable, orphan) or silver set aside (null or duplicate key, orphan, "
            "negative value, out of range), with layer, rule, source file, line and reason. "
            "Replaced on every run from the lake's quarantine objects."
        ),
        columns=columns(
            QUARANTINE_COLUMNS,
            {PARTITION_COLUMN: "The partition of the row's order (NULL for a dimension)."},
        ),
        primary_key=(),
    )
    for name in SOURCE_TABLES
}
