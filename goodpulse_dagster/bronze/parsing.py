"""Bronze: a typed, as-is copy of each source file, and the quarter each order-grain row belongs to.

Reading a file, in order:
1. Encoding (``detect_encoding``): UTF-8, with or without a byte-order mark, is read as it is. With
   GOODPULSE_CSV_ENCODING=auto (the default) another file is read as cp1252 when it decodes (the
   common Windows export), else as latin-1; an explicit codec name forces it, and a byte the codec
   cannot decode fails the file with its physical line. A file that is not UTF-8 is transcoded to
   UTF-8 in one streaming pass first: DuckDB reads UTF-8 only.
2. Header: read by Python's csv module (not sniffed) so that a missing required column fails with
   a message naming the file and the column, and so that a malformed line cannot confuse the
   sniffer. ``.csv.gz`` files are decompressed on the fly (DuckDB decompresses them itself).
3. Rows: DuckDB's CSV reader with the expected column types and ``store_rejects``: a row with the
   wrong field count, an unterminated quote or a value that does not parse as its column's type is
   rejected with DuckDB's message, and every other row loads. Whole-number columns (INTEGER and
   the other integer types) are read as text and cast strictly afterwards, because DuckDB's cast
   rounds ('4.5' would become 5): a value that is not a whole number is rejected too.
4. Rejected rows become quarantine rows (nothing is dropped silently), with the *physical* line
   a person's editor shows (1-based, the header is line 1), not DuckDB's record number: the two
   differ after any quoted field holding a newline. Lines are found by counting newline bytes in
   one streaming pass, only for files with rejected rows.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import os
import re
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from goodpulse_dagster.engine import (
    arrow_schema,
    arrow_type,
    cast_select,
    copy_to_parquet,
    used_params,
)
from goodpulse_dagster.engine import connect as sql_connect
from goodpulse_dagster.errors import UserInputError
from goodpulse_dagster.resources.lake_data import LakeOutput
from goodpulse_dagster.schema import (
    INGESTED_AT_COLUMN,
    PARTITION_COLUMN,
    QUARANTINE_COLUMNS,
    SOURCE_FILE_COLUMN,
    SourceTable,
)
from goodpulse_dagster.sql_helpers import empty_table, quote_ident, quote_literal

AUTO_ENCODING = "auto"
# Encodings DuckDB reads as they are (it skips a UTF-8 byte-order mark itself).
_NATIVE_ENCODINGS = ("utf-8", "utf-8-sig")
# Streaming passes read files in blocks of this size: memory is bounded whatever the file size.
BLOCK_SIZE = 1 << 22
_NEWLINE, _QUOTE, _CR = 10, 34, 13
# Integer types: read as text, cast strictly (DuckDB's own cast rounds '4.5' to 5).
WHOLE_NUMBER_TYPES = frozenset(
    ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")
    + ("UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT")
)
_DECIMAL = re.compile(r"(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", re.IGNORECASE)


class SourceSchemaError(UserInputError):
    """A source file cannot be read as its table: names the file and what is wrong."""


@dataclass
class IngestedFile:
    """One source file parsed: its rows written by DuckDB to ``valid_path`` (the table's columns
    typed, extra columns as text, _source_file, _ingested_at) and its quarantined rows to
    ``rejected_path`` (QUARANTINE_COLUMNS). A file's rows never pass through Python: at 10M
    orders the orders export alone is 10M rows."""

    valid_path: Path
    rejected_path: Path
    valid_rows: int
    rejected_rows: int
    extra_columns: list[str]
    encoding: str = "utf-8"  # the encoding the file was read with

    @property
    def record_count(self) -> int:
        return self.valid_rows + self.rejected_rows

    @property
    def valid(self) -> pa.Table:
        """The valid rows read back (for tests and inspection)."""
        return pq.read_table(self.valid_path)

    @property
    def rejected(self) -> pa.Table:
        """The quarantined rows read back (for tests and inspection)."""
        return pq.read_table(self.rejected_path)


# --- Bytes: compressed files, encodings, physical lines ------------------------------------------


def open_bytes(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when it is a ``.gz`` file."""
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _blocks(path: Path) -> Iterator[bytes]:
    with open_bytes(path) as fh:
        yield from iter(lambda: fh.read(BLOCK_SIZE), b"")


