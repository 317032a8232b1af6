"""The meter chart of an evidence pack: energy delivered and power over the session, drawn
with fpdf2 lines so the PDF stays the same bytes whenever it is rendered (no raster image, no
plotting library, nothing from the clock).

Energy is what the register counted since the session's first reading (kWh, left axis),
power the active import power the station reported (kW, right axis), time in UTC along the
bottom. Coordinates are floats: they place ink on paper, they are no figures of the pack.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from fpdf import FPDF

from chargeledger.adapters.documents.printing import FONT
from chargeledger.domain.evidence import WH_PER_KWH, MeterPoint
from chargeledger.domain.text import plain_number

ENERGY_COLOUR = (31, 97, 170)
POWER_COLOUR = (214, 110, 20)
AXIS_COLOUR = (60, 60, 60)
GRID_COLOUR = (222, 222, 222)
TICKS = 5


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 or 10 times a power of ten that is at least ``value``
    (at least 1 for nothing), so the axis ticks read as round numbers."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        candidate = step.scaleb(exponent)
        if candidate >= value:
            return candidate
    return Decimal(10).scaleb(exponent)  # pragma: no cover - 10 × 10^e always is


def _time_label(moment: datetime, span: timedelta) -> str:
    return moment.strftime("%m-%d %H:%M" if span > timedelta(hours=20) else "%H:%M")


def meter_chart(
    pdf: FPDF, series: Sequence[MeterPoint], x: float, y: float, w: float, h: float
) -> None:
    """Draw the chart of ``series`` in the box at (``x``, ``y``) of ``w`` × ``h`` mm (axes,
    labels and legend included)."""
    left, right, top, bottom = x + 14, x + w - 14, y + 8, y + h - 10
    energies = [p for p in series if p.energy_wh is not None]
    powers = [p for p in series if p.power_w is not None]
    start = series[0].time
    span = max(series[-1].time - start, timedelta(minutes=1))
    base = energies[0].energy_wh if energies else None
    delivered = [
        (p.time, (p.energy_wh - base) / WH_PER_KWH)
        for p in energies
        if p.energy_wh is not None and base is not None
    ]
    kilowatts = [(p.time, p.power_w / WH_PER_KWH) for p in powers if p.power_w is not None]
    energy_top = nice_ceiling(max((v for _, v in delivered), default=Decimal(0)))
    power_top = nice_ceiling(max((v for _, v in kilowatts), default=Decimal(0)))

    def at_x(moment: datetime) -> float:
        return left + (right - left) * ((moment - start) / span)

    def at_y(value: Decimal, top_value: Decimal) -> float:
        return bottom - (bottom - top) * float(value / top_value)

    pdf.set_line_width(0.15)
    pdf.set_font(FONT, size=6.5)
    for tick in range(TICKS + 1):
        level = bottom - (bottom - top) * tick / TICKS
        pdf.set_draw_color(*GRID_COLOUR)
        pdf.line(left, level, right, level)
        pdf.set_text_color(*ENERGY_COLOUR)
        pdf.text(x, level + 1, plain_number(energy_top * tick / TICKS, 3))
        pdf.set_text_color(*POWER_COLOUR)
        pdf.text(right + 1.5, level + 1, plain_number(power_top * tick / TICKS, 3))
        moment = start + span * tick / TICKS
        pdf.set_text_color(*AXIS_COLOUR)
        label = _time_label(moment, span)
        pdf.text(at_x(moment) - pdf.get_string_width(label) / 2, bottom + 4, label)
    pdf.set_draw_color(*AXIS_COLOUR)
    pdf.set_line_width(0.3)
    pdf.line(left, bottom, right, bottom)
    pdf.line(left, top, left, bottom)
    pdf.line(right, top, right, bottom)
    _labels(pdf, x, y, w, h, bottom)
    _polyline(pdf, [(at_x(t), at_y(v, energy_top)) for t, v in delivered], ENERGY_COLOUR)
    _polyline(pdf, [(at_x(t), at_y(v, power_top)) for t, v in kilowatts], POWER_COLOUR)
    pdf.set_draw_color(0)
    pdf.set_fill_color(255)
    pdf.set_text_color(0)
    pdf.set_line_width(0.2)


def _labels(pdf: FPDF, x: float, y: float, w: float, h: float, bottom: float) -> None:
    pdf.set_font(FONT, "B", 7)
    pdf.set_text_color(*ENERGY_COLOUR)
    pdf.text(x, y + 4, "Energy delivered (kWh)")
    pdf.set_text_color(*POWER_COLOUR)
    label = "Power (kW)"
    pdf.text(x + w - pdf.get_string_width(label), y + 4, label)
    pdf.set_text_color(*AXIS_COLOUR)
    label = "Time (UTC, station clock)"
    pdf.text(x + (w - pdf.get_string_width(label)) / 2, bottom + 8.5, label)


def _polyline(pdf: FPDF, points: list[tuple[float, float]], colour: tuple[int, int, int]) -> None:
    """The series as connected segments with a dot on each reading (one reading: a dot)."""
    pdf.set_draw_color(*colour)
    pdf.set_fill_color(*colour)
    pdf.set_line_width(0.45)
    for (x1, y1), (x2, y2) in itertools.pairwise(points):
        pdf.line(x1, y1, x2, y2)
    for px, py in points:
        pdf.circle(px, py, 0.5, style="F")
