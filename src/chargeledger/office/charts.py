"""Server-rendered SVG bar and line charts (issue 16): pure functions of the data, no script.

Each chart is an accessible ``<figure>``: a ``<figcaption>``, an SVG with ``role="img"`` and
a ``<title>`` per bar (the browser's tooltip), the series as JSON in ``data-series`` (what
tests read, not pixels) and the same numbers in a visually hidden table for screen readers
(WCAG 2.2 SC 1.1.1: a text alternative for non-text content). A bar may link to the page that
lists what it counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

WIDTH, HEIGHT = 640, 220
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 56, 28, 12


@dataclass(frozen=True, slots=True)
class Point:
    label: str  # the category (a day, a payment method)
    value: Decimal
    link: str | None = None  # a page listing what the bar counts: the bar links there


def _text(value: Decimal) -> str:
    return f"{value:f}"


def _scale_top(largest: Decimal) -> Decimal:
    """A round upper end of the axis at or above ``largest`` (1, 2 or 5 times a power of 10)."""
    if largest <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** (largest.adjusted())
    for step in (1, 2, 5, 10):
        top = magnitude * step
        if top >= largest:
            return top
    return magnitude * 10


def bar_chart(
    chart_id: str, caption: str, unit: str, points: Sequence[Point], label_every: int = 1
) -> str:
    """The figure's HTML (every text escaped). ``label_every``: label each n-th category on
    the axis (the title and the table name every one)."""
    top = _scale_top(max((p.value for p in points), default=Decimal(0)))
    plot_w = WIDTH - MARGIN_LEFT - 8
    plot_h = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    slot = plot_w / max(len(points), 1)
    bars = []
    for i, point in enumerate(points):
        height = float(point.value / top) * plot_h if point.value > 0 else 0.0
        x = MARGIN_LEFT + i * slot + slot * 0.15
        y = MARGIN_TOP + plot_h - height
        tip = f"{point.label}: {_text(point.value)} {unit}"
        bar = (
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{height:.1f}"><title>{escape(tip)}</title></rect>'
        )
        if point.link is not None:
            # For the mouse; keyboards and screen readers use the page's own list of links
            # (inside role="img" a link is neither announced nor meant to be tabbed to).
            bar = f'<a href="{escape(point.link)}" tabindex="-1">{bar}</a>'
        bars.append(bar)
        if i % label_every == 0:
            bars.append(
                f'<text class="tick" x="{x + slot * 0.35:.1f}" y="{HEIGHT - 10}" '
                f'text-anchor="middle">{escape(point.label)}</text>'
            )
    return _figure(
        chart_id, caption, unit, "Category", points, _axis(top, Decimal(0)) + "".join(bars)
    )


@dataclass(frozen=True, slots=True)
class TimePoint:
    """One reading of a line chart: when (its label and its position in seconds from the
    chart's start; the axis is time, so uneven sampling stays uneven) and how much."""

    label: str
    seconds: float
    value: Decimal


def line_chart(chart_id: str, caption: str, unit: str, points: Sequence[TimePoint]) -> str:
    """A line over time with a dot per reading (its ``<title>`` the tooltip), accessible like
    ``bar_chart``: caption, ``data-series``, hidden table. Every text escaped."""
    top = _scale_top(max((p.value for p in points), default=Decimal(0)))
    bottom = min((p.value for p in points), default=Decimal(0))
    low = bottom if bottom < 0 else Decimal(0)
    plot_w = WIDTH - MARGIN_LEFT - 8
    plot_h = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    span = max((p.seconds for p in points), default=0.0) or 1.0
    value_span = float(top - low) or 1.0

    def xy(point: TimePoint) -> tuple[float, float]:
        x = MARGIN_LEFT + point.seconds / span * plot_w
        y = MARGIN_TOP + plot_h - float(point.value - low) / value_span * plot_h
        return x, y

    coords = [xy(p) for p in points]
    marks = []
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        marks.append(f'<polyline class="line" fill="none" points="{path}"/>')
    for point, (x, y) in zip(points, coords, strict=True):
        tip = f"{point.label}: {_text(point.value)} {unit}"
        marks.append(
            f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3">'
            f"<title>{escape(tip)}</title></circle>"
        )
    if points:
        for point in (points[0], points[-1]) if len(points) > 1 else (points[0],):
            x, _ = xy(point)
            marks.append(
                f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 10}" text-anchor="middle">'
                f"{escape(point.label)}</text>"
            )
    return _figure(chart_id, caption, unit, "Time", points, _axis(top, low) + "".join(marks))


def _axis(top: Decimal, low: Decimal) -> str:
    """The base line and the value axis's two labels (its top and its bottom)."""
    plot_h = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    return (
        f'<line class="axis" x1="{MARGIN_LEFT}" y1="{MARGIN_TOP + plot_h}" '
        f'x2="{WIDTH - 8}" y2="{MARGIN_TOP + plot_h}"/>'
        f'<text class="tick" x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP + 4}" text-anchor="end">'
        f"{escape(_text(top))}</text>"
        f'<text class="tick" x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP + plot_h}" '
        f'text-anchor="end">{escape(_text(low))}</text>'
    )


def _figure(
    chart_id: str,
    caption: str,
    unit: str,
    category: str,
    points: Sequence[Point] | Sequence[TimePoint],
    drawing: str,
) -> str:
    """The accessible figure around a chart's drawing: caption, ``data-series`` and the
    hidden table of its points (``category``: the table's first column)."""
    series = json.dumps(
        {"unit": unit, "points": [[p.label, _text(p.value)] for p in points]},
        separators=(",", ":"),
    )
    rows = "".join(
        f'<tr><th scope="row">{escape(p.label)}</th><td>{escape(_text(p.value))}</td></tr>'
        for p in points
    )
    caption_id = f"{chart_id}-caption"
    return (
        f'<figure class="chart" id="{escape(chart_id)}" data-series="{escape(series)}">'
        f'<figcaption id="{caption_id}">{escape(caption)}</figcaption>'
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{caption_id}" '
        f'xmlns="http://www.w3.org/2000/svg">{drawing}</svg>'
        f'<table class="visually-hidden"><caption>{escape(caption)}</caption>'
        f'<thead><tr><th scope="col">{category}</th><th scope="col">{escape(unit)}</th></tr>'
        f"</thead><tbody>{rows}</tbody></table></figure>"
    )
