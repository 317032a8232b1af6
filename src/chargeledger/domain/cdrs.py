"""Turning a captured session into OCPI charging periods (issue 4: CDR building).

Periods are cut at every instant where the price could change: where the car switches between
charging and idling, at the tariff's local time-of-day and date boundaries, and where the
session crosses a duration or kWh threshold. Energy per period comes from the meter register,
interpolated linearly between samples, so the periods add up exactly to the billed energy.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.charging import (
    ChargingState,
    Measurand,
    MeterSample,
    Session,
    StateChange,
)
from chargeledger.domain.meter_checks import registers_in_order
from chargeledger.domain.tariffs.cdr import Cdr, ChargingPeriod, DimensionType
from chargeledger.domain.tariffs.model import Tariff
from chargeledger.domain.tariffs.periods import local_instants
from chargeledger.errors import ConflictError

HOUR = Decimal(3600)


def _register_curve(
    session: Session, samples: Sequence[MeterSample]
) -> list[tuple[datetime, Decimal]]:
    """(time, Wh) points from the billed start to the billed stop, samples in between."""
    assert session.stopped_at is not None
    stop = session.billed_meter_stop_wh
    assert stop is not None
    start = session.billed_meter_start_wh
    inner = [
        (at, min(max(wh, start), stop))
        for at, wh in registers_in_order(samples)
        if session.started_at < at < session.stopped_at
    ]
    points = [(session.started_at, start), *inner, (session.stopped_at, stop)]
    # A register never runs backwards in what we bill (quarantine deals with meters that do).
    level = start
    monotone = []
    for at, wh in points:
        level = max(level, wh)
        monotone.append((at, level))
    monotone[-1] = (session.stopped_at, stop)
    return monotone


def _wh_at(curve: list[tuple[datetime, Decimal]], instant: datetime) -> Decimal:
    for (t0, e0), (t1, e1) in itertools.pairwise(curve):
        if t0 <= instant <= t1:
            if t1 == t0:
                return e1
            fraction = Decimal((instant - t0).total_seconds()) / Decimal((t1 - t0).total_seconds())
            return e0 + (e1 - e0) * fraction
    return curve[-1][1] if instant >= curve[-1][0] else curve[0][1]


def _state_at(changes: Sequence[StateChange], instant: datetime) -> ChargingState:
    state = ChargingState.CHARGING
    for change in changes:
        if change.timestamp <= instant:
            state = change.state
    return state


def _threshold_cuts(
    tariff: Tariff, session: Session, curve: list[tuple[datetime, Decimal]]
) -> set[datetime]:
    cuts: set[datetime] = set()
    start_wh = curve[0][1]
    for element in tariff.elements:
        r = element.restrictions
        if r is None:
            continue
        for seconds in (r.min_duration, r.max_duration):
            if seconds is not None:
                cuts.add(session.started_at + timedelta(seconds=seconds))
        for kwh in (r.min_kwh, r.max_kwh):
            if kwh is None:
                continue
            target = start_wh + kwh * 1000
            for (t0, e0), (t1, e1) in itertools.pairwise(curve):
                if e0 < target <= e1:
                    span = Decimal((t1 - t0).total_seconds())
                    seconds_in = span * (target - e0) / (e1 - e0)
                    cuts.add(t0 + timedelta(microseconds=int(seconds_in * 1_000_000)))
                    break
    return cuts


def _power_steps(samples: Sequence[MeterSample]) -> list[tuple[datetime, Decimal]]:
    """Total import power in kW as a step function: each reading holds until the next."""
    steps = [
        (s.timestamp, s.value / 1000 if s.unit == "W" else s.value)
        for s in samples
        if s.measurand is Measurand.POWER_IMPORT and s.phase in (None, "")
    ]
    return sorted(steps, key=lambda step: step[0])


def _power_cuts(tariff: Tariff, steps: list[tuple[datetime, Decimal]]) -> set[datetime]:
    """Where the power crosses a min_power/max_power bound of the tariff (OCPI 2.2.1
    §11.4.6): a new period starts there, as the CPO must start one (§10.4.6)."""
    bounds = {
        bound
        for element in tariff.elements
        if element.restrictions is not None
        for bound in (element.restrictions.min_power, element.restrictions.max_power)
        if bound is not None
    }
    return {
        at
        for (_, before), (at, after) in itertools.pairwise(steps)
        if any((before < bound) != (after < bound) for bound in bounds)
    }


def _power_dimensions(
    steps: list[tuple[datetime, Decimal]], begin: datetime, end: datetime
) -> tuple[tuple[DimensionType, Decimal], ...]:
    held = [kw for at, kw in steps if at <= begin][-1:]
    within = [kw for at, kw in steps if begin < at < end]
    values = held + within
    if not values:
        return ()
    return ((DimensionType.MIN_POWER, min(values)), (DimensionType.MAX_POWER, max(values)))


def session_cdr(
    session: Session,
    samples: Sequence[MeterSample],
    changes: Sequence[StateChange],
    tariff: Tariff,
    time_zone: str,
) -> Cdr:
    """The OCPI charging periods of a closed session under ``tariff``."""
    if session.stopped_at is None or session.billed_meter_stop_wh is None:
        raise ConflictError("only a closed session has a CDR", code="session_open")
    start, stop = session.started_at, session.stopped_at
    curve = _register_curve(session, samples)
    ordered = sorted(changes, key=lambda c: c.timestamp)
    cuts = {start} | {c.timestamp for c in ordered if start < c.timestamp < stop}
    cuts |= local_instants(tariff, start, stop, ZoneInfo(time_zone))
    cuts |= {c for c in _threshold_cuts(tariff, session, curve) if start < c < stop}
    power = _power_steps(samples)
    cuts |= {c for c in _power_cuts(tariff, power) if start < c < stop}
    bounds = sorted(cuts)
    periods = []
    for begin, end in zip(bounds, [*bounds[1:], stop], strict=True):
        if end <= begin:
            continue
        hours = Decimal((end - begin).total_seconds()) / HOUR
        kwh = (_wh_at(curve, end) - _wh_at(curve, begin)) / 1000
        kind = (
            DimensionType.TIME
            if _state_at(ordered, begin) is ChargingState.CHARGING
            else DimensionType.PARKING_TIME
        )
        periods.append(
            ChargingPeriod(
                start_date_time=begin,
                dimensions=(
                    (DimensionType.ENERGY, kwh),
                    (kind, hours),
                    *_power_dimensions(power, begin, end),
                ),
                tariff_id=tariff.id,
            )
        )
    return Cdr(
        start_date_time=start,
        end_date_time=stop,
        currency=tariff.currency,
        charging_periods=tuple(periods),
        tariffs=(tariff,),
        id=str(session.id),
    )
