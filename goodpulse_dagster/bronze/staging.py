"""From landing-zone files to bronze tables, parsing each distinct file once.

Each source file is parsed into ``staging/<table>/<content hash>.*.parquet`` the first time any
asset needs it; every later partition (and every later run) reads that Parquet copy. Keying by
content hash means that the same file dropped twice (under another name, re-uploaded unchanged,
compressed or not inside a zip) is read once and its rows are not counted twice, and that a
changed file is parsed again. A forced GOODPULSE_CSV_ENCODING is part of the key (it changes what
the bytes mean); ``auto`` is not (it is decided by the bytes).

Staging also holds the local copies bronze reads from: zip members are extracted (streaming) to
``staging/_unzipped``, and a file that is not UTF-8 is transcoded to ``staging/_utf8`` for the
time it is parsed.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from goodpulse_dagster import atomic_files
from goodpulse_dagster.bronze.parsing import (
    AUTO_ENCODING,
    bronze_arrow_schema,
    ingest_file,
    route_staged_rows,
)
from goodpulse_dagster.engine import cast_select, connect, copy_to_parquet
from goodpulse_dagster.errors import UserInputError
from goodpulse_dagster.landing.zone import LandingZone, RawObject
from goodpulse_dagster.partitions import FIRST_QUARTER, quarter_start
from goodpulse_dagster.resources.lake_data import BuildReadBack, LakeOutput
from goodpulse_dagster.schema import (
    ORDERS,
    PARTITION_COLUMN,
    QUARANTINE_COLUMNS,
    SOURCE_TABLES,
)
from goodpulse_dagster.sql_helpers import quote_literal, run_sql

# Bump when the parsing rules change, so stale staged copies are not reused.
# 4: money columns parse as DECIMAL(18,2), whole-number columns strictly, encodings and zips
# (issue 14).
STAGING_VERSION = "4"


class SourceMissingError(UserInputError, FileNotFoundError):
    """No file of a source table is in the landing zone."""


@dataclass
class StagedFile:
    obj: RawObject
    uri: str
    content_hash: str
    valid_path: Path
    rejected_path: Path
    extra_columns: list[str]
    records: int
    encoding: str = "utf-8"  # the encoding the file was read with


@dataclass
class BronzeBuild(BuildReadBack):
    """A bronze table (one partition window, or all rows of a dimension) and what was set aside,
    as Parquet files DuckDB wrote (``LakeOutput``s the IO manager and the quarantine publish)."""

    output: LakeOutput
    quarantine_output: LakeOutput
    files: list[StagedFile]
    duplicate_files: list[str] = field(
        default_factory=list
    )  # URIs skipped: same content as another

    @property
    def extra_columns(self) -> list[str]:
        return sorted({c for f in self.files for c in f.extra_columns})

    @property
    def encodings(self) -> dict[str, str]:
        """Source file URI -> the encoding it was read with."""
        return {f.uri: f.encoding for f in self.files}


def file_content_hash(path: Path, cache_dir: Path) -> str:
    """SHA-256 of a file, cached by (path, size, mtime) so unchanged files are not re-read."""
    stat = path.stat()
    key = hashlib.sha1(str(path.resolve()).encode()).hexdigest()
    sidecar = cache_dir / "_hashes" / f"{key}.json"
    stamp = [stat.st_size, stat.st_mtime_ns]
    if sidecar.exists():
        cached = json.loads(sidecar.read_text())
        if cached.get("stamp") == stamp:
            return cached["sha256"]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    atomic_files.write_bytes(
        sidecar, json.dumps({"stamp": stamp, "sha256": digest.hexdigest()}).encode()
    )
    return digest.hexdigest()


def _staging_key(content_hash: str, encoding: str) -> str:
    """The name of a file's staged copy: its content hash, and a forced encoding."""
    setting = encoding.strip().lower()
    if setting == AUTO_ENCODING:
        return content_hash
    return f"{content_hash}.{codecs.lookup(setting).name}"