@dataclass(frozen=True)
class DecodeFailure:
    """Where a file stops decoding: the byte offset (of the decompressed bytes), the physical
    line (1-based) and the offending bytes."""

    offset: int
    line: int
    data: bytes


def first_decode_failure(path: Path, codec: str) -> DecodeFailure | None:
    """The first byte ``codec`` cannot decode, or None: one streaming pass with an incremental
    decoder (a multi-byte character may straddle two blocks). Its line is counted only then."""
    decoder = codecs.getincrementaldecoder(codec)()
    offset = 0
    # None marks the end of the file, where a truncated multi-byte character fails.
    for block in itertools.chain(_blocks(path), [None]):
        pending = len(decoder.getstate()[0])
        if block is not None and not pending and block.isascii():
            # Most blocks are plain ASCII, valid in every codec here: ~20x faster than decoding.
            offset += len(block)
            continue
        try:
            decoder.decode(block or b"", final=block is None)
        except UnicodeDecodeError as exc:
            # exc.object is the bytes still pending from the last block followed by this block.
            at = offset - pending + exc.start
            [line] = physical_lines(path, [at])
            return DecodeFailure(offset=at, line=line, data=exc.object[exc.start : exc.end])
        offset += len(block or b"")
    return None


def detect_encoding(path: Path, source: str, setting: str = AUTO_ENCODING) -> str:
    """The codec to read a file with. ``auto``: utf-8 when the file is valid UTF-8, else cp1252
    when it decodes (Windows exports), else latin-1 (which decodes any byte). Any other setting
    is a Python codec name, forced: a byte it cannot decode raises ``SourceSchemaError``."""
    if setting.strip().lower() == AUTO_ENCODING:
        for codec in ("utf-8", "cp1252"):
            if first_decode_failure(path, codec) is None:
                return codec
        return "latin-1"
    codec = codecs.lookup(setting.strip()).name
    failure = first_decode_failure(path, codec)
    if failure is not None:
        suggestion = "latin-1" if codec == "cp1252" else "cp1252"
        raise SourceSchemaError(
            f"{source}: line {failure.line} holds the byte(s) 0x{failure.data.hex().upper()} "
            f"(byte offset {failure.offset}), which is not valid {codec} "
            f"(GOODPULSE_CSV_ENCODING={setting}). Set GOODPULSE_CSV_ENCODING to the file's "
            f"encoding (e.g. GOODPULSE_CSV_ENCODING={suggestion}, or auto to detect it) and run "
            "again."
        )
    return codec


def transcode_to_utf8(path: Path, codec: str, target: Path) -> Path:
    """Write the file's text as UTF-8 to ``target`` in one streaming pass. Newlines stay where
    they are (the same physical lines), so line numbers found in the copy hold for the file."""
    decoder = codecs.getincrementaldecoder(codec)()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        for block in _blocks(path):
            out.write(decoder.decode(block).encode("utf-8"))
        out.write(decoder.decode(b"", final=True).encode("utf-8"))
    return target


def physical_lines(path: Path, offsets: Sequence[int]) -> list[int]:
    """The physical line (1-based: 1 + the newline bytes before it) of each byte offset, in one
    streaming pass over the file."""
    if not len(offsets):
        return []
    wanted = np.asarray(offsets, dtype=np.int64)
    order = np.argsort(wanted, kind="stable")
    ordered = wanted[order]
    lines = np.empty(len(ordered), dtype=np.int64)
    start = counted = done = 0
    for block in _blocks(path):
        if done == len(ordered):
            break
        end = start + len(block)
        newlines = np.flatnonzero(np.frombuffer(block, np.uint8) == _NEWLINE) + start
        upto = int(np.searchsorted(ordered, end, "left"))
        lines[done:upto] = counted + np.searchsorted(newlines, ordered[done:upto], "left") + 1
        counted += len(newlines)
        done, start = upto, end
    lines[done:] = counted + 1
    result = np.empty_like(lines)
    result[order] = lines
    return result.tolist()


