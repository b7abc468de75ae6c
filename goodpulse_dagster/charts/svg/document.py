"""The SVG document: ``Svg`` collects elements as markup, in drawing order.

Coordinates are rounded to 0.1 px and every text is XML-escaped, so the same drawing always gives
the same bytes (no generated ids, no dates).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from goodpulse_dagster.charts.svg.text import CAP_HEIGHT, DESCENT
from goodpulse_dagster.charts.svg.theme import (
    BACKGROUND,
    FONT_FAMILY,
    FONT_SIZE,
    LINE_HEIGHT,
    MUTED,
)

# Characters XML 1.0 does not allow (control characters, lone surrogates): dropped from labels.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _esc(text: object) -> str:
    """Text as XML character data or attribute value: &, <, >, quotes escaped."""
    return html.escape(_XML_INVALID.sub("", str(text)), quote=True)


def _n(x: float) -> str:
    """A coordinate rounded to 0.1 px, without a trailing .0: short and deterministic."""
    s = f"{x:.1f}"
    s = s[:-2] if s.endswith(".0") else s
    return "0" if s == "-0" else s


class Svg:
    """An SVG document under construction: elements are appended as markup, in drawing order."""

    def __init__(self, width: int, height: int, title: str):
        self.width, self.height = width, height
        self._parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
            f' viewBox="0 0 {width} {height}" font-family="{FONT_FAMILY}" role="img">',
            f"<title>{_esc(title)}</title>",
            f'<rect width="{width}" height="{height}" fill="{BACKGROUND}"/>',
        ]

    def render(self) -> str:
        return "\n".join([*self._parts, "</svg>"]) + "\n"

    def vertical_gradient(self, gradient_id: str, stops: Sequence[tuple[float, str]]) -> str:
        """Define a gradient from the bottom (offset 0) to the top (offset 1); returns the fill
        that paints with it. Ids are fixed names, not generated: each chart is its own document,
        so they cannot clash, and the output stays deterministic."""
        body = "".join(f'<stop offset="{t:.4f}" stop-color="{color}"/>' for t, color in stops)
        self._parts.append(
            f'<defs><linearGradient id="{gradient_id}" x1="0" y1="1" x2="0" y2="0">{body}'
            "</linearGradient></defs>"
        )
        return f"url(#{gradient_id})"

    @contextmanager
    def group(self, cls: str, **attrs: object) -> Iterator[None]:
        """A ``<g class=...>``: it names what its elements are (tests and readers find them)."""
        self._parts.append(f'<g class="{cls}"{_attrs(attrs)}>')
        yield
        self._parts.append("</g>")

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: str, **attrs: object) -> None:
        """A rectangle between two corners. The corners are rounded before the size is taken,
        so stacked pieces that share an edge meet exactly."""
        x0, x1 = sorted((round(x0, 1), round(x1, 1)))
        y0, y1 = sorted((round(y0, 1), round(y1, 1)))
        self._parts.append(
            f'<rect x="{_n(x0)}" y="{_n(y0)}" width="{_n(x1 - x0)}" height="{_n(y1 - y0)}"'
            f' fill="{fill}"{_attrs(attrs)}/>'
        )

    def line(
        self, x0: float, y0: float, x1: float, y1: float, stroke: str, **attrs: object
    ) -> None:
        self._parts.append(
            f'<line x1="{_n(x0)}" y1="{_n(y0)}" x2="{_n(x1)}" y2="{_n(y1)}"'
            f' stroke="{stroke}"{_attrs(attrs)}/>'
        )

    def path(self, points: Sequence[tuple[float, float]], *, close: bool, **attrs: object) -> None:
        d = "M" + " L".join(f"{_n(x)},{_n(y)}" for x, y in points) + (" Z" if close else "")
        self._parts.append(f'<path d="{d}"{_attrs(attrs)}/>')

    def circle(self, x: float, y: float, r: float, fill: str, **attrs: object) -> None:
        self._parts.append(
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}" fill="{fill}"{_attrs(attrs)}/>'
        )

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = FONT_SIZE,
        fill: str = MUTED,
        anchor: str = "start",
        valign: str = "baseline",
        bold: bool = False,
        angle: float = 0.0,
    ) -> None:
        """``text`` at (x, y); "\\n" starts a new line. ``anchor`` is start, middle or end;
        ``valign`` says what y is: the first baseline, or the top, middle or bottom of the block
        (computed here from the font's metrics rather than left to dominant-baseline, which
        renderers treat differently). ``angle`` turns the text counter-clockwise about (x, y)."""
        lines = str(text).split("\n")
        step = size * LINE_HEIGHT
        block = (len(lines) - 1) * step
        first = {
            "baseline": y,
            "top": y + CAP_HEIGHT * size,
            "middle": y + CAP_HEIGHT * size / 2 - block / 2,
            "bottom": y - DESCENT * size - block,
        }[valign]
        attrs = {"font-size": _n(size), "fill": fill}
        if anchor != "start":
            attrs["text-anchor"] = anchor
        if bold:
            attrs["font-weight"] = "bold"
        if angle:
            attrs["transform"] = f"rotate({_n(-angle)} {_n(x)} {_n(y)})"
        if len(lines) == 1:
            body = _esc(lines[0])
        else:
            body = "".join(
                f'<tspan x="{_n(x)}" y="{_n(first + i * step)}">{_esc(line)}</tspan>'
                for i, line in enumerate(lines)
            )
        self._parts.append(f'<text x="{_n(x)}" y="{_n(first)}"{_attrs(attrs)}>{body}</text>')


def _attrs(attrs: dict[str, object]) -> str:
    """Attributes as markup; keyword names use _ for - (stroke_width -> stroke-width)."""
    return "".join(f' {k.replace("_", "-")}="{_esc(v)}"' for k, v in attrs.items())


def svg_size(svg: str) -> tuple[int, int]:
    """(width, height) in pixels, read from the root element of an SVG drawn here."""
    m = re.match(r'<svg [^>]*?width="(\d+)" height="(\d+)"', svg)
    if not m:
        raise ValueError("not an SVG document drawn by charts/svg")
    return int(m.group(1)), int(m.group(2))
