"""The report as Markdown: the same sections and blocks as the HTML, charts as data-URI images
(which the Dagster UI renders)."""

from __future__ import annotations

from collections.abc import Sequence

from goodpulse_dagster.report.blocks import (
    Chart,
    Figure,
    ItemList,
    Panel,
    Section,
    Table,
    Text,
    Tiles,
)


def md_text(s: object) -> str:
    """Escape the characters that would turn plain text into Markdown markup."""
    out = str(s).replace("\\", "\\\\")
    for ch in ("*", "_", "`", "[", "]", "<", ">"):
        out = out.replace(ch, "\\" + ch)
    return out


def _md_cell(s: object) -> str:
    return md_text(s).replace("|", "\\|").replace("\n", " ")


def md_alt(s: str) -> str:
    return s.replace("[", "(").replace("]", ")")


def chart_image(chart: Chart) -> str:
    """A chart as a Markdown image with an embedded data URI."""
    return f"![{md_alt(chart.title)}]({chart.data_uri})"


def _md_table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool]
) -> str:
    head = "| " + " | ".join(_md_cell(c) for c in columns) + " |"
    sep = "|" + "|".join("---:" if n else "---" for n in numeric) + "|"
    body = ["| " + " | ".join(_md_cell(v) for v in r) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def _md_block(b) -> str:
    if isinstance(b, Text):
        text = md_text(b.text)
        return f"_{text}_" if b.css in ("muted", "nodata") else text
    if isinstance(b, Tiles):
        return _md_table(
            ["Metric", "Value", "Note"], [list(i) for i in b.items], [False, True, False]
        )
    if isinstance(b, Table):
        table = _md_table(b.columns, b.rows, b.numeric)
        return f"{md_text(b.collapsed)}:\n\n{table}" if b.collapsed else table
    if isinstance(b, Figure):
        return chart_image(b.chart) if b.chart is not None else f"_{md_text(b.missing)}_"
    if isinstance(b, ItemList):
        marks = [f"{i}." for i in range(1, len(b.items) + 1)] if b.ordered else ["-"] * len(b.items)
        return "\n".join(f"{m} {md_text(i)}" for m, i in zip(marks, b.items, strict=True))
    if isinstance(b, Panel):
        return "\n\n".join([f"### {md_text(b.title)}", *(_md_block(x) for x in b.blocks)])
    raise TypeError(f"unknown block {type(b).__name__}")


def render_markdown(title: str, meta: str, sections: list[Section]) -> str:
    parts = [f"# {md_text(title)}", f"_{md_text(meta)}_"]
    for s in sections:
        parts.append(f"## {md_text(s.title)}")
        parts.extend(_md_block(b) for b in s.blocks)
    return "\n\n".join(parts) + "\n"
