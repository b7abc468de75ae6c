"""The stale banner of the published report: set while failures followed the last good run.

The banner sits between two markers, so that it can be set and removed in the published files
without rendering the report again (a failed run cannot: its tables are not trustworthy).
"""

from __future__ import annotations

import re
from pathlib import Path

from goodpulse_dagster.report.files import atomic_write
from goodpulse_dagster.report.names import HTML_FILE, MARKDOWN_FILE
from goodpulse_dagster.report.render_html import render_stale_banner

STALE_START, STALE_END = "<!-- goodpulse:stale -->", "<!-- /goodpulse:stale -->"
_STALE_BLOCK = re.compile(re.escape(STALE_START) + ".*?" + re.escape(STALE_END) + "\n", re.S)


def with_stale_banner(text: str, notice: str | None, markdown: bool) -> str:
    """``text`` (a rendered report) with its stale banner replaced by ``notice`` (or removed)."""
    text = _STALE_BLOCK.sub("", text)
    if notice is None:
        return text
    if markdown:
        return f"{STALE_START}\n> **Stale.** {notice}\n\n{STALE_END}\n{text}"
    banner = STALE_START + render_stale_banner(notice)
    head, sep, body = text.partition("<body>\n")
    return f"{head}{sep}{banner}{STALE_END}\n{body}" if sep else text


def mark_report_stale(out_dir: Path, notice: str | None) -> None:
    """Set (or, with None, remove) the stale banner of the published report files, if any."""
    for name, markdown in ((HTML_FILE, False), (MARKDOWN_FILE, True)):
        path = Path(out_dir) / name
        if path.exists():
            text = path.read_text(encoding="utf-8")
            atomic_write(path, with_stale_banner(text, notice, markdown))
