"""The Parquet lake: one object store interface over a local directory or an S3 prefix.

The Parquet IO manager, the quarantine writer and the staging cache all go through ``LakeStore``,
so the local and S3 layouts are the same code with a different base location.

Lake objects are written by DuckDB into a local scratch file first (resources/lake_data.py) and
then published whole (``publish``): renamed into place locally, uploaded from disk (multipart for
a large file) on S3, so a reader never sees half an object and a re-run replaces it.
"""

from __future__ import annotations

import io
import os
import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from goodpulse_dagster import atomic_files


class LakeStore(ABC):
    """Parquet objects addressed by '/'-separated relative paths such as 'silver/orders/x.parquet'."""

    @property
    @abstractmethod
    def uri(self) -> str: ...

    @abstractmethod
    def write_bytes(self, relpath: str, data: bytes) -> None: ...

    @abstractmethod
    def read_bytes(self, relpath: str) -> bytes: ...

    @abstractmethod
    def exists(self, relpath: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Relative paths of the objects under a folder prefix, sorted."""

    @abstractmethod
    def delete(self, relpath: str) -> None: ...

    @abstractmethod
    def publish(self, relpath: str, local_file: Path) -> None:
        """Replace the object with the local file ``local_file``, which is moved (gone after)."""

    def object_uri(self, relpath: str) -> str:
        return f"{self.uri.rstrip('/')}/{relpath}"

    def read_table(self, relpath: str) -> pa.Table:
        return pq.read_table(io.BytesIO(self.read_bytes(relpath)))


class LocalLakeStore(LakeStore):
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    @property
    def uri(self) -> str:
        return str(self.root)

    def path(self, relpath: str) -> Path:
        return self.root / relpath

    def write_bytes(self, relpath: str, data: bytes) -> None:
        # Write then rename: a reader (or a crash mid-write) never sees half a file, and a re-run
        # replaces the object instead of adding to it.
        atomic_files.write_bytes(self.path(relpath), data)

    def read_bytes(self, relpath: str) -> bytes:
        return self.path(relpath).read_bytes()

    def publish(self, relpath: str, local_file: Path) -> None:
        # A rename on one filesystem; across filesystems a copy beside the object, then a rename,
        # so the object is replaced whole either way.
        target = self.path(relpath)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(local_file, target)
        except OSError:
            with atomic_files.replacing(target) as tmp:
                shutil.copyfile(local_file, tmp)
            os.unlink(local_file)

    def read_table(self, relpath: str) -> pa.Table:
        # Memory-map the local file rather than copying it into a bytes buffer first.
        return pq.read_table(self.path(relpath), memory_map=True)

    def exists(self, relpath: str) -> bool:
        return self.path(relpath).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self.path(prefix)
        if not base.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )

    def delete(self, relpath: str) -> None:
        self.path(relpath).unlink(missing_ok=True)


class S3LakeStore(LakeStore):
    def __init__(self, client: Any, bucket: str, prefix: str):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def write_bytes(self, relpath: str, data: bytes) -> None:
        # A PUT replaces the whole object atomically.
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + relpath, Body=data)

    def read_bytes(self, relpath: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self.prefix + relpath)["Body"].read()

    def publish(self, relpath: str, local_file: Path) -> None:
        # boto3's managed upload streams the file from disk (multipart above 8 MB); the object
        # appears when the upload completes, replacing the old one.
        self.client.upload_file(str(local_file), self.bucket, self.prefix + relpath)
        os.unlink(local_file)

    def exists(self, relpath: str) -> bool:
        resp = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix + relpath)
        return any(o["Key"] == self.prefix + relpath for o in resp.get("Contents", []))

    def list(self, prefix: str) -> list[str]:
        keys = []
        paginator = self.client.get_paginator("list_objects_v2")
        full = self.prefix + prefix.rstrip("/") + "/"
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
            keys.extend(o["Key"][len(self.prefix) :] for o in page.get("Contents", []))
        return sorted(keys)

    def delete(self, relpath: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + relpath)
