"""The raw landing zone: where exports arrive, as a local directory or an S3 prefix.

Both implementations share one small interface (list files, fetch one to a local file), so the
bronze layer and the landing-zone sensor run the same code against a laptop folder and a bucket.

Accepted layouts, combinable; every source file may be plain (``.csv``) or gzip-compressed
(``.csv.gz``):
- one full export per table in the Kaggle layout: ``olist_orders_dataset.csv`` at the root;
- per-quarter drops of any table in a folder named after the table (or its Kaggle file stem):
  ``orders/2017-Q1.csv``, ``olist_order_items_dataset/2017-Q1.csv.gz``;
- a ``.zip`` archive anywhere (the Kaggle download as it is): each member is a source file of its
  own, named ``<zip key>!/<member>``, recognised by the rules above applied to its path inside the
  archive, or to that path without its first folder (``archive/olist_orders_dataset.csv``).

Nothing else is read, and nothing is skipped silently: other files (unknown names, other file
types, a zip member with an unknown name) are listed by ``unrecognised()``, and a local symlink
that resolves outside the landing zone is refused (not read) and listed by ``refused()``;
``unrecognised_warning()`` puts both into one sentence for the CLI and the bronze assets.
Hidden entries (any path part starting with ``.`` or ``_``: ``.DS_Store``, ``__MACOSX/``, the
generator's ``_generation_report.json``) are ignored without a warning.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from goodpulse_dagster import atomic_files
from goodpulse_dagster.schema import FILE_TO_TABLE, SOURCE_TABLES

_STEM_TO_TABLE = {PurePosixPath(f).stem: t for f, t in FILE_TO_TABLE.items()}
_QUARTER_DROP = re.compile(r"^(\d{4})-Q([1-4])$")
SOURCE_SUFFIXES = (".csv", ".csv.gz")
ZIP_SUFFIX = ".zip"
# Separates a zip archive's key from the path of a member inside it.
MEMBER_SEPARATOR = "!/"
# Read and copy files in blocks of this size: memory stays bounded whatever the file size.
BLOCK_SIZE = 1 << 22


@dataclass(frozen=True)
class RawObject:
    """One file in the landing zone, or one member of a zip archive in it."""

    key: str  # path relative to the landing root, '/'-separated; '<zip key>!/<member>' for members
    size: int
    modified: float  # epoch seconds, used by the sensor cursor
    version: str  # changes whenever the content changes: ETag on S3, mtime+size locally

    @property
    def table(self) -> str | None:
        return table_of_key(self.key)

    @property
    def quarter(self) -> str | None:
        """'2017-Q1' for a per-quarter drop, None for a full export."""
        return quarter_of_key(self.key)

    @property
    def archive_key(self) -> str | None:
        """The key of the zip archive holding this member, None for a plain file."""
        return split_member(self.key)[0] if MEMBER_SEPARATOR in self.key else None

    @property
    def member(self) -> str | None:
        """The path inside its zip archive, None for a plain file."""
        return split_member(self.key)[1] if MEMBER_SEPARATOR in self.key else None


def split_member(key: str) -> tuple[str, str]:
    archive, _, member = key.partition(MEMBER_SEPARATOR)
    return archive, member


def is_hidden(key: str) -> bool:
    """Hidden entries (a path part starting with '.' or '_') are ignored without a warning."""
    return any(
        part.startswith((".", "_")) for part in key.replace(MEMBER_SEPARATOR, "/").split("/")
    )


def _source_stem(name: str) -> str | None:
    """'2017-Q1' for '2017-Q1.csv' or '2017-Q1.csv.gz'; None when not a source file name."""
    lower = name.lower()
    for suffix in SOURCE_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return None


def _table_of_path(path: PurePosixPath) -> str | None:
    stem = _source_stem(path.name)
    if stem is None:
        return None
    if len(path.parts) == 1:
        return FILE_TO_TABLE.get(f"{stem}.csv")
    folder = path.parts[-2]
    if folder in SOURCE_TABLES:
        return folder
    return _STEM_TO_TABLE.get(folder)


def _member_paths(member: str) -> list[PurePosixPath]:
    """The paths a zip member is recognised by: as it is, and without its first folder (archives
    often wrap their files in one folder named after the archive)."""
    path = PurePosixPath(member)
    return [path, PurePosixPath(*path.parts[1:])] if len(path.parts) > 1 else [path]


def _recognised_path(key: str) -> PurePosixPath | None:
    """The path (relative to the landing root or to the archive) by which a key is a source file."""
    if is_hidden(key):
        return None
    if MEMBER_SEPARATOR in key:
        candidates = _member_paths(split_member(key)[1])
    else:
        candidates = [PurePosixPath(key)]
    return next((p for p in candidates if _table_of_path(p)), None)


def table_of_key(key: str) -> str | None:
    """The source table a landing-zone key belongs to, or None when it is not a source file."""
    path = _recognised_path(key)
    return _table_of_path(path) if path else None


def quarter_of_key(key: str) -> str | None:
    path = _recognised_path(key)
    if path is None or len(path.parts) < 2:
        return None
    match = _QUARTER_DROP.match(_source_stem(path.name) or "")
    return f"{match.group(1)}-Q{match.group(2)}" if match else None


@dataclass(frozen=True)
class RefusedEntry:
    """An entry of the landing zone that is not read, and why (e.g. a symlink leading outside)."""

    uri: str
    reason: str


class LandingZone(ABC):
    """Where raw exports land. Implementations: ``LocalLandingZone`` and ``S3LandingZone``.

    ``encoding`` is the text encoding of the CSV files (GOODPULSE_CSV_ENCODING): ``auto`` detects
    it per file (bronze/parsing.py), any Python codec name forces it.
    """

    encoding: str = "auto"

    @property
    @abstractmethod
    def uri(self) -> str:
        """Human-readable location, shown in metadata and error messages."""

    @abstractmethod
    def list_files(self) -> list[RawObject]:
        """Every file below the root (zip archives as themselves), sorted by key."""

    @abstractmethod
    def fetch(self, obj: RawObject) -> Path:
        """A local file holding a file's bytes (the file itself for a local zone)."""

    def refused(self) -> list[RefusedEntry]:
        """Entries that are not read at all, with the reason (after a listing)."""
        return list(getattr(self, "_refused", []))

    def list_objects(self) -> list[RawObject]:
        """Every file below the root, each zip archive replaced by its members, sorted by key.

        A zip that cannot be opened is refused (``refused()``), not read."""
        files = self.list_files()  # also starts a new list of refused entries
        objs: list[RawObject] = []
        for obj in files:
            if obj.key.lower().endswith(ZIP_SUFFIX) and not is_hidden(obj.key):
                objs.extend(self._archive_members(obj))
            else:
                objs.append(obj)
        return sorted(objs, key=lambda o: o.key)

    def _archive_members(self, archive: RawObject) -> list[RawObject]:
        try:
            with zipfile.ZipFile(self.fetch(archive)) as zf:
                infos = [i for i in zf.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, OSError) as exc:
            self._refused.append(
                RefusedEntry(self.object_uri(archive), f"zip archive that cannot be opened: {exc}")
            )
            return []
        return [
            RawObject(
                key=f"{archive.key}{MEMBER_SEPARATOR}{info.filename}",
                size=info.file_size,
                modified=archive.modified,
                # The member changes when the archive does; its CRC tells members apart.
                version=f"{archive.version}:{info.CRC:08x}",
            )
            for info in infos
        ]

    def object_uri(self, obj: RawObject) -> str:
        return f"{self.uri.rstrip('/')}/{obj.key}"

    def local_copy(self, obj: RawObject, extract_dir: Path) -> Path:
        """A local file holding the object's bytes: ``fetch`` for a file; a zip member is
        extracted (streaming, once per archive version) below ``extract_dir``."""
        if obj.member is None:
            return self.fetch(obj)
        archive_key = obj.archive_key
        archive = RawObject(archive_key, 0, obj.modified, obj.version.rsplit(":", 1)[0])
        uri_hash = hashlib.sha1(self.object_uri(archive).encode()).hexdigest()
        member_hash = hashlib.sha1(f"{obj.member}|{obj.version}".encode()).hexdigest()[:16]
        target = extract_dir / uri_hash / member_hash / PurePosixPath(obj.member).name
        if not target.exists():
            with zipfile.ZipFile(self.fetch(archive)) as zf, zf.open(obj.member) as src:
                atomic_files.copy_stream(target, src, BLOCK_SIZE)
        return target

    def source_objects(self, table: str | None = None) -> list[RawObject]:
        """Source files (of one table, if given), oldest first so later drops win conflicts."""
        objs = [o for o in self.list_objects() if o.table and (table is None or o.table == table)]
        return sorted(objs, key=lambda o: (o.modified, o.key))

    def unrecognised(self) -> list[RawObject]:
        """Files (and zip members) that are not source files and not hidden: never read."""
        return [o for o in self.list_objects() if o.table is None and not is_hidden(o.key)]


