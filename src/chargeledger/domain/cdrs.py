"""Turning a captured session into OCPI charging periods (issue 4: CDR building).

Periods are cut at every instant where the price could change: where the car switches between
charging and idling, at the tariff's local time-of-day and date boundaries, where the session
crosses a duration or kWh threshold, and where power or current crosses a tariff's band. Energy
per period comes from the meter register, interpolated linearly between samples on a 1 mWh grid,
so the periods add up exactly to the billed energy. Every instant is taken to the millisecond
(as an OCPI DateTime is written) and durations are whole milliseconds, so they add up exactly to
the session and step rounding cannot bill noise (issue 11 item 16, see
:mod:`chargeledger.domain.tariffs.quantities`). A quote builds its periods the same way
(:func:`chargeledger.domain.tariffs.periods.planned_cdr`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
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
from chargeledger.domain.reservations import reservation_period
from chargeledger.domain.tariffs.cdr import Cdr, ChargingPeriod, DimensionType
from chargeledger.domain.tariffs.model import Tariff
from chargeledger.domain.tariffs.periods import local_instants, threshold_instants
from chargeledger.domain.tariffs.quantities import floor_ms, millis_between, wh_at
from chargeledger.errors import ConflictError


def _register_curve(
    session: Session, samples: Sequence[MeterSample]
) -> list[tuple[datetime, Decimal]]:
    """(time, Wh) points from the billed start to the billed stop (to the millisecond, as the
    CDR's), samples in between."""
    assert session.stopped_at is not None
    stop = session.billed_meter_stop_wh
    assert stop is not None
    start = session.billed_meter_start_wh
    begins, ends = floor_ms(session.started_at), floor_ms(session.stopped_at)
    inner = [
        (at, min(max(wh, start), stop))
        for at, wh in registers_in_order(samples)
        if begins < at < ends
    ]
    points = [(begins, start), *inner, (ends, stop)]
    # A register never runs backwards in what we bill (quarantine deals with meters that do).
    level = start
    monotone = []
    for at, wh in points:
        level = max(level, wh)
        monotone.append((at, level))
    monotone[-1] = (ends, stop)
    return monotone


def _state_at(changes: Sequence[StateChange], instant: datetime) -> ChargingState:
    state = ChargingState.CHARGING
    for change in changes:
        if floor_ms(change.timestamp) <= instant:
            state = change.state
    return state


_PHASES = ("L1", "L2", "L3")


def _band_steps(
    samples: Sequence[MeterSample], measurand: Measurand
) -> list[tuple[datetime, Decimal]]:
    """Total import power in kW, or current in A summed over the phases (OCPI 2.2.1 §11.4.6
    min_current: "sum of the current over all phases"), as a step function: each reading
    holds until the next. A reading without a phase is the total; phased readings of one
    instant are added up."""
    totals: dict[datetime, Decimal] = {}
    phased: dict[datetime, Decimal] = {}
    for s in samples:
        if s.measurand is not measurand:
            continue
        value = s.value / 1000 if s.unit in ("W", "mA") else s.value
        at = floor_ms(s.timestamp)
        if s.phase in (None, ""):
            totals[at] = value
        elif s.phase in _PHASES:
            phased[at] = phased.get(at, Decimal(0)) + value
    merged = {**phased, **totals}
    return sorted(merged.items())


def _band_cuts(bounds: set[Decimal], steps: list[tuple[datetime, Decimal]]) -> set[datetime]:
    """Where the value crosses one of ``bounds``: a new period starts there, as the CPO must
    start one when a value a restriction reads changes (OCPI 2.2.1 §10.4.6, §11.4.6)."""
    return {
        at
        for (_, before), (at, after) in itertools.pairwise(steps)
        if any((before < bound) != (after < bound) for bound in bounds)
    }


def _bounds(tariff: Tariff, kind: Measurand) -> set[Decimal]:
    found: set[Decimal] = set()
    for element in tariff.elements:
        r = element.restrictions
        if r is None:
            continue
        pair = (
            (r.min_power, r.max_power)
            if kind is Measurand.POWER_IMPORT
            else (r.min_current, r.max_current)
        )
        found |= {bound for bound in pair if bound is not None}
    return found


def _band_dimensions(
    steps: list[tuple[datetime, Decimal]],
    begin: datetime,
    end: datetime,
    kinds: tuple[DimensionType, DimensionType],
) -> tuple[tuple[DimensionType, Decimal], ...]:
    """The lowest and highest value held during [begin, end) (§10.4.7 MIN_/MAX_ dimensions)."""
    held = [value for at, value in steps if at <= begin][-1:]
    within = [value for at, value in steps if begin < at < end]
    values = held + within
    if not values:
        return ()
    return ((kinds[0], min(values)), (kinds[1], max(values)))


_BANDS = (
    (Measurand.POWER_IMPORT, (DimensionType.MIN_POWER, DimensionType.MAX_POWER)),
    (Measurand.CURRENT_IMPORT, (DimensionType.MIN_CURRENT, DimensionType.MAX_CURRENT)),
)


def session_cdr(
    session: Session,
    samples: Sequence[MeterSample],
    changes: Sequence[StateChange],
    tariff: Tariff,
    time_zone: str,
    reserved: timedelta = timedelta(0),
) -> Cdr:
    """The OCPI charging periods of a closed session under ``tariff``; after a reservation
    that held the EVSE for ``reserved`` they begin with that reservation time (OCPI 2.2.1
    §10.4.1: the CDR then starts at the reservation's start)."""
    return _after_reservation(
        _charging_cdr(session, samples, changes, tariff, time_zone), reserved, tariff
    )


def _after_reservation(cdr: Cdr, reserved: timedelta, tariff: Tariff) -> Cdr:
    since = cdr.start_date_time - reserved
    if floor_ms(since) >= cdr.start_date_time:
        return cdr
    period = replace(reservation_period(since, cdr.start_date_time), tariff_id=tariff.id)
    return replace(
        cdr,
        start_date_time=period.start_date_time,
        charging_periods=(period, *cdr.charging_periods),
    )


def _charging_cdr(
    session: Session,
    samples: Sequence[MeterSample],
    changes: Sequence[StateChange],
    tariff: Tariff,
    time_zone: str,
) -> Cdr:
    if session.stopped_at is None or session.billed_meter_stop_wh is None:
        raise ConflictError("only a closed session has a CDR", code="session_open")
    if session.billed_meter_stop_wh < session.billed_meter_start_wh:
        # A register that ran backwards is quarantined, never priced (a negative price).
        raise ConflictError("the session's readings give negative energy", code="negative_energy")
    start = floor_ms(session.started_at)
    stop = max(floor_ms(session.stopped_at), start)
    curve = _register_curve(session, samples)
    if stop == start:
        return _instant_cdr(session, curve, tariff)
    ordered = sorted(changes, key=lambda c: c.timestamp)
    cuts = {start} | {floor_ms(c.timestamp) for c in ordered if start < c.timestamp < stop}
    cuts |= local_instants(tariff, start, stop, ZoneInfo(time_zone))
    cuts |= threshold_instants(tariff, start, stop, curve)
    bands = []
    for measurand, kinds in _BANDS:
        steps = _band_steps(samples, measurand)
        cuts |= {c for c in _band_cuts(_bounds(tariff, measurand), steps) if start < c < stop}
        bands.append((steps, kinds))
    bounds = sorted(c for c in cuts if start <= c < stop)
    periods = []
    for begin, end in zip(bounds, [*bounds[1:], stop], strict=True):
        kwh = (wh_at(curve, end) - wh_at(curve, begin)) / 1000
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
                    *(
                        dimension
                        for steps, kinds in bands
                        for dimension in _band_dimensions(steps, begin, end, kinds)
                    ),
                ),
                tariff_id=tariff.id,
                durations=((kind, millis_between(begin, end)),),
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


def _instant_cdr(session: Session, curve: list[tuple[datetime, Decimal]], tariff: Tariff) -> Cdr:
    """A session that stopped the instant it started (a stop that never came and no sample
    after the start: the sweep closes it at its start) still has what it delivered: one
    period of no time holding its energy, so a released one can be priced like any other."""
    start = floor_ms(session.started_at)
    period = ChargingPeriod(
        start_date_time=start,
        dimensions=((DimensionType.ENERGY, (curve[-1][1] - curve[0][1]) / 1000),),
        tariff_id=tariff.id,
        durations=((DimensionType.TIME, 0),),
    )
    return Cdr(
        start_date_time=start,
        end_date_time=start,
        currency=tariff.currency,
        charging_periods=(period,),
        tariffs=(tariff,),
        id=str(session.id),
    )