# The three files of a staged copy, named <key><suffix> (key: the content hash, and a forced
# encoding); the meta file is written last.
_VALID, _REJECTED, _META = ".valid.parquet", ".rejected.parquet", ".meta.json"


def _prune_staged_copies(base: Path, content_hashes: set[str]) -> None:
    """Remove the staged copies in ``base`` of files no longer in the landing zone (every copy
    whose content hash no current file has; a copy under another forced encoding of a current
    file is kept).

    A staged copy exists so that a raw file is parsed once, however many partitions and runs read
    it (parsing the 10M-order orders export takes about a minute; reading its staged Parquet
    copy, a second). Once its file has been replaced or removed, nothing reads it again: a daily
    full export would otherwise leave one more copy of every table each day."""
    for path in base.glob("*"):
        if not path.name.endswith((_VALID, _REJECTED, _META)):
            continue
        if path.name.split(".", 1)[0] not in content_hashes:
            path.unlink(missing_ok=True)


def stage_table(table_name: str, zone: LandingZone, staging_dir: Path) -> list[StagedFile]:
    """Parse (or reuse the parsed copy of) every distinct source file of a table, oldest first."""
    table = SOURCE_TABLES[table_name]
    objects = zone.source_objects(table_name)
    if not objects:
        raise SourceMissingError(
            f"no source file for table '{table_name}' in {zone.uri}: expected "
            f"{table.file_name} (a full export) or {table.drop_dir}/<YYYY>-Q<n>.csv drops"
        )
    staged: list[StagedFile] = []
    base = staging_dir / f"v{STAGING_VERSION}" / table_name
    for obj in objects:
        local = zone.local_copy(obj, staging_dir / "_unzipped")
        uri = zone.object_uri(obj)
        content_hash = file_content_hash(local, staging_dir)
        key = _staging_key(content_hash, zone.encoding)
        valid_path = base / f"{key}{_VALID}"
        rejected_path = base / f"{key}{_REJECTED}"
        meta_path = base / f"{key}{_META}"
        if not meta_path.exists():
            ingested = ingest_file(
                table,
                local,
                uri,
                datetime.now().replace(microsecond=0),
                encoding=zone.encoding,
                scratch_dir=staging_dir / "_utf8",
                valid_path=valid_path,
                rejected_path=rejected_path,
            )
            meta = {
                "extra_columns": ingested.extra_columns,
                "records": ingested.record_count,
                "encoding": ingested.encoding,
            }
            # The meta file is written last: its presence means the staged copy is complete.
            atomic_files.write_bytes(meta_path, json.dumps(meta).encode())
        meta = json.loads(meta_path.read_text())
        staged.append(
            StagedFile(
                obj,
                uri,
                content_hash,
                valid_path,
                rejected_path,
                meta["extra_columns"],
                meta["records"],
                meta["encoding"],
            )
        )
    _prune_staged_copies(base, {f.content_hash for f in staged})
    return staged


def _distinct_files(files: list[StagedFile]) -> tuple[list[StagedFile], list[str]]:
    seen: set[str] = set()
    keep, duplicates = [], []
    for f in files:
        if f.content_hash in seen:
            duplicates.append(f.uri)
        else:
            seen.add(f.content_hash)
            keep.append(f)
    return keep, duplicates


def _valid_schema(files: list[StagedFile], table_name: str) -> pa.Schema:
    """The schema of the staged files together (from their footers): the table's columns, any
    extra columns, the ingestion columns, as DuckDB reads them by name."""
    schemas = [pq.read_schema(f.valid_path) for f in files]
    schemas.append(bronze_arrow_schema(SOURCE_TABLES[table_name]))
    return pa.unify_schemas(schemas, promote_options="permissive")


def _parquet_list(paths: list[Path]) -> str:
    return "[" + ", ".join(quote_literal(str(p)) for p in paths) + "]"


