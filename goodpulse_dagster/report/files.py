"""Writing the report's files: atomically, so a reader never sees a half-written report."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from goodpulse_dagster.report.names import HTML_FILE, MARKDOWN_FILE

if TYPE_CHECKING:
    from goodpulse_dagster.report.build import Report

REPORT_FILE_MODE = 0o644  # the report is meant to be shared


def atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees a half-written report."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, REPORT_FILE_MODE)  # mkstemp creates 0600; the report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(report: Report, out_dir: Path) -> dict[str, Path]:
    """Write ``goodpulse_report.html`` and ``goodpulse_report.md`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": out_dir / HTML_FILE, "markdown": out_dir / MARKDOWN_FILE}
    atomic_write(paths["html"], report.html)
    atomic_write(paths["markdown"], report.markdown)
    return paths