def unrecognised_entries(zone: LandingZone) -> list[str]:
    """Each file the landing zone holds but does not read, as '<uri> (<why>)'."""
    entries = [f"{zone.object_uri(o)} (unknown file name)" for o in zone.unrecognised()]
    return entries + [f"{e.uri} ({e.reason})" for e in zone.refused()]


def unrecognised_warning(zone: LandingZone) -> str | None:
    """One sentence naming every file of the landing zone that is not read and what to do, or
    None when every file is read (hidden files aside)."""
    entries = unrecognised_entries(zone)
    if not entries:
        return None
    return (
        f"{len(entries)} file(s) in the landing zone {zone.uri} are not read: "
        f"{'; '.join(entries)}; rename each to a Kaggle file name (e.g. olist_orders_dataset.csv) "
        "or to <table>/<YYYY>-Q<n>.csv (plain, .csv.gz or inside a .zip), copy a linked file "
        "into the landing zone instead of linking it, or remove it."
    )


class LocalLandingZone(LandingZone):
    """A local directory. Symlinks are followed only when they resolve inside the root: one that
    leads outside (a file or a directory) is refused and reported, so the landing zone reads only
    what is in it."""

    def __init__(self, root: str | os.PathLike[str], encoding: str = "auto"):
        self.root = Path(root)
        self.encoding = encoding
        self._refused: list[RefusedEntry] = []

    @property
    def uri(self) -> str:
        return str(self.root)

    def list_files(self) -> list[RawObject]:
        self._refused = []
        if not self.root.is_dir():
            return []
        real_root = self.root.resolve()
        objs: list[RawObject] = []
        self._walk(self.root, real_root, {real_root}, objs)
        return sorted(objs, key=lambda o: o.key)

    def _walk(self, folder: Path, real_root: Path, seen: set[Path], objs: list[RawObject]) -> None:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            path = Path(entry.path)
            key = path.relative_to(self.root).as_posix()
            if is_hidden(key):
                continue
            if entry.is_symlink():
                target = path.resolve()
                if not target.exists():
                    self._refused.append(RefusedEntry(str(path), f"broken symlink to {target}"))
                    continue
                if not target.is_relative_to(real_root):
                    self._refused.append(
                        RefusedEntry(str(path), f"symlink to {target}, outside the landing zone")
                    )
                    continue
            if entry.is_dir():
                real = path.resolve()
                if real not in seen:  # a link back to a folder already walked: no loop
                    self._walk(path, real_root, seen | {real}, objs)
            elif entry.is_file():
                stat = entry.stat()
                objs.append(
                    RawObject(
                        key=key,
                        size=stat.st_size,
                        modified=stat.st_mtime,
                        version=f"{stat.st_mtime_ns}-{stat.st_size}",
                    )
                )

    def fetch(self, obj: RawObject) -> Path:
        return self.root / obj.key