def _order_files(zone: LandingZone, staging_dir: Path) -> list[StagedFile]:
    return _distinct_files(stage_table(ORDERS.name, zone, staging_dir))[0]


# --- files known to have no orphans ---------------------------------------------------------------
#
# Finding the orphans of an items, payments or reviews table (rows of an order that is in no
# orders file) anti-joins every staged order id against every order: ~0.3 s per table at 1M
# orders, in every run, although a one-quarter drop adds one new file. A file with no orphans
# under a set of orders files has none under any set that contains it (each orders file only adds
# orders), so that fact is remembered per file (its content hash), with the orders files it was
# checked against; only files not known so are checked.


def _orphan_free_record(staging_dir: Path, staged: StagedFile) -> Path:
    return staging_dir / f"v{STAGING_VERSION}" / "_orphan_free" / f"{staged.content_hash}.json"


def _known_orphan_free(staging_dir: Path, staged: StagedFile, orders_files: set[str]) -> bool:
    record = _orphan_free_record(staging_dir, staged)
    if not record.exists():
        return False
    return set(json.loads(record.read_text())["orders_files"]) <= orders_files


def _remember_orphan_free(staging_dir: Path, staged: StagedFile, orders_files: set[str]) -> None:
    record = {"orders_files": sorted(orders_files)}
    atomic_files.write_bytes(_orphan_free_record(staging_dir, staged), json.dumps(record).encode())


def order_routes_path(zone: LandingZone, staging_dir: Path) -> Path:
    """A Parquet file of (order_id, _partition): one row per routable order (one with a purchase
    time) of the distinct orders files, with the quarter of its purchase time; an order found in
    two files with different times takes the earliest quarter, deterministically.

    Items, payments and reviews take the quarter of their order from it, and the CLI lists the
    quarters with data from it. It is cached in staging under the orders files' content hashes
    (a new or changed orders file gives a new key), so the orders are not re-read and re-routed
    by each of them.
    """
    return _order_routes_path(_order_files(zone, staging_dir), staging_dir)


def _order_routes_path(order_files: list[StagedFile], staging_dir: Path) -> Path:
    key = hashlib.sha256("|".join(f.content_hash for f in order_files).encode()).hexdigest()
    path = staging_dir / f"v{STAGING_VERSION}" / "_order_routes_unique" / f"{key}.parquet"
    if path.exists():
        return path
    files = "[" + ", ".join(quote_literal(str(f.valid_path)) for f in order_files) + "]"
    query = f"""
        SELECT order_id,
               min(date_trunc('quarter', order_purchase_timestamp))::DATE AS {PARTITION_COLUMN}
        FROM read_parquet({files}, union_by_name = true)
        WHERE order_purchase_timestamp IS NOT NULL
        GROUP BY order_id
        """
    # Written by DuckDB (one row per order: never held in Python), then renamed into place.
    con = connect()
    try:
        with atomic_files.replacing(path) as tmp:
            copy_to_parquet(con, query, tmp)
    finally:
        con.close()
    return path


def orders_by_quarter(zone: LandingZone, staging_dir: Path) -> list[tuple[date, int]]:
    """(quarter start, orders) of the quarters within the partitions that hold orders, oldest
    first."""
    first, last = partition_bounds(datetime.now())
    routes = quote_literal(str(order_routes_path(zone, staging_dir)))
    found = run_sql(
        f"SELECT {PARTITION_COLUMN} AS q, count(*) AS orders FROM read_parquet({routes}) "
        f"WHERE {PARTITION_COLUMN} BETWEEN ? AND ? GROUP BY q ORDER BY q",
        [first, last],
    )
    return list(zip(found.column("q").to_pylist(), found.column("orders").to_pylist(), strict=True))


def order_quarters(zone: LandingZone, staging_dir: Path) -> list[date]:
    """The quarters (start dates) within the partitions that hold at least one order."""
    return [quarter for quarter, _ in orders_by_quarter(zone, staging_dir)]


