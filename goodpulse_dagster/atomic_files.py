"""Writing a local file so that nobody ever sees half of it.

Every file GoodPulse writes in place of an older one (lake objects, staged copies of raw files,
S3 downloads, the run-trust state, the report) is written to a temporary file beside it and then
renamed over it with ``os.replace``, which is atomic on one file system: a reader (a step of
another run, the CLI, a BI tool) sees the old file or the new one, and a crash mid-write leaves
the old one. The temporary name starts with a dot, so the lake's listings (which skip hidden
files) and the landing zone never take it for data; it is removed when the write fails.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

# shutil.copyfileobj's block size for a stream copied into a file.
COPY_BLOCK_SIZE = 1 << 20


@contextmanager
def replacing(target: Path, mode: int | None = None) -> Iterator[Path]:
    """A temporary path beside ``target`` for the caller to write; renamed over ``target`` when
    the block ends without an error (with permission bits ``mode`` if given), deleted otherwise.
    The target's folder is created if missing."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A unique name: two processes writing the same target (two runs, two sensors) must not
    # write into one temporary file.
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(target: Path, data: bytes) -> None:
    with replacing(target) as tmp:
        tmp.write_bytes(data)


def write_text(
    target: Path,
    text: str,
    encoding: str = "utf-8",
    newline: str | None = None,
    mode: int | None = None,
) -> None:
    """``text`` to ``target`` (``newline="\\n"`` writes the same bytes on every platform)."""
    with replacing(target, mode) as tmp, open(tmp, "w", encoding=encoding, newline=newline) as fh:
        fh.write(text)


def copy_stream(target: Path, source: BinaryIO, block_size: int = COPY_BLOCK_SIZE) -> None:
    """The rest of ``source`` (an open binary stream, such as a zip member) to ``target``."""
    with replacing(target) as tmp, open(tmp, "wb") as fh:
        shutil.copyfileobj(source, fh, block_size)
