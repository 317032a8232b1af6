"""Which element prices each dimension of each period of a CDR (OCPI 2.2.1 §11.4.6): the walk
over the periods that ``price`` starts with.

For every charging period and every dimension the first element (in list order) that has a
component of that dimension and whose restrictions all hold at the period's start prices it
(the note ``ocpi-tariff-rules.md`` §3); FLAT once per session; reservation time by the
elements restricted to reservations (§11.4.5). Each priced use becomes a :class:`PricedUse`,
kept per category in period order in a :class:`SessionUses`.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.tariffs.cdr import ChargingPeriod, DimensionType
from chargeledger.domain.tariffs.model import ComponentType, ReservationRestriction
from chargeledger.domain.tariffs.plan import Candidate, Electrical, Picks, TariffPlan
from chargeledger.domain.tariffs.priced import (
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
_LOCAL_SPAN = timedelta(hours=48)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_IN_WEEK = timedelta(days=3)  # 1970-01-01 was a Thursday
_WEEK = timedelta(weeks=1)
_NO_TIME = timedelta(0)
_LAST_US_OF_DAY = timedelta(days=1, microseconds=-1)
# A UTC day with one offset throughout: the offset, the day's midnight as time since 1970 and
# that midnight's place in the local week (:func:`_steady_day`).
SteadyDay = tuple[timedelta, timedelta, timedelta]
_STEADY_DAYS: dict[str, dict[int, SteadyDay | None]] = {}
_ZONES: dict[str, ZoneInfo] = {}
_NO_ENERGY: Sums[Decimal] = (ZERO, ZERO, ZERO, None)
_NO_DURATION: Sums[int] = (ZERO, ZERO, 0, None)


class SessionUses:
    """Every dimension of every period with the element that prices it, per category in
    period order; the cost steps add their rounding line at the end of their category. Also
    the session's totals: ``kwh`` (restrictions read it at each period's start, §11.4.6),
    ``parking_ms``, and ``parking_priced``: some parking time was priced, so TIME is not
    step-rounded (the paid parking is). A plain slotted class: a dataclass's default
    factories would double the cost of making one for every CDR.

    ``energy_sums``, ``time_sums`` and ``parking_sums`` are each category's running sums,
    taken in the walk so that the totals need no second pass over the uses: (excl_vat,
    incl_vat, paid volume, last paid use), in the order and with the Decimal operations a
    pass over the uses would make; the last paid use is None where nothing was paid (the
    step rounding then reads all the volume, :func:`delivered`)."""

    __slots__ = (
        "energy",
        "energy_sums",
        "fixed",
        "kwh",
        "parking",
        "parking_ms",
        "parking_priced",
        "parking_sums",
        "reservation_flat",
        "reservation_time",
        "time",
        "time_sums",
    )

    def __init__(self) -> None:
        self.energy: list[PricedUse[Decimal]] = []
        self.time: list[PricedUse[int]] = []
        self.parking: list[PricedUse[int]] = []
        self.fixed: list[PricedUse[Decimal]] = []
        self.reservation_time: list[PricedUse[int]] = []
        self.reservation_flat: list[PricedUse[Decimal]] = []
        self.kwh = ZERO
        self.parking_ms = 0
        self.parking_priced = False
        self.energy_sums: Sums[Decimal] = _NO_ENERGY
        self.time_sums: Sums[int] = _NO_DURATION
        self.parking_sums: Sums[int] = _NO_DURATION


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
    uses = SessionUses()
    energy_uses, time_uses, parking_uses = uses.energy, uses.time, uses.parking
    first = periods[0].start_date_time
    week = plan.week
    positions: list[timedelta] | None = None
    week_starts: list[timedelta] = []
    week_picks: list[Picks] = []
    local_starts = None
    if week is not None and first.tzinfo is not None:
        positions = _week_positions(periods, time_zone)
        week_starts, week_picks = week.starts, week.picks
    elif plan.needs_local_time:
        local_starts = _local_starts(periods, time_zone)
    plan_energy, plan_time, plan_parking = plan.energy, plan.time, plan.parking
    flat_pending = bool(plan.flat)
    needs_electrical, needs_duration = plan.needs_electrical, plan.needs_duration
    electrical: Electrical | None = None
    picks: Picks | None = None
    local = first
    seconds = 0.0
    kwh, parking_ms, parking_priced = ZERO, 0, False
    e_excl = e_incl = e_paid = ZERO
    t_excl = t_incl = p_excl = p_incl = ZERO
    t_paid = p_paid = 0
    e_last: PricedUse[Decimal] | None = None
    t_last: PricedUse[int] | None = None
    p_last: PricedUse[int] | None = None
    for index, period in enumerate(periods):
        energy = charging = parking = reserved = None  # where a kind repeats, the first counts
        for kind, value in reversed(period.dimensions):
            if value < ZERO:
                raise _negative_volume(index, kind)
            if kind is _ENERGY:
                energy = value
        for kind, millis in reversed(period.durations):
            if kind is _TIME:
                charging = millis
            elif kind is _PARKING:
                parking = millis
            elif kind is _RESERVATION:
                reserved = millis
        if needs_electrical:
            electrical = _electrical(period)
        if positions is not None:
            picks = week_picks[bisect_right(week_starts, positions[index]) - 1]
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
                        e_paid += energy
                        e_last = use
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
                    uses.fixed.append(flat_use(found, index))
                    flat_pending = False
        if reserved:
            if positions is not None:  # reservation elements are not in the week table
                local = period.start_date_time.astimezone(_zone(time_zone))
            _reserve(uses, plan, periods, index, reserved, local, kwh, seconds, electrical)
        if energy is not None:
            kwh += energy
        if parking is not None:
            parking_ms += parking
    uses.kwh, uses.parking_ms, uses.parking_priced = kwh, parking_ms, parking_priced
    if energy_uses:
        uses.energy_sums = (e_excl, e_incl, e_paid, e_last)
    if time_uses:
        uses.time_sums = (t_excl, t_incl, t_paid, t_last)
    if parking_uses:
        uses.parking_sums = (p_excl, p_incl, p_paid, p_last)
    return uses


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


def _local_starts(periods: tuple[ChargingPeriod, ...], time_zone: str) -> list[datetime]:
    """Each period's start in the location's time zone. Within 48 hours and with the same UTC
    offset at both ends no transition lies between, so wall-clock arithmetic from the first
    start is exact; otherwise each start is converted."""
    zone = _zone(time_zone)
    origin, last = periods[0].start_date_time, periods[-1].start_date_time
    local_origin = origin.astimezone(zone)
    if last - origin <= _LOCAL_SPAN and last.astimezone(zone).utcoffset() == (
        local_origin.utcoffset()
    ):
        return [local_origin + (p.start_date_time - origin) for p in periods]
    return [p.start_date_time.astimezone(zone) for p in periods]


def _week_positions(periods: tuple[ChargingPeriod, ...], time_zone: str) -> list[timedelta]:
    """Each period's start as its place in its local week (Monday 00:00 is zero): the instant
    plus the zone's UTC offset at it, the local wall-clock time that :func:`_local_starts`
    gives. Where one offset holds from the first start to the latest one, at most 48 hours
    later (the same offset at both ends, as there), each place is the first one plus the time
    since the first start; otherwise each start is converted. Kept as timedeltas: a
    subtraction and an addition of two is all a period costs, where microsecond counts cost
    a division each."""
    origin = periods[0].start_date_time
    places = [p.start_date_time - origin for p in periods]
    span = max(places)  # the latest start; periods are in order, but nothing here needs it
    if span <= _LOCAL_SPAN and min(places) >= _NO_TIME:
        since = origin - _EPOCH
        day, last_day = since.days, (since + span).days
        steady = _steady_day(time_zone, day)
        if steady is not None and (
            last_day == day
            or ((last := _steady_day(time_zone, last_day)) is not None and last[0] == steady[0])
        ):
            _, midnight, midnight_place = steady
            base = midnight_place + (since - midnight)  # under two weeks
            wraps = _WEEK - base  # from here on, the next week
            return [base + place if place < wraps else place - wraps for place in places]
    zone = _zone(time_zone)
    return [
        (p.start_date_time - _EPOCH + _offset(p.start_date_time, zone) + _EPOCH_IN_WEEK) % _WEEK
        for p in periods
    ]


def _steady_day(time_zone: str, day: int) -> SteadyDay | None:
    """The zone's UTC offset throughout UTC day ``day`` (days since 1970), kept per zone and
    day with the day's midnight (UTC, since 1970) and its place in the local week: a day with
    the same offset at its first and last microsecond has that offset throughout (a zone
    changes at most once a day); one with a change answers None and its instants are
    converted one by one. A conversion costs as much as the rest of a period's walk; the
    table holds one entry per zone and day priced."""
    days = _STEADY_DAYS.get(time_zone)
    if days is None:
        days = _STEADY_DAYS.setdefault(time_zone, {})
    try:
        return days[day]
    except KeyError:
        zone = _zone(time_zone)
        since = timedelta(days=day)
        midnight = _EPOCH + since
        first, last = _offset(midnight, zone), _offset(midnight + _LAST_US_OF_DAY, zone)
        steady = (first, since, (since + first + _EPOCH_IN_WEEK) % _WEEK) if first == last else None
        days[day] = steady
        return steady


def _offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always answers for an aware instant
    return offset


def _zone(time_zone: str) -> ZoneInfo:
    zone = _ZONES.get(time_zone)
    if zone is None:
        zone = _ZONES.setdefault(time_zone, ZoneInfo(time_zone))
    return zone


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
    uses: SessionUses,
    plan: TariffPlan,
    periods: tuple[ChargingPeriod, ...],
    index: int,
    reserved: int,
    local: datetime,
    kwh: Decimal,
    seconds: float,
    electrical: Electrical | None,
) -> None:
    """Reservation time (``reserved`` ms in period ``index``) is priced by the TIME, and once
    per session by the FLAT, of the elements restricted to reservations (OCPI 2.2.1 §11.4.5).
    For an expired reservation each of the two comes from a RESERVATION_EXPIRES element where
    one has it, else from RESERVATION."""
    kinds = [ReservationRestriction.RESERVATION]
    if _reservation_expired(periods):
        kinds.insert(0, ReservationRestriction.RESERVATION_EXPIRES)
    dimensions = (
        [ComponentType.TIME] if uses.reservation_flat else [ComponentType.TIME, ComponentType.FLAT]
    )
    for dimension in dimensions:
        for kind in kinds:
            found = _first(plan.reservation[(kind, dimension)], local, kwh, seconds, electrical)
            if found is None:
                continue
            if dimension is ComponentType.TIME:
                uses.reservation_time.append(duration_use(reserved, found, index))
            else:
                uses.reservation_flat.append(flat_use(found, index))
            break
