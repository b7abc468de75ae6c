"""The raw landing zone: where exports arrive, as a local directory or an S3 prefix.

Both implementations share one small interface (list objects, fetch one to a local file), so the
bronze layer and the landing-zone sensor run the same code against a laptop folder and a bucket.

Accepted layouts, combinable:
- one full export per table in the Kaggle layout: ``olist_orders_dataset.csv`` at the root;
- per-quarter drops of any table in a folder named after the table (or its Kaggle file stem):
  ``orders/2017-Q1.csv``, ``olist_order_items_dataset/2017-Q1.csv``.
Anything else (other file types, unknown names) is ignored and reported by ``unrecognised()``.
"""

from __future__ import annotations

import hashlib
import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from goodpulse_dagster.schema import FILE_TO_TABLE, SOURCE_TABLES

_STEM_TO_TABLE = {PurePosixPath(f).stem: t for f, t in FILE_TO_TABLE.items()}
_QUARTER_DROP = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True)
class RawObject:
    """One file in the landing zone."""

    key: str  # path relative to the landing root, '/'-separated
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


def table_of_key(key: str) -> str | None:
    """The source table a landing-zone key belongs to, or None when it is not a source file."""
    path = PurePosixPath(key)
    if path.suffix.lower() != ".csv" or path.name.startswith((".", "_")):
        return None
    if len(path.parts) == 1:
        return FILE_TO_TABLE.get(path.name)
    folder = path.parts[-2]
    if folder in SOURCE_TABLES:
        return folder
    return _STEM_TO_TABLE.get(folder)


def quarter_of_key(key: str) -> str | None:
    path = PurePosixPath(key)
    if len(path.parts) < 2:
        return None
    match = _QUARTER_DROP.match(path.stem)
    return f"{match.group(1)}-Q{match.group(2)}" if match else None


class LandingZone(ABC):
    """Where raw exports land. Implementations: ``LocalLandingZone`` and ``S3LandingZone``."""

    @property
    @abstractmethod
    def uri(self) -> str:
        """Human-readable location, shown in metadata and error messages."""

    @abstractmethod
    def list_objects(self) -> list[RawObject]:
        """Every file below the root (source files or not), sorted by key."""

    @abstractmethod
    def fetch(self, obj: RawObject) -> Path:
        """A local file holding the object's bytes (the file itself for a local zone)."""

    def object_uri(self, obj: RawObject) -> str:
        return f"{self.uri.rstrip('/')}/{obj.key}"

    def source_objects(self, table: str | None = None) -> list[RawObject]:
        """Source files (of one table, if given), oldest first so later drops win conflicts."""
        objs = [o for o in self.list_objects() if o.table and (table is None or o.table == table)]
        return sorted(objs, key=lambda o: (o.modified, o.key))

    def unrecognised(self) -> list[RawObject]:
        return [o for o in self.list_objects() if o.table is None]


class LocalLandingZone(LandingZone):
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    @property
    def uri(self) -> str:
        return str(self.root)

    def list_objects(self) -> list[RawObject]:
        if not self.root.is_dir():
            return []
        objs = []
        for path in self.root.rglob("*"):
            if not path.is_file():
                continue
            stat = path.stat()
            objs.append(
                RawObject(
                    key=path.relative_to(self.root).as_posix(),
                    size=stat.st_size,
                    modified=stat.st_mtime,
                    version=f"{stat.st_mtime_ns}-{stat.st_size}",
                )
            )
        return sorted(objs, key=lambda o: o.key)

    def fetch(self, obj: RawObject) -> Path:
        return self.root / obj.key


class S3LandingZone(LandingZone):
    """An S3 prefix. Objects are downloaded once per ETag into a local cache directory, because
    DuckDB reads local files (its httpfs extension would be downloaded at run time, which many
    sites block)."""

    def __init__(self, client: Any, bucket: str, prefix: str, cache_dir: str | os.PathLike[str]):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.cache_dir = Path(cache_dir)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def list_objects(self) -> list[RawObject]:
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
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + f".{os.getpid()}.part")
            self.client.download_file(self.bucket, self.prefix + obj.key, str(tmp))
            os.replace(tmp, target)
        return target