@dataclass(frozen=True)
class RecordIndex:
    """Where each CSV record of a file starts (record 0 is the header): byte offset and physical
    line (1-based). Built only for a file with rows to report (``record_index``)."""

    starts: np.ndarray
    lines: np.ndarray

    def record_of_offset(self, offsets: Sequence[int]) -> np.ndarray:
        """The record holding each byte offset."""
        return np.searchsorted(self.starts, np.asarray(offsets, dtype=np.int64), "right") - 1


def record_index(path: Path) -> RecordIndex:
    """Record starts of a CSV file in one streaming pass over its bytes (numpy, per block).

    A newline ends a record unless it is inside a quoted field, i.e. unless an odd number of
    quote characters precede it (an escaped quote is a pair, so it keeps the parity). A blank
    line is not a record: DuckDB skips it.
    """
    ends, crs = [], []  # per block: record-ending newlines, whether a '\r' precedes each
    ordinals = []  # their ordinal among all newlines of the file, for the physical line
    start = quotes = newlines = 0
    last = 0  # the last byte of the previous block
    for block in _blocks(path):
        data = np.frombuffer(block, np.uint8)
        quote_at = np.flatnonzero(data == _QUOTE)
        newline_at = np.flatnonzero(data == _NEWLINE)
        even = (quotes + np.searchsorted(quote_at, newline_at)) % 2 == 0
        at = newline_at[even]
        before = np.where(at > 0, data[np.maximum(at - 1, 0)], last)
        ends.append(at + start)
        crs.append(before == _CR)
        ordinals.append(np.flatnonzero(even) + newlines)
        start += len(data)
        quotes += len(quote_at)
        newlines += len(newline_at)
        last = int(data[-1])
    end_at = np.concatenate([np.array([-1], np.int64), *ends]).astype(np.int64)
    cr = np.concatenate([np.array([False]), *crs])
    ordinal = np.concatenate([np.array([-1], np.int64), *ordinals]).astype(np.int64)
    # Record i+1 starts after newline i; it holds nothing when the next newline follows at once
    # (or after just a '\r'); the last newline may be the end of the file.
    following = np.append(end_at[1:], start)
    gap = following - end_at
    blank = (gap == 1) | ((gap == 2) & np.append(cr[1:], False))
    keep = ~blank & (end_at + 1 < start)
    keep[0] = True  # the header
    return RecordIndex(starts=end_at[keep] + 1, lines=ordinal[keep] + 2)


# --- Reading one file -----------------------------------------------------------------------------


def read_header(path: Path) -> list[str]:
    """Column names of a UTF-8 CSV file (byte-order mark removed); [] for an empty file."""
    with io.TextIOWrapper(open_bytes(path), encoding="utf-8-sig", newline="") as fh:
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


def is_whole_number_type(duckdb_type: str) -> bool:
    return duckdb_type.strip().upper() in WHOLE_NUMBER_TYPES


def column_arrow_type(duckdb_type: str) -> pa.DataType:
    """The Arrow type of a declared column type, DECIMAL(p, s) included."""
    decimal = _DECIMAL.fullmatch(duckdb_type.strip())
    if decimal:
        return pa.decimal128(int(decimal.group(1)), int(decimal.group(2)))
    return arrow_type(duckdb_type)


def bronze_arrow_schema(table: SourceTable, extra_columns: Sequence[str] = ()) -> pa.Schema:
    cols = dict(table.columns)
    cols.update({c: "VARCHAR" for c in extra_columns})
    cols[SOURCE_FILE_COLUMN] = "VARCHAR"
    cols[INGESTED_AT_COLUMN] = "TIMESTAMP"
    return pa.schema([(name, column_arrow_type(t)) for name, t in cols.items()])


