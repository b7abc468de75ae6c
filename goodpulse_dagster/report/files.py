"""Writing the report's files: atomically, so a reader never sees a half-written report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from goodpulse_dagster import atomic_files
from goodpulse_dagster.report.names import HTML_FILE, MARKDOWN_FILE

if TYPE_CHECKING:
    from goodpulse_dagster.report.build import Report

REPORT_FILE_MODE = 0o644  # the report is meant to be shared


def atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees a half-written report."""
    atomic_files.write_text(path, text, newline="\n", mode=REPORT_FILE_MODE)


def write_report(report: Report, out_dir: Path) -> dict[str, Path]:
    """Write ``goodpulse_report.html`` and ``goodpulse_report.md`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": out_dir / HTML_FILE, "markdown": out_dir / MARKDOWN_FILE}
    atomic_write(paths["html"], report.html)
    atomic_write(paths["markdown"], report.markdown)
    return paths
