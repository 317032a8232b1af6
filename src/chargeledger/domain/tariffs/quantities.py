"""Exact quantities for pricing: durations in whole milliseconds, shares of energy on a 1 mWh
grid (issue 11 item 16).

OCPI 2.2.1 states durations in hours (§10.4.8: TIME, PARKING_TIME, RESERVATION_TIME), which is a
repeating decimal for most minute counts: 64 min is 1.0666… h, written to 28 digits. Sums of
such values carry noise in the last digit, and step rounding is a ceiling (§11.4.3): noise just
above a step boundary bills a whole extra step. So a duration becomes a whole number of
milliseconds once, where it enters (a CDR read from OCPI JSON, or the instants of a captured or
planned session), rounded to the nearest millisecond where OCPI hours do not terminate; the
millisecond is the resolution of an OCPI DateTime (§16.2). It travels as an ``int``, sums are
exact, step rounding is an integer ceiling, and it becomes hours again only where OCPI or a
person reads it (:func:`hours_of`).

Energy is a terminating decimal wherever it is measured, but a share of it is not (a quote
spreads 20 kWh over three periods; a register is interpolated between two samples). Shares are
cut from cumulative values on a 1 mWh grid (:func:`wh_at`), so the periods add up exactly to
the energy measured, and the energy step rounding reads the session total on that grid
(:func:`energy_for_steps`), so a partner's 28-digit thirds cannot add a step either.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

MS_PER_SECOND = 1000
MS_PER_HOUR = 3_600_000
_MS = timedelta(milliseconds=1)
_MICROSECOND = timedelta(microseconds=1)
_MICROSECONDS_PER_HOUR = Decimal(3_600_000_000)
_MICROSECONDS_PER_DAY = 86_400_000_000
# The same as a Decimal: an amount divided by it is the same Decimal without converting the
# int for every period priced.
MS_PER_HOUR_DECIMAL = Decimal(MS_PER_HOUR)
WH_GRID = Decimal("0.001")  # 1 mWh
# Longest duration a CDR may state (a year); bounds OCPI input (DESIGN §6).
MAX_DURATION_MS = 366 * 24 * MS_PER_HOUR

# (instant, register in Wh), instants ascending: the energy curve of a session.
Curve = Sequence[tuple[datetime, Decimal]]


def millis_from_hours(hours: Decimal) -> int:
    """OCPI hours as whole milliseconds, the nearest one (half to even) where the hours were
    written as a rounded repeating decimal: ``0.6333333333333333333333333333`` h is 2,280,000
    ms, i.e. 38 min exactly."""
    return int((hours * MS_PER_HOUR).to_integral_value(ROUND_HALF_EVEN))


def hours_of(millis: int) -> Decimal:
    """Milliseconds as OCPI hours: exact where the hours terminate, else correct to the
    context's 28 digits, which read back (:func:`millis_from_hours`) to the same ms.
    (``int / Decimal`` is ``Decimal(int) / Decimal``, without the constructor's call.)"""
    return millis / MS_PER_HOUR_DECIMAL


def hours_between(begin: datetime, end: datetime) -> Decimal:
    """The exact time from ``begin`` to ``end`` in hours (to the microsecond, no float). The
    microseconds are read from the timedelta's fields: ``// timedelta(microseconds=1)``
    costs twice as much, and every priced CDR states its duration."""
    span = end - begin
    micros = span.days * _MICROSECONDS_PER_DAY + span.seconds * 1_000_000 + span.microseconds
    return micros / _MICROSECONDS_PER_HOUR


def millis_between(begin: datetime, end: datetime) -> int:
    """Whole milliseconds from ``begin`` to ``end``; instants of CDRs we build lie on the ms
    grid (:func:`floor_ms`), so this is exact for them."""
    return (end - begin) // _MS


def floor_ms(moment: datetime) -> datetime:
    """``moment`` without its sub-millisecond part, as an OCPI DateTime writes it (§16.2)."""
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def ceil_ms(moment: datetime) -> datetime:
    """The first instant on the millisecond grid at or after ``moment``."""
    floor = floor_ms(moment)
    return floor if floor == moment else floor + _MS


def round_ms(span: timedelta) -> timedelta:
    """A planned duration to the nearest millisecond (half to even)."""
    return timedelta(milliseconds=round(span / _MS))


def energy_for_steps(kwh: Decimal) -> Decimal:
    """A session's energy total in Wh as step rounding reads it (§11.4.3, step_size in Wh): on
    the 1 mWh grid, so representation noise far below a meter's resolution cannot cross a
    step boundary."""
    return (kwh * 1000).quantize(WH_GRID, ROUND_HALF_EVEN)


def steps_up(total: int, step: int) -> int:
    """``total`` rounded up to a whole number of ``step`` (both integers; step > 0)."""
    return -(-total // step) * step


def wh_at(curve: Curve, instant: datetime) -> Decimal:
    """The register at ``instant``, linear between the curve's points. Points are returned
    exactly; anything between lies on the 1 mWh grid, so energies taken as differences of
    these values add up to the measured total exactly. Before the curve: its first value;
    after it: its last."""
    for (t0, e0), (t1, e1) in itertools.pairwise(curve):
        if t0 <= instant <= t1:
            if instant == t0:
                return e0
            if instant == t1:
                return e1
            share = (e1 - e0) * ((instant - t0) // _MICROSECOND) / ((t1 - t0) // _MICROSECOND)
            return e0 + share.quantize(WH_GRID, ROUND_HALF_EVEN)
    return curve[-1][1] if instant >= curve[-1][0] else curve[0][1]


def crossing(curve: Curve, target: Decimal) -> datetime | None:
    """The first millisecond at which the register reaches ``target`` (Wh), rounded up so that
    a period starting there has reached it; None if it never does."""
    for (t0, e0), (t1, e1) in itertools.pairwise(curve):
        if e0 < target <= e1:
            offset = (target - e0) * ((t1 - t0) // _MICROSECOND) / (e1 - e0)
            reached = t0 + timedelta(microseconds=int(offset.to_integral_value(ROUND_CEILING)))
            return ceil_ms(reached)
    return None