def partition_bounds(now: datetime) -> tuple[date, date]:
    """First and last quarter (start dates) the quarterly partitions hold at ``now``: from
    FIRST_QUARTER to the quarter in progress (the partitions definition has end_offset=1)."""
    return date.fromisoformat(FIRST_QUARTER), quarter_start(now)


def build_bronze(
    table_name: str,
    zone: LandingZone,
    staging_dir: Path,
    window: tuple[date, date] | None = None,
    folder: Path | None = None,
    partition_keys: list[str] | None = None,
) -> BronzeBuild:
    """The bronze rows of a table: all of them, or the partitions whose quarter start is in
    ``[window[0], window[1])``. The quarantine holds every rejected row of the table's files
    (partition-independent, so each materialization rewrites the same complete set).

    DuckDB reads the staged files and writes the rows (one file per partition key in
    ``partition_keys``, default the quarters the rows hold; one file for a dimension) and the
    quarantine into ``folder`` (default: a new temporary folder); nothing is read into Python.
    """
    table = SOURCE_TABLES[table_name]
    folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="lake-out-"))
    files, duplicates = _distinct_files(stage_table(table_name, zone, staging_dir))
    # Every file's rejected rows first (in file order), then those routing set aside.
    quarantine_parts = [
        f"SELECT * FROM read_parquet({_parquet_list([f.rejected_path for f in files])})"
    ]
    if table.partitioned:
        now = datetime.now().replace(microsecond=0)
        routes, to_check, orders_files = None, [], set()
        if table_name != ORDERS.name:
            order_files = _order_files(zone, staging_dir)
            routes = _order_routes_path(order_files, staging_dir)
            orders_files = {f.content_hash for f in order_files}
            to_check = [f for f in files if not _known_orphan_free(staging_dir, f, orders_files)]
        routed = route_staged_rows(
            table_name,
            [f.valid_path for f in files],
            _valid_schema(files, table_name),
            now,
            window,
            partition_bounds(now),
            routes,
            [f.valid_path for f in to_check],
            folder=folder,
            partition_keys=partition_keys,
        )
        for f in to_check:
            if f.valid_path in routed.orphan_free:
                _remember_orphan_free(staging_dir, f, orders_files)
        output = routed.rows
        routed_quarantine = list(routed.quarantine.files.values())
        quarantine_parts.append(f"SELECT * FROM read_parquet({_parquet_list(routed_quarantine)})")
    else:
        output = _write_dimension(files, folder)
        routed = None
    quarantine = _write_quarantine(quarantine_parts, folder / "quarantine")
    if routed is not None:
        routed.quarantine.discard()
    return BronzeBuild(
        output=output, quarantine_output=quarantine, files=files, duplicate_files=duplicates
    )


def _write_dimension(files: list[StagedFile], folder: Path) -> LakeOutput:
    """A dimension's bronze table: every staged file's rows, in file order, columns by name."""
    con = connect()
    try:
        valid = _parquet_list([f.valid_path for f in files])
        con.execute(
            "CREATE TEMP TABLE bronze_rows AS "
            f"SELECT * FROM read_parquet({valid}, union_by_name = true)"
        )
        return LakeOutput.write(con, "bronze_rows", folder)
    finally:
        con.close()


def _write_quarantine(parts: list[str], folder: Path) -> LakeOutput:
    """The quarantine of a table's files: ``parts`` (queries of quarantine rows) in order, cast
    to QUARANTINE_COLUMNS, as one file. Its size is that of the rejected rows."""
    con = connect()
    try:
        union = " UNION ALL BY NAME ".join(f"({p})" for p in parts)
        con.execute(
            "CREATE TEMP TABLE bronze_quarantine AS " + cast_select(union, QUARANTINE_COLUMNS)
        )
        return LakeOutput.write(con, "bronze_quarantine", folder)
    finally:
        con.close()