def ingest_file(
    table: SourceTable,
    path: Path,
    source: str,
    ingested_at: datetime,
    encoding: str = AUTO_ENCODING,
    scratch_dir: Path | None = None,
    valid_path: Path | None = None,
    rejected_path: Path | None = None,
) -> IngestedFile:
    """Parse one source file into its typed bronze columns plus the quarantined rows, written
    to the Parquet files ``valid_path`` and ``rejected_path`` (default: new files in the temp
    directory).

    ``source`` is the file's URI as the user knows it (landing-zone path or s3:// key); it is what
    ``_source_file`` and every error message show. ``encoding`` is GOODPULSE_CSV_ENCODING; a file
    that is not UTF-8 is transcoded into ``scratch_dir`` (default: the temp directory) and the
    copy is removed afterwards.
    """
    if valid_path is None or rejected_path is None:
        scratch = Path(tempfile.mkdtemp(prefix="goodpulse-ingest-"))
        valid_path = valid_path or scratch / "valid.parquet"
        rejected_path = rejected_path or scratch / "rejected.parquet"
    targets = (Path(valid_path), Path(rejected_path))
    if path.stat().st_size == 0:
        # An empty file is a valid, empty table.
        return _empty_file(table, targets, "utf-8")
    try:
        codec = detect_encoding(path, source, encoding)
    except (OSError, EOFError) as exc:  # a truncated or corrupt .gz file
        raise SourceSchemaError(
            f"{source}: cannot be decompressed ({exc}). Replace it with a complete .csv.gz file "
            "and run again."
        ) from exc
    if codec in _NATIVE_ENCODINGS:
        return _ingest_utf8(table, path, source, ingested_at, codec, targets)
    scratch = Path(scratch_dir or tempfile.gettempdir())
    utf8 = transcode_to_utf8(path, codec, scratch / f"{uuid.uuid4().hex}.csv")
    try:
        return _ingest_utf8(table, utf8, source, ingested_at, codec, targets)
    finally:
        os.unlink(utf8)


def _write_arrow(target: Path, rows: pa.Table) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(rows, target, compression="zstd")


def _empty_file(table: SourceTable, targets: tuple[Path, Path], codec: str) -> IngestedFile:
    valid_path, rejected_path = targets
    _write_arrow(valid_path, empty_table(bronze_arrow_schema(table)))
    _write_arrow(rejected_path, empty_quarantine())
    return IngestedFile(valid_path, rejected_path, 0, 0, [], codec)


def _ingest_utf8(
    table: SourceTable,
    path: Path,
    source: str,
    ingested_at: datetime,
    codec: str,
    targets: tuple[Path, Path],
) -> IngestedFile:
    valid_path, rejected_path = targets
    header = read_header(path)
    if not header:  # e.g. a compressed empty file
        return _empty_file(table, targets, codec)
    extras = check_header(table, header, source)
    file_types = {c: table.columns.get(c, "VARCHAR") for c in header}
    whole = [c for c, t in file_types.items() if is_whole_number_type(t)]
    scan_types = {c: "VARCHAR" if c in whole else t for c, t in file_types.items()}
    columns_sql = "{" + ", ".join(f"{quote_literal(c)}: '{t}'" for c, t in scan_types.items()) + "}"
    con = sql_connect()
    try:
        rejects = _read_csv_into_raw(con, path, source, columns_sql)
        not_whole = _find_not_whole(con, {c: file_types[c] for c in whole})
        # Missing optional columns become typed NULLs so every file has the same core schema.
        select = [
            _typed(c, t, c in whole) if c in file_types else f"NULL::{t} AS {quote_ident(c)}"
            for c, t in table.columns.items()
        ]
        select += [quote_ident(c) for c in extras]
        keep = f"WHERE rowid NOT IN (SELECT rec FROM {not_whole})" if not_whole else ""
        # Straight from DuckDB to the staged file, in the file's order (a scan keeps the
        # insertion order: preserve_insertion_order is on).
        valid = f"""
            SELECT {", ".join(select)},
                   {quote_literal(source)} AS {SOURCE_FILE_COLUMN},
                   {quote_literal(ingested_at.isoformat(sep=" "))}::TIMESTAMP
                       AS {INGESTED_AT_COLUMN}
            FROM raw {keep}
            """
        copy_to_parquet(con, valid, valid_path)
        valid_rows = con.execute(f"SELECT count(*) FROM raw {keep}").fetchall()[0][0]
        # The rejected lines: as many as the file has bad lines, not of the file's size.
        rejected = _rejected_rows(con, table, path, source, ingested_at, rejects, not_whole)
    finally:
        con.close()
    _write_arrow(rejected_path, rejected.cast(arrow_schema(QUARANTINE_COLUMNS)))
    return IngestedFile(valid_path, rejected_path, valid_rows, rejected.num_rows, extras, codec)


def _typed(column: str, duckdb_type: str, read_as_text: bool) -> str:
    if read_as_text:
        return f"TRY_CAST({quote_ident(column)} AS {duckdb_type}) AS {quote_ident(column)}"
    return quote_ident(column)


