"""Write small raw landing zones for tests: Kaggle headers from the table specs (schema/), rows given by hand."""

import csv
from pathlib import Path

from goodpulse_dagster.schema import SOURCE_TABLES


def write_table(path: Path, table: str, rows: list[dict], header: list[str] | None = None) -> Path:
    """Write ``rows`` as a CSV file of ``table`` (missing columns empty)."""
    columns = header or list(SOURCE_TABLES[table].columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])
    return path


def write_landing_zone(root: Path, tables: dict[str, list[dict]]) -> Path:
    """One full export per table (Kaggle file names); every table is written, empty if absent."""
    root.mkdir(parents=True, exist_ok=True)
    for name, table in SOURCE_TABLES.items():
        write_table(root / table.file_name, name, tables.get(name, []))
    return root


def count_csv_records(path: Path) -> int:
    """Records in a CSV file as the csv module counts them (quoted newlines stay in a record)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1
