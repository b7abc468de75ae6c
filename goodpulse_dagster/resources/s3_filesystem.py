"""The S3 lake as a filesystem DuckDB reads and writes through (storage=s3).

DuckDB's own S3 support (the httpfs extension) cannot be downloaded here, so DuckDB reads
``s3://`` URIs through an fsspec filesystem registered with the connection
(``register_filesystem``): pyarrow's S3 client (``pyarrow.fs.S3FileSystem``, C++, streaming
ranged reads) wrapped as fsspec by ``ArrowFSWrapper``, whose protocol is ``s3``. (``s3fs`` would
need other botocore versions than the project's boto3.)

It is built once per process and endpoint (like the boto3 clients of ``storage.py``), with the
credentials boto3 would find (environment, profile, instance role) and the same endpoint, region
and retry attempts.

Files opened for reading are ``PositionalReadFile``s: DuckDB reads one open file from several of
its threads at once (prefetching a Parquet file's column chunks), each as a ``seek`` then a
``read``, and fsspec's ``ArrowFile`` keeps one position per file, so two threads' pairs interleave
and one of them reads the other's bytes (seen on a 40 MB bronze table on moto: "ZSTD
Decompression failure"). A ``PositionalReadFile`` keeps each thread's position apart and reads
with Arrow's positional ``read_at``, which is safe from any thread.
"""

from __future__ import annotations

import io
import os
import threading
from typing import Any
from urllib.parse import urlparse

import duckdb

_FILESYSTEMS: dict[tuple[int, str | None, str, int], Any] = {}
_LOCK = threading.Lock()
# The filesystem registered with each open database (by process and database name): DuckDB keeps
# registrations per database, and a process may be pointed at another endpoint (tests are).
_REGISTERED: dict[tuple[int, str], Any] = {}


def s3_filesystem(endpoint_url: str | None, region: str, max_attempts: int) -> Any:
    """The process's fsspec filesystem for the S3 API at ``endpoint_url`` (None: AWS)."""
    key = (os.getpid(), endpoint_url, region, max_attempts)
    with _LOCK:
        if key not in _FILESYSTEMS:
            _FILESYSTEMS[key] = _build(endpoint_url, region, max_attempts)
        return _FILESYSTEMS[key]


class PositionalReadFile(io.RawIOBase):
    """A file of the lake opened for reading: ``seek``/``tell`` per thread, ``read`` by position
    (the module docstring says why)."""

    def __init__(self, stream: Any, path: str):
        super().__init__()
        self.stream = stream  # a pyarrow RandomAccessFile
        self.path = path
        self._size = stream.size()
        self._position = threading.local()

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return getattr(self._position, "offset", 0)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.tell(), io.SEEK_END: self._size}[whence]
        self._position.offset = max(0, base + offset)
        return self._position.offset

    def read(self, size: int | None = -1) -> bytes:
        start = self.tell()
        if size is None or size < 0:
            size = self._size - start
        data = self.stream.read_at(max(0, min(size, self._size - start)), start)
        self._position.offset = start + len(data)
        return bytes(data)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.stream.close()
        super().close()


def _build(endpoint_url: str | None, region: str, max_attempts: int) -> Any:
    import boto3
    from fsspec.implementations.arrow import ArrowFSWrapper
    from pyarrow import fs as pafs

    class LakeS3FileSystem(ArrowFSWrapper):
        """``ArrowFSWrapper`` whose files opened for reading are ``PositionalReadFile``s."""

        def _open(self, path, mode="rb", block_size=None, seekable=True, **kwargs):
            if mode == "rb" and seekable:
                return PositionalReadFile(self.fs.open_input_file(path), path)
            return super()._open(path, mode, block_size, seekable, **kwargs)

    options: dict[str, Any] = {
        "region": region,
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=max_attempts),
    }
    if endpoint_url:
        parsed = urlparse(endpoint_url)
        options["endpoint_override"] = parsed.netloc or parsed.path
        options["scheme"] = parsed.scheme or "https"
    credentials = boto3.Session().get_credentials()
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        options.update(access_key=frozen.access_key, secret_key=frozen.secret_key)
        if frozen.token:
            options["session_token"] = frozen.token
    return LakeS3FileSystem(pafs.S3FileSystem(**options))


def register_filesystem(con: duckdb.DuckDBPyConnection, filesystem: Any) -> None:
    """Let ``con`` read and write ``s3://`` URIs through ``filesystem`` (once per database)."""
    [(database,)] = con.execute("SELECT current_database()").fetchall()
    key = (os.getpid(), database)
    with _LOCK:
        registered = con.filesystem_is_registered(filesystem.protocol)
        if registered and _REGISTERED.get(key) is filesystem:
            return
        if registered:
            con.unregister_filesystem(filesystem.protocol)
        con.register_filesystem(filesystem)
        _REGISTERED[key] = filesystem