class S3LandingZone(LandingZone):
    """An S3 prefix. Objects are downloaded once per ETag into a local cache directory, because
    DuckDB reads local files (its httpfs extension would be downloaded at run time, which many
    sites block). A zip archive is fetched the same way and unpacked from there."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str,
        cache_dir: str | os.PathLike[str],
        encoding: str = "auto",
    ):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.cache_dir = Path(cache_dir)
        self.encoding = encoding
        self._refused: list[RefusedEntry] = []

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def list_files(self) -> list[RawObject]:
        self._refused = []
        objs = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix) :]
                if not key or key.endswith("/"):
                    continue
                objs.append(
                    RawObject(
                        key=key,
                        size=int(item["Size"]),
                        modified=item["LastModified"].timestamp(),
                        version=item["ETag"].strip('"'),
                    )
                )
        return sorted(objs, key=lambda o: o.key)

    def fetch(self, obj: RawObject) -> Path:
        key_hash = hashlib.sha1(f"{self.bucket}/{self.prefix}{obj.key}".encode()).hexdigest()
        target = self.cache_dir / key_hash / obj.version / PurePosixPath(obj.key).name
        if not target.exists():
            with atomic_files.replacing(target) as tmp:
                self.client.download_file(self.bucket, self.prefix + obj.key, str(tmp))
        return target