def _find_not_whole(con: duckdb.DuckDBPyConnection, whole: dict[str, str]) -> str | None:
    """Rows of ``raw`` with a whole-number column whose text is not a whole number of its type,
    into a temp table (rec: the row's rowid, reason); its name, or None when there is none.

    A value passes when it casts to the column's type and to DOUBLE, to the same number: '5',
    ' 5 ', '+5' and '5.0' pass; '4.5', 'five', '0x10' and out-of-range numbers do not."""
    if not whole:
        return None
    reasons, conditions = [], []
    for column, duckdb_type in whole.items():
        c = quote_ident(column)
        bad = (
            f"({c} IS NOT NULL AND (TRY_CAST({c} AS {duckdb_type}) IS NULL "
            f"OR TRY_CAST({c} AS DOUBLE) IS DISTINCT FROM TRY_CAST({c} AS {duckdb_type})))"
        )
        what = (
            f"CASE WHEN TRY_CAST({c} AS DOUBLE) = round(TRY_CAST({c} AS DOUBLE)) "
            f"THEN ' is a whole number out of the range of {duckdb_type}' "
            "ELSE ' is not a whole number' END"
        )
        name = quote_literal(f'column "{column}": ')
        reasons.append(f"CASE WHEN {bad} THEN {name} || '\"' || {c} || '\"' || {what} END")
        conditions.append(bad)
    found = f"not_whole_{uuid.uuid4().hex[:12]}"
    con.execute(
        f"CREATE TEMP TABLE {found} AS SELECT rowid AS rec, concat_ws('; ', {', '.join(reasons)}) "
        f"AS reason FROM raw WHERE {' OR '.join(conditions)}"
    )
    if not con.sql(f"SELECT count(*) FROM {found}").fetchall()[0][0]:
        return None
    return found


def _rejected_rows(
    con: duckdb.DuckDBPyConnection,
    table: SourceTable,
    path: Path,
    source: str,
    ingested_at: datetime,
    rejects: str,
    not_whole: str | None,
) -> pa.Table:
    """Quarantine rows: DuckDB's rejected lines and the rows with a value that is not a whole
    number, each with its physical line."""
    # DuckDB can report several errors for one line (a line two fields short, two bad values):
    # one quarantine row per rejected line, with every message.
    by_line = con.sql(
        f"SELECT line, min(line_byte_position)::BIGINT AS at FROM {rejects} GROUP BY line"
    ).fetchall()
    index = record_index(path) if not_whole else None
    # line_byte_position is the start of the line (or the byte after it): the physical line is
    # one more than the newlines before it.
    physical = physical_lines(path, [at for _, at in by_line])
    lines = [line for line, _ in by_line]
    _temp_pairs(con, "reject_lines", ("line", "UBIGINT"), ("physical", "BIGINT"), lines, physical)
    parts = [
        f"""
        SELECT {quote_literal(table.name)} AS table_name, 'bronze' AS layer,
               CASE WHEN bool_and(error_type = 'CAST') THEN 'unparseable' ELSE 'malformed' END
                   AS rule,
               {quote_literal(source)} AS source_file,
               any_value(p.physical) AS source_line,
               'line ' || any_value(p.physical) || ': '
                   || string_agg(DISTINCT error_message, '; ' ORDER BY error_message) AS reason,
               any_value(csv_line) AS record,
               NULL::DATE AS {PARTITION_COLUMN},
               $ingested::TIMESTAMP AS quarantined_at
        FROM {rejects} r JOIN reject_lines p USING (line)
        GROUP BY r.line
        """
    ]
    if not_whole:
        rejected_records = index.record_of_offset([at for _, at in by_line])
        _register_row_lines(con, not_whole, index, rejected_records)
        parts.append(
            f"""
            SELECT {quote_literal(table.name)}, 'bronze', 'unparseable', {quote_literal(source)},
                   w.line, 'line ' || w.line || ': ' || b.reason, to_json(raw)::VARCHAR,
                   NULL::DATE, $ingested::TIMESTAMP
            FROM raw JOIN {not_whole} b ON raw.rowid = b.rec JOIN row_lines w ON w.rec = b.rec
            """
        )
    return con.sql(
        " UNION ALL ".join(parts) + " ORDER BY source_line", params={"ingested": ingested_at}
    ).to_arrow_table()


