"""Colour arithmetic: hex colours as RGB, and the heatmap's colour ramp (theme.BLUES)."""

from __future__ import annotations

from goodpulse_dagster.charts.svg.theme import BLUES, HEATMAP_FLOOR


def rgb(hex_color: str) -> tuple[int, int, int]:
    return int(hex_color[1:3], 16), int(hex_color[3:5], 16), int(hex_color[5:7], 16)


_BLUES_RGB = tuple(rgb(c) for c in BLUES)


def heat_color(t: float) -> str:
    """The heatmap colour of ``t`` in [0, 1]: 0 is the bottom of the scale, 1 its top."""
    u = HEATMAP_FLOOR + (1 - HEATMAP_FLOOR) * min(max(float(t), 0.0), 1.0)
    pos = u * (len(BLUES) - 1)
    i = min(int(pos), len(BLUES) - 2)
    f = pos - i
    lo, hi = _BLUES_RGB[i], _BLUES_RGB[i + 1]
    return "#{:02X}{:02X}{:02X}".format(
        *(round(a + (b - a) * f) for a, b in zip(lo, hi, strict=True))
    )


def heat_stops() -> list[tuple[float, str]]:
    """Gradient stops that reproduce ``heat_color`` exactly: its ends and every ramp colour in
    between (the ramp is linear between them, and so is an SVG gradient)."""
    n = len(BLUES) - 1
    inner = [(k / n - HEATMAP_FLOOR) / (1 - HEATMAP_FLOOR) for k in range(1, n)]
    return [(t, heat_color(t)) for t in [0.0, *(t for t in inner if t > 0), 1.0]]
