"""Which element prices each dimension of each period of a CDR (OCPI 2.2.1 §11.4.6): the walk
over the periods that ``price`` starts with.

For every charging period and every dimension the first element (in list order) that has a
component of that dimension and whose restrictions all hold at the period's start prices it
(the note ``ocpi-tariff-rules.md`` §3); FLAT once per session; reservation time by the
elements restricted to reservations (§11.4.5). Each priced use becomes a :class:`PricedUse`,
kept per category in period order in a :class:`SessionUses`, with each category's running
sums, so that ``price`` needs no second pass for its totals. Where each period starts in local
time comes from :mod:`.local_week`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from chargeledger.domain.tariffs.cdr import ChargingPeriod, DimensionType
from chargeledger.domain.tariffs.local_week import local_starts_of, picks_in_week, zone_named
from chargeledger.domain.tariffs.model import ComponentType, ReservationRestriction
from chargeledger.domain.tariffs.plan import Candidate, Electrical, Picks, TariffPlan
from chargeledger.domain.tariffs.priced import (
    ONE,
    PricedUse,
    Sums,
    Volume,
    duration_use,
    flat_use,
)
from chargeledger.domain.tariffs.quantities import MS_PER_HOUR_DECIMAL
from chargeledger.errors import InvalidInputError
from chargeledger.money import ZERO

_ENERGY = DimensionType.ENERGY
_TIME = DimensionType.TIME
_PARKING = DimensionType.PARKING_TIME
_RESERVATION = DimensionType.RESERVATION_TIME
_new_tuple = tuple.__new__


class SessionUses(NamedTuple):
    """Every dimension of every period with the element that prices it, per category in
    period order; the cost steps add their rounding line at the end of their category. Also
    the session's totals: ``kwh`` (restrictions read it at each period's start, §11.4.6),
    ``parking_ms``, and ``parking_priced``: some parking time was priced, so TIME is not
    step-rounded (the paid parking is). A named tuple, made once at the end of the walk: the
    cheapest record to make for every CDR.

    ``energy_sums``, ``time_sums`` and ``parking_sums`` are each category's running sums,
    taken in the walk so that the totals need no second pass over the uses: (excl_vat,
    incl_vat, paid volume, last paid use), in the order and with the Decimal operations a
    pass over the uses would make; the last paid use is None where nothing was paid (the
    step rounding then reads all the volume, :func:`delivered`)."""

    energy: list[PricedUse[Decimal]]
    time: list[PricedUse[int]]
    parking: list[PricedUse[int]]
    fixed: list[PricedUse[Decimal]]
    reservation_time: list[PricedUse[int]]
    reservation_flat: list[PricedUse[Decimal]]
    kwh: Decimal
    parking_ms: int
    parking_priced: bool
    energy_sums: Sums[Decimal]
    time_sums: Sums[int]
    parking_sums: Sums[int]


def _paid(uses: list[PricedUse[Volume]], nothing: Volume) -> Volume:
    """The volume of a category's uses priced above zero, summed in period order."""
    total = nothing
    for use in uses:
        if use[0] > nothing and use[1].paid:
            total += use[0]
    return total


def delivered(uses: list[PricedUse[Volume]], nothing: Volume) -> Volume:
    """All the volume of a category's uses (those above nothing), summed in period order."""
    total = nothing
    for use in uses:
        if use[0] > nothing:
            total += use[0]
    return total


