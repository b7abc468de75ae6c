"""The block model: a report is a list of sections made of small blocks (text, tiles, tables,
figures, lists, panels). The HTML and the Markdown are both rendered from the same blocks
(render_html.py, render_markdown.py), so the two documents cannot drift apart."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from goodpulse_dagster.report.names import NO_DATA


@dataclass(frozen=True)
class Chart:
    """One rendered chart: an SVG document (goodpulse_dagster.charts) and what it shows."""

    key: str
    title: str
    svg: str
    table: str = ""  # the table it is drawn from
    width: int = 0  # pixels
    height: int = 0

    @property
    def data_uri(self) -> str:
        """The SVG as a base64 data URI: an ``<img>`` source in the HTML, a Markdown image in the
        Dagster UI (whose sanitizer allows data: images). Base64 rather than percent-encoding:
        the SVG's quotes, # and < need no escaping in either host."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode("ascii")


@dataclass
class Text:
    text: str
    css: str = ""


@dataclass
class Tiles:
    items: list[tuple[str, str, str]]  # (label, value, note)


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    heat: list[list[float | None]] | None = None  # per cell 0..1 intensity, None = no shading
    collapsed: str = ""  # HTML: inside <details> with this summary


@dataclass
class Figure:
    chart: Chart | None
    missing: str = NO_DATA


@dataclass
class ItemList:
    items: list[str]
    ordered: bool = False
    css: str = ""


@dataclass
class Panel:
    title: str
    blocks: list


@dataclass
class Section:
    id: str
    title: str
    blocks: list


def no_data(table: str) -> Text:
    return Text(f"{NO_DATA}: the {table} table is empty.", css="nodata")
