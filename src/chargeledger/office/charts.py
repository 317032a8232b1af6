"""Server-rendered SVG bar charts (issue 16): pure functions of the data, no script.

Each chart is an accessible ``<figure>``: a ``<figcaption>``, an SVG with ``role="img"`` and
a ``<title>`` per bar (the browser's tooltip), the series as JSON in ``data-series`` (what
tests read, not pixels) and the same numbers in a visually hidden table for screen readers
(WCAG 2.2 SC 1.1.1: a text alternative for non-text content).
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
        bars.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{height:.1f}"><title>{escape(tip)}</title></rect>'
        )
        if i % label_every == 0:
            bars.append(
                f'<text class="tick" x="{x + slot * 0.35:.1f}" y="{HEIGHT - 10}" '
                f'text-anchor="middle">{escape(point.label)}</text>'
            )
    axis = (
        f'<line class="axis" x1="{MARGIN_LEFT}" y1="{MARGIN_TOP + plot_h}" '
        f'x2="{WIDTH - 8}" y2="{MARGIN_TOP + plot_h}"/>'
        f'<text class="tick" x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP + 4}" text-anchor="end">'
        f"{escape(_text(top))}</text>"
        f'<text class="tick" x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP + plot_h}" '
        f'text-anchor="end">0</text>'
    )
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
        f'xmlns="http://www.w3.org/2000/svg">{axis}{"".join(bars)}</svg>'
        f'<table class="visually-hidden"><caption>{escape(caption)}</caption>'
        f'<thead><tr><th scope="col">Category</th><th scope="col">{escape(unit)}</th></tr>'
        f"</thead><tbody>{rows}</tbody></table></figure>"
    )