def priced_uses(
    periods: tuple[ChargingPeriod, ...], plan: TariffPlan, time_zone: str
) -> SessionUses:
    """Walk the periods in order and price each dimension of each at the first element that
    has a component for it and whose restrictions hold at the period's start (§11.4.6); FLAT
    once per session. Reservation time alone is priced by reservation elements only: the
    charging elements (and their start fee) do not apply before charging begins (§11.4.5).

    Each use's amounts are those of :func:`.priced.energy_use`, :func:`.priced.duration_use`
    and :func:`.priced.flat_use`, written inline and added to the category's running sums as
    they are made: this loop runs for every period of every CDR, and a call, a second pass
    and a tuple unpacked per use were most of its cost."""
    energy_uses: list[PricedUse[Decimal]] = []
    time_uses: list[PricedUse[int]] = []
    parking_uses: list[PricedUse[int]] = []
    fixed_uses: list[PricedUse[Decimal]] = []
    reservation_time: list[PricedUse[int]] = []
    reservation_flat: list[PricedUse[Decimal]] = []
    first = periods[0].start_date_time
    week = plan.week
    week_picks: list[Picks] | None = None
    local_starts = None
    if week is not None and first.tzinfo is not None:
        week_picks = picks_in_week(periods, week, time_zone)
    elif plan.needs_local_time:
        local_starts = local_starts_of(periods, time_zone)
    plan_energy, plan_time, plan_parking = plan.energy, plan.time, plan.parking
    flat_pending = bool(plan.flat)
    needs_electrical, needs_duration = plan.needs_electrical, plan.needs_duration
    electrical: Electrical | None = None
    picks: Picks | None = None
    local = first
    seconds = 0.0
    kwh, parking_ms, parking_priced = ZERO, 0, False
    e_excl = e_incl = ZERO
    e_free = False  # some energy was priced at no cost or by no element
    t_excl = t_incl = p_excl = p_incl = ZERO
    t_paid = p_paid = 0
    e_last: PricedUse[Decimal] | None = None
    t_last: PricedUse[int] | None = None
    p_last: PricedUse[int] | None = None
    for index, period in enumerate(periods):
        energy = charging = parking = reserved = None  # where a kind repeats, the first counts
        for kind, value in period.dimensions:
            if value < ZERO:
                raise _negative_volume(index, kind)
            if kind is _ENERGY and energy is None:
                energy = value
        for kind, millis in period.durations:
            if kind is _TIME:
                if charging is None:
                    charging = millis
            elif kind is _PARKING:
                if parking is None:
                    parking = millis
            elif kind is _RESERVATION and reserved is None:
                reserved = millis
        if needs_electrical:
            electrical = _electrical(period)
        if week_picks is not None:
            picks = week_picks[index]
        elif local_starts is not None:
            local = local_starts[index]
        if needs_duration:
            seconds = (period.start_date_time - first).total_seconds()
        if not reserved or energy or charging or parking:
            if energy and plan_energy:
                found = (
                    _first(plan_energy, local, kwh, seconds, electrical)
                    if picks is None
                    else picks[0]
                )
                if found is not None:
                    excl = energy * found.price
                    vat = found.vat_factor
                    incl = excl if vat is None else excl * vat
                    use: PricedUse[Decimal] = (energy, found, index, excl, incl, None)
                    energy_uses.append(use)
                    e_excl += excl
                    e_incl += incl
                    if found.paid:  # energy is above zero here
                        e_last = use
                    else:
                        e_free = True
                else:
                    e_free = True
            if charging and plan_time:
                found = (
                    _first(plan_time, local, kwh, seconds, electrical)
                    if picks is None
                    else picks[1]
                )
                if found is not None:
                    excl = found.price * charging / MS_PER_HOUR_DECIMAL
                    vat = found.vat_factor
                    incl = excl if vat is None else excl * vat
                    timed: PricedUse[int] = (charging, found, index, excl, incl, None)
                    time_uses.append(timed)
                    t_excl += excl
                    t_incl += incl
                    if charging > 0 and found.paid:
                        t_paid += charging
                        t_last = timed
            if parking and plan_parking:
                found = (
                    _first(plan_parking, local, kwh, seconds, electrical)
                    if picks is None
                    else picks[2]
                )
                if found is not None:
                    excl = found.price * parking / MS_PER_HOUR_DECIMAL
                    vat = found.vat_factor
                    incl = excl if vat is None else excl * vat
                    timed = (parking, found, index, excl, incl, None)
                    parking_uses.append(timed)
                    p_excl += excl
                    p_incl += incl
                    if parking > 0:
                        parking_priced = True
                        if found.paid:
                            p_paid += parking
                            p_last = timed
            if flat_pending:
                found = (
                    _first(plan.flat, local, kwh, seconds, electrical)
                    if picks is None
                    else picks[3]
                )
                if found is not None:
                    vat = found.vat_factor  # flat_use, inline
                    fee = found.price
                    fixed_uses.append(
                        (ONE, found, index, fee, fee if vat is None else fee * vat, None)
                    )
                    flat_pending = False
        if reserved:
            if week_picks is not None:  # reservation elements are not in the week table
                local = period.start_date_time.astimezone(zone_named(time_zone))
            _reserve(
                (reservation_time, reservation_flat),
                plan,
                periods,
                index,
                reserved,
                (local, kwh, seconds, electrical),
            )
        if energy is not None:
            kwh += energy
        if parking is not None:
            parking_ms += parking
    # The paid energy: all of it (kWh summed above, the same value) unless some was free.
    e_paid = _paid(energy_uses, ZERO) if e_free else kwh
    return _new_tuple(
        SessionUses,
        (
            energy_uses,
            time_uses,
            parking_uses,
            fixed_uses,
            reservation_time,
            reservation_flat,
            kwh,
            parking_ms,
            parking_priced,
            (e_excl, e_incl, e_paid, e_last),
            (t_excl, t_incl, t_paid, t_last),
            (p_excl, p_incl, p_paid, p_last),
        ),
    )


