"""Bronze: a typed, as-is copy of each source file, and the quarter each order-grain row belongs to.

Reading: DuckDB's CSV reader with the expected column types and ``store_rejects``: a row with the
wrong field count, an unterminated quote or a value that does not parse as its column's type is
rejected with its physical line number and DuckDB's message, and every other row loads. Rejected
rows become quarantine rows (nothing is dropped silently).

The header is read by Python's csv module (not sniffed) so that a missing required column fails with
a message naming the file and the column, and so that a malformed line cannot confuse the sniffer.
"""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from goodpulse_dagster.errors import UserInputError
from goodpulse_dagster.schema import (
    INGESTED_AT_COLUMN,
    PARTITION_COLUMN,
    QUARANTINE_COLUMNS,
    SOURCE_FILE_COLUMN,
    SourceTable,
)
from goodpulse_dagster.transforms.sql import (
    arrow_schema,
    empty_table,
    quote_ident,
    quote_literal,
)
from goodpulse_dagster.transforms.sql import connect as sql_connect


class SourceSchemaError(UserInputError):
    """A source file cannot be read as its table: names the file and what is wrong."""


@dataclass
class IngestedFile:
    valid: pa.Table  # the table's columns (typed), extra columns (text), _source_file, _ingested_at
    rejected: pa.Table  # QUARANTINE_COLUMNS
    extra_columns: list[str]

    @property
    def record_count(self) -> int:
        return self.valid.num_rows + self.rejected.num_rows


def read_header(path: Path) -> list[str]:
    """Column names of a CSV file (UTF-8 byte-order mark removed); [] for an empty file."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        first = next(csv.reader(fh), None)
    return [c.strip() for c in first] if first else []


def check_header(table: SourceTable, header: list[str], source: str) -> list[str]:
    """Raise if a required column is missing; return the extra (unknown) columns, which are kept."""
    missing = [c for c in table.required if c not in header]
    if missing:
        raise SourceSchemaError(
            f"{source}: missing required column(s) {', '.join(missing)} for table "
            f"'{table.name}' (header has: {', '.join(header) or 'nothing'})"
        )
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise SourceSchemaError(
            f"{source}: column(s) {', '.join(dupes)} appear twice in the header"
        )
    return [c for c in header if c not in table.columns]


def bronze_arrow_schema(table: SourceTable, extra_columns: list[str] = ()) -> pa.Schema:
    cols = dict(table.columns)
    cols.update({c: "VARCHAR" for c in extra_columns})
    cols[SOURCE_FILE_COLUMN] = "VARCHAR"
    cols[INGESTED_AT_COLUMN] = "TIMESTAMP"
    return arrow_schema(cols)


def ingest_file(table: SourceTable, path: Path, source: str, ingested_at: datetime) -> IngestedFile:
    """Read one source file into its typed bronze columns plus the quarantined rows.

    ``source`` is the file's URI as the user knows it (landing-zone path or s3:// key); it is what
    ``_source_file`` and every error message show.
    """
    if path.stat().st_size == 0:
        # An empty file is a valid, empty table.
        return IngestedFile(empty_table(bronze_arrow_schema(table)), empty_quarantine(), [])
    header = read_header(path)
    extras = check_header(table, header, source)
    file_types = {c: table.columns.get(c, "VARCHAR") for c in header}
    columns_sql = "{" + ", ".join(f"{quote_literal(c)}: '{t}'" for c, t in file_types.items()) + "}"
    con = sql_connect()
    try:
        rejects = _read_csv_into_raw(con, path, source, columns_sql)
        # Missing optional columns become typed NULLs so every file has the same core schema.
        select = [
            quote_ident(c) if c in file_types else f"NULL::{t} AS {quote_ident(c)}"
            for c, t in table.columns.items()
        ]
        select += [quote_ident(c) for c in extras]
        valid = con.sql(
            f"""
            SELECT {", ".join(select)},
                   {quote_literal(source)} AS {SOURCE_FILE_COLUMN},
                   ?::TIMESTAMP AS {INGESTED_AT_COLUMN}
            FROM raw
            """,
            params=[ingested_at],
        ).to_arrow_table()
        rejected = con.sql(
            f"""
            -- DuckDB can report several errors for one line (a line two fields short, two bad
            -- values): one quarantine row per rejected line, with every message.
            SELECT {quote_literal(table.name)} AS table_name, 'bronze' AS layer,
                   CASE WHEN bool_and(error_type = 'CAST') THEN 'unparseable' ELSE 'malformed' END
                       AS rule,
                   {quote_literal(source)} AS source_file,
                   line::BIGINT AS source_line,
                   'line ' || line || ': '
                       || string_agg(DISTINCT error_message, '; ' ORDER BY error_message) AS reason,
                   any_value(csv_line) AS record,
                   NULL::DATE AS {PARTITION_COLUMN},
                   ?::TIMESTAMP AS quarantined_at
            FROM {rejects}
            GROUP BY line
            ORDER BY line
            """,
            params=[ingested_at],
        ).to_arrow_table()
    finally:
        con.close()
    return IngestedFile(
        valid.cast(bronze_arrow_schema(table, extras)),
        rejected.cast(arrow_schema(QUARANTINE_COLUMNS)),
        extras,
    )


def _read_csv_into_raw(
    con: duckdb.DuckDBPyConnection, path: Path, source: str, columns_sql: str
) -> str:
    """Read ``path`` into the temp table ``raw``; returns the name of its rejects table.

    Strict first: DuckDB's strict parser is what sorts a malformed line into the rejects. A file
    the strict parser cannot read at all (its state machine stops, e.g. on CRLF line endings
    among LF ones) is read again without strict mode rather than failing the run;
    a file neither reads is an error that names it."""
    errors = []
    for strict in (True, False):
        suffix = uuid.uuid4().hex[:12]
        rejects, scans = f"rejects_{suffix}", f"scans_{suffix}"
        try:
            con.execute(
                f"""
                CREATE TEMP TABLE raw AS
                SELECT * FROM read_csv(
                    {quote_literal(str(path))},
                    columns = {columns_sql},
                    header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
                    strict_mode = {str(strict).lower()},
                    store_rejects = true, rejects_table = '{rejects}', rejects_scan = '{scans}'
                )
                """
            )
            return rejects
        except duckdb.InvalidInputException as exc:
            errors.append(str(exc).splitlines()[0])
    raise ValueError(
        f"{source}: cannot be read as a CSV file ({'; '.join(errors)}). It is left as it is in "
        "the landing zone: fix or replace it and run again."
    )


def empty_quarantine() -> pa.Table:
    return empty_table(arrow_schema(QUARANTINE_COLUMNS))


# The column DuckDB names each staged row's file in (read_parquet's ``filename``); not kept.
STAGED_FILE = "_staged_file"


@dataclass
class RoutedRows:
    """A partitioned table's rows of one window, and the rows no partition can hold."""

    rows: pa.Table  # the window's rows, with ``_partition`` before the ingestion columns
    quarantine: pa.Table  # QUARANTINE_COLUMNS: unroutable, orphan and out-of-partition rows
    # Of the files checked for orphans (rows of unknown orders), those that have none.
    orphan_free: list[Path] = field(default_factory=list)


