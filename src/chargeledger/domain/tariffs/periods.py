"""Charging periods for a planned or running session, split wherever the price could change.

OCPI 2.2.1 §10.4.6: a CDR starts a new charging period whenever a restriction may switch a
different component on. A planned session (a quote: kWh over minutes, then idle minutes) is
cut at every local time-of-day and date boundary of the tariff's restrictions, at every kWh and
duration threshold, and where charging turns into idling; energy is spread evenly over the
charging time, which is what a driver can be told before they start (EU AFIR art. 5).

The periods are built exactly as :func:`chargeledger.domain.cdrs.session_cdr` builds those of a
captured session (same cuts, the same energy curve helpers, durations in whole milliseconds),
so a quote and the bill of a session that does what the quote assumed are the same price.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.tariffs.cdr import Cdr, ChargingPeriod, DimensionType
from chargeledger.domain.tariffs.model import Tariff
from chargeledger.domain.tariffs.quantities import (
    Curve,
    crossing,
    floor_ms,
    millis_between,
    round_ms,
    wh_at,
)


def local_instants(tariff: Tariff, start: datetime, end: datetime, zone: ZoneInfo) -> set[datetime]:
    """Every instant in [start, end) at which a time-of-day or date restriction can flip."""
    times = {time(0, 0)}
    for element in tariff.elements:
        r = element.restrictions
        if r is not None:
            times.update(t for t in (r.start_time, r.end_time) if t is not None)
    found: set[datetime] = set()
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        for moment in times:
            instant = datetime.combine(day, moment, tzinfo=zone)
            if start < instant < end:
                found.add(instant)
        day += timedelta(days=1)
    return found


def threshold_instants(
    tariff: Tariff, start: datetime, end: datetime, curve: Curve
) -> set[datetime]:
    """Instants in (start, end) where a duration threshold is crossed, or where the energy
    curve (Wh, from the session's first register) first reaches a kWh threshold, on the
    millisecond at or after the crossing (OCPI 2.2.1 §11.4.6 min/max_duration, min/max_kwh)."""
    found: set[datetime] = set()
    origin = curve[0][1]
    for element in tariff.elements:
        r = element.restrictions
        if r is None:
            continue
        for seconds in (r.min_duration, r.max_duration):
            if seconds is not None:
                found.add(start + timedelta(seconds=seconds))
        for kwh in (r.min_kwh, r.max_kwh):
            if kwh is not None:
                reached = crossing(curve, origin + kwh * 1000)
                if reached is not None:
                    found.add(reached)
    return {i for i in found if start < i < end}


def planned_cdr(
    tariff: Tariff,
    start: datetime,
    *,
    kwh: Decimal,
    charging: timedelta,
    idle: timedelta,
    time_zone: str,
    power_kw: Decimal | None = None,
) -> Cdr:
    """A CDR for a session that charges ``kwh`` over ``charging`` then idles for ``idle``
    (start and durations taken to the millisecond). ``power_kw``: the power it charges at,
    a POWER dimension of every charging period (OCPI 2.2.1 §10.4.7) so that elements
    restricted to a power band (§11.4.6 min/max_power) can be tried; none: no power known."""
    zone = ZoneInfo(time_zone)
    start = floor_ms(start)
    charge_end = start + round_ms(charging)
    end = charge_end + round_ms(idle)
    curve = [(start, Decimal(0)), (charge_end, kwh * 1000)]
    cuts = sorted(
        {start, charge_end}
        | local_instants(tariff, start, end, zone)
        | threshold_instants(tariff, start, end, curve)
    )
    periods = []
    for begin, finish in zip(cuts, [*cuts[1:], end], strict=True):
        if finish <= begin:
            continue
        millis = millis_between(begin, finish)
        if begin < charge_end:
            energy = (wh_at(curve, finish) - wh_at(curve, begin)) / 1000
            power = () if power_kw is None else ((DimensionType.POWER, power_kw),)
            period = ChargingPeriod(
                start_date_time=begin,
                dimensions=((DimensionType.ENERGY, energy), *power),
                durations=((DimensionType.TIME, millis),),
            )
        else:
            period = ChargingPeriod(
                start_date_time=begin,
                dimensions=(),
                durations=((DimensionType.PARKING_TIME, millis),),
            )
        periods.append(period)
    return Cdr(
        start_date_time=start,
        end_date_time=end,
        currency=tariff.currency,
        charging_periods=tuple(periods),
        tariffs=(tariff,),
    )