def _register_row_lines(
    con: duckdb.DuckDBPyConnection, not_whole: str, index: RecordIndex, rejected: np.ndarray
) -> None:
    """Register ``row_lines`` (rec, line): the physical line of each row of ``not_whole``.

    Row ``rec`` of ``raw`` (rows keep the file's order) is the rec-th record DuckDB did not
    reject: its record number is rec + 1 (the header is record 0) plus the rejected records
    before it. The j-th rejected record (1-based, by record number r_j) has r_j - j loaded
    records before it, so it comes before row rec when r_j - j <= rec."""
    recs = np.array([r for (r,) in con.sql(f"SELECT rec FROM {not_whole}").fetchall()], np.int64)
    rejected = np.unique(rejected[rejected > 0])
    loaded_before = rejected - np.arange(1, len(rejected) + 1)
    record = recs + 1 + np.searchsorted(loaded_before, recs, "right")
    lines = index.lines[np.minimum(record, len(index.lines) - 1)]
    _temp_pairs(con, "row_lines", ("rec", "BIGINT"), ("line", "BIGINT"), recs, lines)


def _temp_pairs(
    con: duckdb.DuckDBPyConnection,
    name: str,
    first: tuple[str, str],
    second: tuple[str, str],
    keys: Sequence[int],
    values: Sequence[int],
) -> None:
    """A temp table of two columns from two Python sequences, bound as list parameters:
    ``con.register`` of an Arrow table costs ~0.35 s the first time in a process (an import),
    more than a whole small file takes to read."""
    con.execute(
        f"CREATE TEMP TABLE {name} AS SELECT unnest(?::{first[1]}[]) AS {first[0]}, "
        f"unnest(?::{second[1]}[]) AS {second[0]}",
        [[int(k) for k in keys], [int(v) for v in values]],
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
    raise SourceSchemaError(
        f"{source}: cannot be read as a CSV file ({'; '.join(errors)}). It is left as it is in "
        "the landing zone: fix or replace it and run again."
    )


def empty_quarantine() -> pa.Table:
    return empty_table(arrow_schema(QUARANTINE_COLUMNS))


# The column DuckDB names each staged row's file in (read_parquet's ``filename``); not kept.
STAGED_FILE = "_staged_file"


@dataclass
class RoutedRows:
    """A partitioned table's rows of one window, and the rows no partition can hold, as Parquet
    files DuckDB wrote (``resources/lake_data.LakeOutput``)."""

    # The window's rows, one file per partition key, ``_partition`` before the ingestion columns.
    rows: LakeOutput
    # One file of QUARANTINE_COLUMNS: unroutable, orphan and out-of-partition rows.
    quarantine: LakeOutput
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
    *,
    folder: Path | None = None,
    partition_keys: Sequence[str] | None = None,
) -> RoutedRows:
    """Give each staged row of an order-grain table its quarter, and keep those of ``window``.

    ``paths`` are the table's staged Parquet files (``file_schema`` their unified schema). Orders
    take the quarter of their purchase time; items, payments and reviews the quarter of their
    order, from ``routes_path`` (``order_id``, ``_partition``: one row per routable order). The
    quarantine is the table's complete set whatever the window: orders with no purchase time
    ('unroutable'), rows of unknown orders ('orphan') and rows whose quarter is outside the
    partitions ``bounds`` [first, last] (quarter starts; 'unroutable'), which would otherwise be
    filtered out of every run's window and lost silently.

    DuckDB reads the Parquet files itself and writes the window's rows to one file per partition
    key in ``folder`` (``partition_keys``; default: the quarters the rows hold), and the
    quarantine to ``folder/routed_quarantine``: no row passes through Python. A one-quarter
    refresh decodes the rows of its quarter and the keys of the others, not every row of every
    file. ``window`` None: every partition.

    ``orphan_check_paths`` (default: all of ``paths``) are the files whose rows are checked for
    orphans; the caller leaves out files it knows have none (``bronze/staging.py`` remembers
    them). ``RoutedRows.orphan_free`` lists the checked files that had none.
    """
    folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="lake-out-"))
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
            unrouted = [_unroutable_orders_sql()]
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
            unrouted, orphan_free = _orphans(con, table_name, checked)
        in_window = "TRUE"
        params: list[date] = []
        if window is not None:
            in_window = f"{PARTITION_COLUMN} >= ? AND {PARTITION_COLUMN} < ?"
            params = [window[0], window[1]]
        ordered = ", ".join(quote_ident(name) for name in routed_schema(file_schema).names)
        con.execute(
            f"""
            CREATE TEMP TABLE routed_rows AS
            SELECT {ordered} FROM keyed
            WHERE {in_window} AND {PARTITION_COLUMN} BETWEEN ? AND ?
            """,
            [*params, bounds[0], bounds[1]],
        )
        outside = f"""
            SELECT {quote_literal(table_name)} AS table_name, 'bronze' AS layer,
                   'unroutable' AS rule, {SOURCE_FILE_COLUMN} AS source_file,
                   NULL::BIGINT AS source_line,
                   'order ' || coalesce(order_id, '(no id)') || ': quarter '
                       || {PARTITION_COLUMN} || ' of its purchase time is outside the partitions '
                       || $first::DATE || ' .. ' || $last::DATE AS reason,
                   to_json(routed)::VARCHAR AS record, NULL::DATE AS {PARTITION_COLUMN},
                   $quarantined_at::TIMESTAMP AS quarantined_at
            FROM (
                SELECT {ordered} FROM keyed
                WHERE NOT ({PARTITION_COLUMN} BETWEEN $first AND $last)
            ) routed
            """
        quarantine_params = {
            "first": bounds[0],
            "last": bounds[1],
            "quarantined_at": quarantined_at,
        }
        parts = [*unrouted, outside]
        con.execute(
            "CREATE TEMP TABLE routed_quarantine AS "
            + cast_select(" UNION ALL ".join(f"({p})" for p in parts), QUARANTINE_COLUMNS),
            used_params(" ".join(parts), quarantine_params),
        )
        rows = LakeOutput.write(con, "routed_rows", folder, partition_keys, partitioned=True)
        quarantine = LakeOutput.write(con, "routed_quarantine", folder / "routed_quarantine")
    finally:
        con.close()
    return RoutedRows(rows, quarantine, orphan_free)