def routed_schema(file_schema: pa.Schema) -> pa.Schema:
    """The schema of routed rows: the staged files' columns with ``_partition`` inserted before
    the ingestion columns (``_source_file``, ``_ingested_at``)."""
    ingestion = (SOURCE_FILE_COLUMN, INGESTED_AT_COLUMN)
    fields = [f for f in file_schema if f.name not in ingestion]
    fields.append(pa.field(PARTITION_COLUMN, pa.date32()))
    fields += [file_schema.field(name) for name in ingestion]
    return pa.schema(fields)


def route_staged_rows(
    table_name: str,
    paths: list[Path],
    file_schema: pa.Schema,
    quarantined_at: datetime,
    window: tuple[date, date] | None,
    bounds: tuple[date, date],
    routes_path: Path | None = None,
    orphan_check_paths: list[Path] | None = None,
) -> RoutedRows:
    """Give each staged row of an order-grain table its quarter, and keep those of ``window``.

    ``paths`` are the table's staged Parquet files (``file_schema`` their unified schema). Orders
    take the quarter of their purchase time; items, payments and reviews the quarter of their
    order, from ``routes_path`` (``order_id``, ``_partition``: one row per routable order). The
    quarantine is the table's complete set whatever the window: orders with no purchase time
    ('unroutable'), rows of unknown orders ('orphan') and rows whose quarter is outside the
    partitions ``bounds`` [first, last] (quarter starts; 'unroutable'), which would otherwise be
    filtered out of every run's window and lost silently.

    DuckDB reads the Parquet files itself: a one-quarter refresh decodes the rows of its quarter
    and the keys of the others, not every row of every file (at 1M orders, reading and routing
    every row was ~1 s of each table's 1.4 s refresh step). ``window`` None: every partition.

    ``orphan_check_paths`` (default: all of ``paths``) are the files whose rows are checked for
    orphans; the caller leaves out files it knows have none (``sources/staging.py`` remembers
    them). ``RoutedRows.orphan_free`` lists the checked files that had none.
    """
    orphan_free: list[Path] = []
    con = sql_connect()
    try:
        columns = ", ".join(quote_ident(name) for name in file_schema.names)
        files = "[" + ", ".join(quote_literal(str(p)) for p in paths) + "]"
        con.execute(
            f"CREATE TEMP VIEW staged AS SELECT {columns}, {STAGED_FILE} "
            f"FROM read_parquet({files}, union_by_name = true, filename = '{STAGED_FILE}')"
        )
        con.execute(f"CREATE TEMP VIEW src AS SELECT {columns} FROM staged")
        if routes_path is None:
            con.execute(
                f"""
                CREATE TEMP VIEW keyed AS
                SELECT *, date_trunc('quarter', order_purchase_timestamp)::DATE
                    AS {PARTITION_COLUMN}
                FROM src WHERE order_purchase_timestamp IS NOT NULL
                """
            )
            unrouted = _unroutable_orders(con, quarantined_at)
        else:
            con.execute(
                f"CREATE TEMP VIEW routes AS SELECT order_id, {PARTITION_COLUMN} "
                f"FROM read_parquet({quote_literal(str(routes_path))})"
            )
            con.execute(
                "CREATE TEMP VIEW keyed AS SELECT src.*, routes."
                f"{PARTITION_COLUMN} FROM src JOIN routes USING (order_id)"
            )
            checked = paths if orphan_check_paths is None else orphan_check_paths
            unrouted, orphan_free = _orphans(con, table_name, checked, quarantined_at)
        in_window = "TRUE"
        params: list[date] = []
        if window is not None:
            in_window = f"{PARTITION_COLUMN} >= ? AND {PARTITION_COLUMN} < ?"
            params = [window[0], window[1]]
        ordered = ", ".join(quote_ident(name) for name in routed_schema(file_schema).names)
        rows = con.sql(
            f"""
            SELECT {ordered} FROM keyed
            WHERE {in_window} AND {PARTITION_COLUMN} BETWEEN ? AND ?
            """,
            params=[*params, bounds[0], bounds[1]],
        ).to_arrow_table()
        outside = con.sql(
            f"""
            SELECT {quote_literal(table_name)} AS table_name, 'bronze' AS layer,
                   'unroutable' AS rule, {SOURCE_FILE_COLUMN} AS source_file,
                   NULL::BIGINT AS source_line,
                   'order ' || coalesce(order_id, '(no id)') || ': quarter '
                       || {PARTITION_COLUMN} || ' of its purchase time is outside the partitions '
                       || ?::DATE || ' .. ' || ?::DATE AS reason,
                   to_json(routed)::VARCHAR AS record, NULL::DATE AS {PARTITION_COLUMN},
                   ?::TIMESTAMP AS quarantined_at
            FROM (
                SELECT {ordered} FROM keyed WHERE NOT ({PARTITION_COLUMN} BETWEEN ? AND ?)
            ) routed
            """,
            params=[bounds[0], bounds[1], quarantined_at, bounds[0], bounds[1]],
        ).to_arrow_table()
    finally:
        con.close()
    quarantine = [t.cast(arrow_schema(QUARANTINE_COLUMNS)) for t in (unrouted, outside)]
    return RoutedRows(
        rows.cast(routed_schema(file_schema)), pa.concat_tables(quarantine), orphan_free
    )


