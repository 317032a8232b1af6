"""Whether a tariff element applies to a charging period (OCPI 2.2.1 §11.4.6).

All restrictions of an element must hold (they are ANDed). Time, date and weekday are read in
the location's local time at the period's start; lower bounds are inclusive, upper bounds
exclusive; a time window whose end is before its start wraps past midnight, and an end_time of
00:00 means the end of the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal

from chargeledger.domain.tariffs.cdr import ChargingPeriod, DimensionType
from chargeledger.domain.tariffs.model import DayOfWeek, Restrictions

_WEEKDAYS = tuple(DayOfWeek)  # Monday first, as datetime.weekday()


@dataclass(frozen=True, slots=True)
class PeriodContext:
    """What the restrictions are tested against for one period."""

    local_start: datetime  # the period's start in the location's time zone
    kwh_before: Decimal  # energy of the session before this period
    seconds_since_start: Decimal  # time since the session started (parking included)
    period: ChargingPeriod


def _in_window(moment: time, start: time | None, end: time | None) -> bool:
    midnight = time(0, 0)
    if start is not None and end is not None and end != midnight and end < start:
        return moment >= start or moment < end  # wraps past midnight
    if start is not None and moment < start:
        return False
    return end is None or end == midnight or moment < end


def _at_least(value: Decimal | None, bound: Decimal | None) -> bool:
    return bound is None or value is None or value >= bound


def _below(value: Decimal | None, bound: Decimal | None) -> bool:
    return bound is None or value is None or value < bound


def applies(restrictions: Restrictions | None, context: PeriodContext) -> bool:
    """True when every restriction holds for the period. Reservation restrictions are handled
    by the pricing of reservation time, not here."""
    if restrictions is None:
        return True
    r, local, period = restrictions, context.local_start, context.period
    if not _in_window(local.time(), r.start_time, r.end_time):
        return False
    day = local.date()
    if (r.start_date is not None and day < r.start_date) or (
        r.end_date is not None and day >= r.end_date
    ):
        return False
    if r.day_of_week is not None and _WEEKDAYS[local.weekday()] not in r.day_of_week:
        return False
    if not (_at_least(context.kwh_before, r.min_kwh) and _below(context.kwh_before, r.max_kwh)):
        return False
    duration = context.seconds_since_start
    min_duration = None if r.min_duration is None else Decimal(r.min_duration)
    max_duration = None if r.max_duration is None else Decimal(r.max_duration)
    if not (_at_least(duration, min_duration) and _below(duration, max_duration)):
        return False
    # The period's lowest current/power is held against the minimum and its highest against
    # the maximum; a plain CURRENT/POWER stands for both; a missing one does not restrict.
    min_current = _either(period, DimensionType.MIN_CURRENT, DimensionType.CURRENT)
    max_current = _either(period, DimensionType.MAX_CURRENT, DimensionType.CURRENT)
    if not (_at_least(min_current, r.min_current) and _below(max_current, r.max_current)):
        return False
    min_power = _either(period, DimensionType.MIN_POWER, DimensionType.POWER)
    max_power = _either(period, DimensionType.MAX_POWER, DimensionType.POWER)
    return _at_least(min_power, r.min_power) and _below(max_power, r.max_power)


def _either(period: ChargingPeriod, first: DimensionType, second: DimensionType) -> Decimal | None:
    value = period.volume(first)
    return period.volume(second) if value is None else value