def _negative_volume(index: int, kind: DimensionType) -> InvalidInputError:
    """OCPI 2.2.1 §10.4.7: volumes are quantities delivered or elapsed, never negative; a
    negative one (a register that ran backwards) must not turn into a negative price."""
    return InvalidInputError(
        f"charging period {index + 1}: a negative {kind.value} volume",
        code="invalid_cdr",
        field=f"charging_periods[{index}].dimensions",
    )


def _first(
    candidates: tuple[Candidate, ...],
    local: datetime,
    kwh: Decimal,
    seconds: float,
    electrical: Electrical | None,
) -> Candidate | None:
    """The first element that has the component and whose restrictions hold."""
    for candidate in candidates:
        guard = candidate.guard
        if guard is None or guard.holds(local, kwh, seconds, electrical):
            return candidate
    return None


def _electrical(period: ChargingPeriod) -> Electrical:
    """The period's lowest and highest current and power: MIN_/MAX_ values, else the plain
    CURRENT/POWER for both."""
    values = {kind: value for kind, value in reversed(period.dimensions)}
    current, power = values.get(DimensionType.CURRENT), values.get(DimensionType.POWER)
    return (
        values.get(DimensionType.MIN_CURRENT, current),
        values.get(DimensionType.MAX_CURRENT, current),
        values.get(DimensionType.MIN_POWER, power),
        values.get(DimensionType.MAX_POWER, power),
    )


def _reservation_expired(periods: tuple[ChargingPeriod, ...]) -> bool:
    """A reservation that never turned into charging expired (OCPI 2.2.1 §11.4.5)."""
    return not any(
        (p.volume(DimensionType.ENERGY) or ZERO) > 0 or (p.millis(DimensionType.TIME) or 0) > 0
        for p in periods
    )


def _reserve(
    uses: tuple[list[PricedUse[int]], list[PricedUse[Decimal]]],
    plan: TariffPlan,
    periods: tuple[ChargingPeriod, ...],
    index: int,
    reserved: int,
    at: tuple[datetime, Decimal, float, Electrical | None],
) -> None:
    """Reservation time (``reserved`` ms in period ``index``) is priced by the TIME, and once
    per session by the FLAT, of the elements restricted to reservations (OCPI 2.2.1 §11.4.5).
    For an expired reservation each of the two comes from a RESERVATION_EXPIRES element where
    one has it, else from RESERVATION."""
    kinds = [ReservationRestriction.RESERVATION]
    if _reservation_expired(periods):
        kinds.insert(0, ReservationRestriction.RESERVATION_EXPIRES)
    time_uses, flat_uses = uses
    dimensions = [ComponentType.TIME] if flat_uses else [ComponentType.TIME, ComponentType.FLAT]
    for dimension in dimensions:
        for kind in kinds:
            found = _first(plan.reservation[(kind, dimension)], *at)
            if found is None:
                continue
            if dimension is ComponentType.TIME:
                time_uses.append(duration_use(reserved, found, index))
            else:
                flat_uses.append(flat_use(found, index))
            break
