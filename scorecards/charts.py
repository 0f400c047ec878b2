"""Server-rendered SVG charts: no JavaScript, no chart library, readable in light and dark themes.

Every function returns an ``<svg>`` string with escaped text, a ``role="img"`` and an
``aria-label`` saying what it shows. Colours come from the stylesheet (classes under
``.chart`` in static/css/scorecards.css) except level colours, which are validated
``#rrggbb`` values.

``stacked_bar(segments)``              one horizontal bar split by level
``history_chart(days, series)``        lines over dates (entities per level)
``trend_chart(points, kind=...)``      weekly bars or a line with gaps where there is no data
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date
from html import escape

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
NO_LEVEL_COLOUR = "#9ca3af"


def _colour(value: str | None, fallback: str = "#6366f1") -> str:
    return value if value and _COLOUR.match(value) else fallback


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def stacked_bar(segments: Sequence[tuple[str, int, str | None]], *, width: int = 480, height: int = 18) -> str:
    """``segments`` are (label, count, colour), drawn left to right in proportion to their counts."""
    total = sum(max(0, count) for _, count, _ in segments)
    label = ", ".join(f"{name}: {count}" for name, count, _ in segments) or "no data"
    parts = [
        f'<svg class="chart stacked-bar" viewBox="0 0 {width} {height}" width="100%" height="{height}" '
        f'preserveAspectRatio="none" role="img" aria-label="{escape(label)}">'
    ]
    if total == 0:
        parts.append(f'<rect class="empty" x="0" y="0" width="{width}" height="{height}" rx="4"><title>No entities'
                     "</title></rect>")
    else:
        x = 0.0
        for name, count, colour in segments:
            if count <= 0:
                continue
            share = count / total * width
            parts.append(
                f'<rect x="{x:.2f}" y="0" width="{share:.2f}" height="{height}" fill="{_colour(colour)}">'
                f"<title>{escape(name)}: {count} ({count / total:.0%})</title></rect>"
            )
            x += share
    parts.append("</svg>")
    return "".join(parts)


def _scale(maximum: float) -> float:
    """A round upper bound for an axis: 1, 2 or 5 times a power of ten, at least ``maximum``."""
    if maximum <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(maximum))
    for step in (1, 2, 5, 10):
        if step * magnitude >= maximum:
            return float(step * magnitude)
    return float(10 * magnitude)


def history_chart(
    days: Sequence[date],
    series: Sequence[tuple[str, str | None, Sequence[float]]],
    *,
    width: int = 720,
    height: int = 220,
) -> str:
    """Lines over ``days``; ``series`` are (label, colour, one value per day)."""
    left, right, top, bottom = 40, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    label = "History: " + "; ".join(
        f"{name} from {values[0]:g} to {values[-1]:g}" for name, _, values in series if values
    )
    parts = [
        f'<svg class="chart history-chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}">'
    ]
    if not days:
        parts.append(f'<text class="axis" x="{width / 2}" y="{height / 2}" text-anchor="middle">No history yet'
                     "</text></svg>")
        return "".join(parts)
    maximum = _scale(max((v for _, _, values in series for v in values), default=0))
    for tick in range(5):
        value = maximum * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(value)}</text>')

    def x_of(index: int) -> float:
        return left + (plot_w * index / (len(days) - 1) if len(days) > 1 else plot_w / 2)

    shown = {0, len(days) - 1, (len(days) - 1) // 2}
    for index in sorted(shown):
        anchor = "start" if index == 0 and len(days) > 1 else ("end" if index == len(days) - 1 and index else "middle")
        parts.append(f'<text class="axis" x="{x_of(index):.1f}" y="{height - 8}" text-anchor="{anchor}">'
                     f"{escape(days[index].isoformat())}</text>")
    for name, colour, values in series:
        points = [
            (x_of(index), top + plot_h - plot_h * (value / maximum)) for index, value in enumerate(values)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline fill="none" stroke="{_colour(colour, NO_LEVEL_COLOUR)}" stroke-width="2" '
                     f'points="{path}"><title>{escape(name)}</title></polyline>')
        for (x, y), value, day in zip(points, values, days, strict=False):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{_colour(colour, NO_LEVEL_COLOUR)}">'
                         f"<title>{escape(name)} on {day.isoformat()}: {_number(value)}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(
    points: Sequence[tuple[str, float | None]],
    *,
    kind: str = "bar",
    unit: str = "",
    width: int = 320,
    height: int = 110,
    title: str = "",
) -> str:
    """Weekly values, oldest first; ``points`` are (week label, value or None for no data)."""
    left, right, top, bottom = 34, 6, 8, 18
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [value for _, value in points if value is not None]
    described = ", ".join(f"{name}: {'no data' if value is None else f'{value:.3g}{unit}'}" for name, value in points)
    parts = [
        f'<svg class="chart trend-chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title + ": " if title else "")}{escape(described or "no data")}">'
    ]
    maximum = _scale(max(values, default=0))
    parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{top}" y2="{top}"/>')
    parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}"/>')
    parts.append(f'<text class="axis" x="{left - 4}" y="{top + 4}" text-anchor="end">{_number(maximum)}{escape(unit)}'
                 "</text>")
    parts.append(f'<text class="axis" x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>')
    count = max(1, len(points))
    slot = plot_w / count
    if points:
        parts.append(f'<text class="axis" x="{left}" y="{height - 4}">{escape(points[0][0])}</text>')
        parts.append(f'<text class="axis" x="{width - right}" y="{height - 4}" text-anchor="end">'
                     f"{escape(points[-1][0])}</text>")
    if kind == "bar":
        for index, (name, value) in enumerate(points):
            x = left + slot * index + slot * 0.15
            if value is None:
                parts.append(f'<rect class="nodata" x="{x:.1f}" y="{top + plot_h - 2}" width="{slot * 0.7:.1f}" '
                             f'height="2"><title>{escape(name)}: no data</title></rect>')
                continue
            bar = plot_h * value / maximum
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - bar:.1f}" width="{slot * 0.7:.1f}" '
                         f'height="{bar:.1f}"><title>{escape(name)}: {value:.3g}{escape(unit)}</title></rect>')
    else:
        segment: list[str] = []
        segments: list[list[str]] = []
        for index, (name, value) in enumerate(points):
            x = left + slot * index + slot / 2
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            y = top + plot_h - plot_h * value / maximum
            segment.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="2.5"><title>{escape(name)}: '
                         f"{value:.3g}{escape(unit)}</title></circle>")
        if segment:
            segments.append(segment)
        for line in segments:
            parts.append(f'<polyline class="line" fill="none" points="{" ".join(line)}"/>')
    if not values:
        parts.append(f'<text class="axis" x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle">'
                     "No data</text>")
    parts.append("</svg>")
    return "".join(parts)
