"""The back office's SVG charts and theme (issue 16): data readable from the markup, and the
theme's text/background pairs meeting WCAG 2.2 SC 1.4.3 (contrast at least 4.5:1)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from html import unescape
from importlib import resources

import pytest

from chargeledger.office.charts import Point, TimePoint, _scale_top, bar_chart, line_chart

POINTS = [Point("2026-01-01", Decimal("10.45")), Point("<b>", Decimal("0"))]


def test_a_chart_carries_its_data_titles_and_a_table() -> None:
    html = bar_chart("c1", "Net revenue by day (EUR)", "EUR", POINTS)
    assert html.startswith('<figure class="chart" id="c1" data-series="')
    series = json.loads(unescape(re.search(r'data-series="([^"]*)"', html).group(1)))  # type: ignore[union-attr]
    assert series == {"unit": "EUR", "points": [["2026-01-01", "10.45"], ["<b>", "0"]]}
    assert '<figcaption id="c1-caption">Net revenue by day (EUR)</figcaption>' in html
    assert 'role="img" aria-labelledby="c1-caption"' in html
    assert html.count("<title>") == 2
    assert "<title>2026-01-01: 10.45 EUR</title>" in html
    assert "<b>" not in html  # every label escaped
    assert '<th scope="row">&lt;b&gt;</th><td>0</td>' in html


def test_the_tallest_bar_fills_a_round_axis() -> None:
    assert _scale_top(Decimal("10.45")) == Decimal(20)
    assert _scale_top(Decimal("70")) == Decimal(100)
    assert _scale_top(Decimal("0")) == Decimal(1)
    html = bar_chart("c", "x", "kWh", [Point("a", Decimal(5)), Point("b", Decimal(10))])
    heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([0-9.]+)"', html)]
    assert heights[1] == pytest.approx(2 * heights[0])


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2.2 contrast ratio (relative luminance, sRGB)."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


PAIRS = [  # (text, background) as the stylesheet uses them
    ("--text", "--background"),
    ("--muted-text", "--background"),
    ("--text", "--tile-background"),
    ("--muted-text", "--tile-background"),
    ("--bar-text", "--bar-background"),
    ("--bar-background", "--background"),  # the buttons in the top bar
    ("--error-text", "--error-background"),
    ("--link", "--background"),
    ("--link", "--tile-background"),
]


def test_the_theme_has_enough_contrast() -> None:
    css = resources.files("chargeledger.office").joinpath("static", "office.css").read_text()
    colours = dict(re.findall(r"(--[a-z-]+):\s*(#[0-9a-fA-F]{6})\s*;", css))
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    for text, background in PAIRS:
        ratio = contrast(colours[text], colours[background])
        assert ratio >= 4.5, (text, background, round(ratio, 2))


def _series(html: str) -> object:
    return json.loads(unescape(re.search(r'data-series="([^"]*)"', html).group(1)))  # type: ignore[union-attr]


def test_a_line_chart_places_readings_on_a_time_axis() -> None:
    points = [
        TimePoint("10:00", 0, Decimal("0")),
        TimePoint("10:10", 600, Decimal("2.5")),
        TimePoint("<i>", 1800, Decimal("7.5")),
    ]
    html = line_chart("m1", "Energy (kWh)", "kWh", points)
    assert _series(html) == {
        "unit": "kWh",
        "points": [["10:00", "0"], ["10:10", "2.5"], ["<i>", "7.5"]],
    }
    assert html.count("<circle") == 3
    assert "<title>10:10: 2.5 kWh</title>" in html
    # x follows the seconds (uneven sampling stays uneven), y the value on a 0-10 axis
    coords = re.findall(r'cx="([0-9.]+)" cy="([0-9.]+)"', html)
    xs = [float(x) for x, _ in coords]
    assert xs[1] - xs[0] == pytest.approx((xs[2] - xs[0]) / 3, abs=0.2)
    ys = [float(y) for _, y in coords]
    assert ys[0] > ys[1] > ys[2]
    assert '<polyline class="line"' in html
    assert "<i>" not in html
    assert '<th scope="row">&lt;i&gt;</th><td>7.5</td>' in html


def test_a_line_chart_of_one_reading_or_none() -> None:
    one = line_chart("m2", "Power (kW)", "kW", [TimePoint("10:00", 0, Decimal("11"))])
    assert "<polyline" not in one
    assert one.count("<circle") == 1
    empty = line_chart("m3", "Power (kW)", "kW", [])
    assert _series(empty) == {"unit": "kW", "points": []}