def _unroutable_orders_sql() -> str:
    """Orders with no purchase time: they have no quarter."""
    return f"""
        SELECT 'orders' AS table_name, 'bronze' AS layer, 'unroutable' AS rule,
               {SOURCE_FILE_COLUMN} AS source_file, NULL::BIGINT AS source_line,
               'order ' || coalesce(order_id, '(no id)')
                   || ': order_purchase_timestamp is empty, so it has no quarter' AS reason,
               to_json(src)::VARCHAR AS record, NULL::DATE AS {PARTITION_COLUMN},
               $quarantined_at::TIMESTAMP AS quarantined_at
        FROM src WHERE order_purchase_timestamp IS NULL
        """


def _orphans(
    con: duckdb.DuckDBPyConnection, table_name: str, paths: list[Path]
) -> tuple[list[str], list[Path]]:
    """The query of the rows of ``paths`` whose order is not a routable order (none when there
    are none): they have no quarter, so they are quarantined with the reason instead of being
    dropped; and the files of ``paths`` with none.

    Counted per file on the order ids alone first (an anti-join of every staged id against every
    order: ~0.3 s per table at 1M orders): the whole rows are read only when there is an orphan
    (there rarely is).
    """
    if not paths:
        return [], []
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
        return [], orphan_free
    query = f"""
        SELECT {quote_literal(table_name)} AS table_name, 'bronze' AS layer, 'orphan' AS rule,
               c.{SOURCE_FILE_COLUMN} AS source_file, NULL::BIGINT AS source_line,
               'order_id ' || coalesce(c.order_id, '(empty)')
                   || ' not found in orders' AS reason,
               to_json(c)::VARCHAR AS record, NULL::DATE AS {PARTITION_COLUMN},
               $quarantined_at::TIMESTAMP AS quarantined_at
        FROM (SELECT * EXCLUDE ({STAGED_FILE}) FROM checked) c ANTI JOIN routes USING (order_id)
    """
    return [query], orphan_free
