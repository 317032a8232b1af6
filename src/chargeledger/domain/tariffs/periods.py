"""Charging periods for a planned or running session, split wherever the price could change.

OCPI 2.2.1 §10.4.6: a CDR starts a new charging period whenever a restriction may switch a
different component on. A planned session (a quote: kWh over minutes, then idle minutes) is
cut at every local time-of-day and date boundary of the tariff's restrictions, at every kWh and
duration threshold, and where charging turns into idling; energy is spread evenly over the
charging time, which is what a driver can be told before they start (EU AFIR art. 5).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.tariffs.cdr import Cdr, ChargingPeriod, DimensionType
from chargeledger.domain.tariffs.model import Tariff

HOUR = Decimal(3600)


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
    tariff: Tariff, start: datetime, charge_end: datetime, end: datetime, kwh: Decimal
) -> set[datetime]:
    """Instants where duration or kWh thresholds are crossed (energy grows linearly)."""
    found: set[datetime] = set()
    charge_seconds = Decimal((charge_end - start).total_seconds())
    for element in tariff.elements:
        r = element.restrictions
        if r is None:
            continue
        for seconds in (r.min_duration, r.max_duration):
            if seconds is not None:
                found.add(start + timedelta(seconds=seconds))
        for threshold in (r.min_kwh, r.max_kwh):
            if threshold is not None and 0 < threshold < kwh and charge_seconds > 0:
                offset = charge_seconds * threshold / kwh
                found.add(start + timedelta(microseconds=int(offset * 1_000_000)))
    return {i for i in found if start < i < end}


def planned_cdr(
    tariff: Tariff,
    start: datetime,
    *,
    kwh: Decimal,
    charging: timedelta,
    idle: timedelta,
    time_zone: str,
) -> Cdr:
    """A CDR for a session that charges ``kwh`` over ``charging`` then idles for ``idle``."""
    zone = ZoneInfo(time_zone)
    charge_end = start + charging
    end = charge_end + idle
    cuts = sorted(
        {start, charge_end}
        | local_instants(tariff, start, end, zone)
        | threshold_instants(tariff, start, charge_end, end, kwh)
    )
    charging_seconds = Decimal(charging.total_seconds())
    periods = []
    for begin, finish in zip(cuts, [*cuts[1:], end], strict=True):
        if finish <= begin:
            continue
        hours = Decimal((finish - begin).total_seconds()) / HOUR
        dimensions: tuple[tuple[DimensionType, Decimal], ...]
        if begin < charge_end:
            share = Decimal((finish - begin).total_seconds()) / charging_seconds
            dimensions = ((DimensionType.ENERGY, kwh * share), (DimensionType.TIME, hours))
        else:
            dimensions = ((DimensionType.PARKING_TIME, hours),)
        periods.append(ChargingPeriod(start_date_time=begin, dimensions=dimensions))
    return Cdr(
        start_date_time=start,
        end_date_time=end,
        currency=tariff.currency,
        charging_periods=tuple(periods),
        tariffs=(tariff,),
    )
