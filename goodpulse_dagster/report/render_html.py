"""The report as one self-contained HTML page, rendered through the Jinja2 templates of
``report/templates`` with the stylesheet ``report/report.css`` inlined.

The page has inline CSS, charts as base64 SVG data URIs, no script and no external URL: it opens
offline, in a mail client or from an S3 bucket, and fetches nothing. Every value is escaped by
the template engine (autoescape); the one piece of markup we write ourselves and trust, the
stylesheet, is marked safe in ``_stylesheet``. Charts need no such exception: they travel as data
URIs in ``<img>`` attributes, which escaping leaves as they are.
"""

from __future__ import annotations

import functools
import html
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from goodpulse_dagster.report.blocks import Figure, ItemList, Panel, Section, Table, Text, Tiles
from goodpulse_dagster.report.inputs import is_num

# The template of each kind of block.
BLOCK_TEMPLATES: dict[type, str] = {
    Text: "text.html.j2",
    Tiles: "tiles.html.j2",
    Table: "table.html.j2",
    Figure: "figure.html.j2",
    ItemList: "list.html.j2",
    Panel: "panel.html.j2",
}

# Heat shading: cell colour runs from HEAT_LOW to HEAT_HIGH; text turns white past HEAT_DARK.
HEAT_LOW = (0xF7, 0xFA, 0xFC)
HEAT_HIGH = (0x2B, 0x6C, 0xB0)
HEAT_DARK = 0.55


def heat_style(intensity: float) -> str:
    """Inline CSS of a heat-shaded cell for ``intensity`` in [0, 1]."""
    x = min(max(float(intensity), 0.0), 1.0) if is_num(intensity) else 0.0
    rgb = tuple(round(lo + (hi - lo) * x) for lo, hi in zip(HEAT_LOW, HEAT_HIGH, strict=True))
    color = "#FFFFFF" if x > HEAT_DARK else "#1A202C"
    return "background-color:#{:02X}{:02X}{:02X};color:{}".format(*rgb, color)


def template_of(block: object) -> str:
    """The template that renders ``block``; an unknown kind of block is an error."""
    try:
        return BLOCK_TEMPLATES[type(block)]
    except KeyError:
        raise TypeError(f"unknown block {type(block).__name__}") from None


def _escape(value: object) -> Markup:
    """Every value the templates print, escaped as ``html.escape`` does (' as &#x27;, " as
    &quot;) rather than as markupsafe does (&#39;, &#34;): the same characters are escaped either
    way, and this keeps the published pages byte for byte what they were before the templates,
    so a check that looks for ``html.escape(text)`` in a page finds it. Markup (the stylesheet)
    passes unchanged."""
    if hasattr(value, "__html__"):
        return Markup(value)
    return Markup(html.escape(str(value), quote=True))


@functools.cache
def _environment() -> Environment:
    # trim_blocks/lstrip_blocks: a line holding only a template tag leaves nothing in the page,
    # so the templates can be laid out for reading without adding whitespace to the output.
    env = Environment(
        loader=PackageLoader("goodpulse_dagster.report", "templates"),
        autoescape=True,
        finalize=_escape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(template_of=template_of, heat_style=heat_style)
    return env


def _stylesheet() -> Markup:
    """The report's CSS, read from the package at render time. It is our own file, not data, and
    CSS is not HTML text: the one place where content is marked safe from escaping."""
    css = resources.files("goodpulse_dagster.report").joinpath("report.css").read_text("utf-8")
    return Markup(css)


def render_html(title: str, meta: str, sections: list[Section]) -> str:
    """The page of ``sections`` under ``title``, with ``meta`` (data date, generation time)."""
    page = _environment().get_template("page.html.j2")
    # The loader drops a template file's final newline; the page ends with one.
    return page.render(title=title, meta=meta, sections=sections, css=_stylesheet()) + "\n"


def render_stale_banner(notice: str) -> str:
    """The stale banner of the published page (stale.py places it)."""
    return _environment().get_template("stale_banner.html.j2").render(notice=notice)