def _unroutable_orders(con: duckdb.DuckDBPyConnection, quarantined_at: datetime) -> pa.Table:
    """Orders with no purchase time: they have no quarter."""
    return con.sql(
        f"""
        SELECT 'orders' AS table_name, 'bronze' AS layer, 'unroutable' AS rule,
               {SOURCE_FILE_COLUMN} AS source_file, NULL::BIGINT AS source_line,
               'order ' || coalesce(order_id, '(no id)')
                   || ': order_purchase_timestamp is empty, so it has no quarter' AS reason,
               to_json(src)::VARCHAR AS record, NULL::DATE AS {PARTITION_COLUMN},
               ?::TIMESTAMP AS quarantined_at
        FROM src WHERE order_purchase_timestamp IS NULL
        """,
        params=[quarantined_at],
    ).to_arrow_table()


def _orphans(
    con: duckdb.DuckDBPyConnection, table_name: str, paths: list[Path], quarantined_at: datetime
) -> tuple[pa.Table, list[Path]]:
    """Rows of ``paths`` whose order is not a routable order: they have no quarter, so they are
    quarantined with the reason instead of being dropped; and the files of ``paths`` with none.

    Counted per file on the order ids alone first (an anti-join of every staged id against every
    order: ~0.3 s per table at 1M orders): the whole rows are read only when there is an orphan
    (there rarely is).
    """
    if not paths:
        return empty_quarantine(), []
    files = ", ".join(quote_literal(str(p)) for p in paths)
    # DuckDB skips the other files: the filter is on the file name.
    con.execute(
        f"CREATE TEMP VIEW checked AS SELECT * FROM staged WHERE {STAGED_FILE} IN ({files})"
    )
    with_orphans = {
        name
        for (name,) in con.sql(
            f"SELECT DISTINCT {STAGED_FILE} FROM (SELECT order_id, {STAGED_FILE} FROM checked) c "
            "ANTI JOIN routes USING (order_id)"
        ).fetchall()
    }
    orphan_free = [p for p in paths if str(p) not in with_orphans]
    if not with_orphans:
        return empty_quarantine(), orphan_free
    query = f"""
        SELECT {quote_literal(table_name)} AS table_name, 'bronze' AS layer, 'orphan' AS rule,
               c.{SOURCE_FILE_COLUMN} AS source_file, NULL::BIGINT AS source_line,
               'order_id ' || coalesce(c.order_id, '(empty)')
                   || ' not found in orders' AS reason,
               to_json(c)::VARCHAR AS record, NULL::DATE AS {PARTITION_COLUMN},
               ?::TIMESTAMP AS quarantined_at
        FROM (SELECT * EXCLUDE ({STAGED_FILE}) FROM checked) c ANTI JOIN routes USING (order_id)
    """
    return con.sql(query, params=[quarantined_at]).to_arrow_table(), orphan_free
