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
from chargeledger.domain.tariffs.plan import (
    US_PER_DAY,
    US_PER_WEEK,
    Candidate,
    Electrical,
    Picks,
    TariffPlan,
)
from chargeledger.domain.tariffs.priced import PricedUse, duration_use, energy_use, flat_use
from chargeledger.errors import InvalidInputError
from chargeledger.money import ZERO

_ENERGY = DimensionType.ENERGY
_TIME = DimensionType.TIME
_PARKING = DimensionType.PARKING_TIME
_RESERVATION = DimensionType.RESERVATION_TIME
_LOCAL_SPAN = timedelta(hours=48)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_IN_WEEK = 3 * US_PER_DAY  # 1970-01-01 was a Thursday
_US = timedelta(microseconds=1)
_LOCAL_SPAN_US = _LOCAL_SPAN // _US
_LAST_US_OF_DAY = timedelta(days=1) - _US
_STEADY_DAYS: dict[str, dict[int, int | None]] = {}
_ZONES: dict[str, ZoneInfo] = {}


class SessionUses:
    """Every dimension of every period with the element that prices it, per category in
    period order; the cost steps add their rounding line at the end of their category. Also
    the session's totals: ``kwh`` (restrictions read it at each period's start, §11.4.6),
    ``parking_ms``, and ``parking_priced``: some parking time was priced, so TIME is not
    step-rounded (the paid parking is). A plain slotted class: a dataclass's default
    factories would double the cost of making one for every CDR."""

    __slots__ = (
        "energy",
        "fixed",
        "kwh",
        "parking",
        "parking_ms",
        "parking_priced",
        "reservation_flat",
        "reservation_time",
        "time",
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


def priced_uses(
    periods: tuple[ChargingPeriod, ...], plan: TariffPlan, time_zone: str
) -> SessionUses:
    """Walk the periods in order and price each dimension of each at the first element that
    has a component for it and whose restrictions hold at the period's start (§11.4.6); FLAT
    once per session. Reservation time alone is priced by reservation elements only: the
    charging elements (and their start fee) do not apply before charging begins (§11.4.5)."""
    uses = SessionUses()
    energy_uses, time_uses, parking_uses = uses.energy, uses.time, uses.parking
    first = periods[0].start_date_time
    week = plan.week
    if week is not None and first.tzinfo is not None:
        positions = _week_positions(periods, time_zone)
        local_starts = None
    else:
        week, positions = None, None
        local_starts = _local_starts(periods, time_zone) if plan.needs_local_time else None
    flat_pending = bool(plan.flat)
    needs_electrical, needs_duration = plan.needs_electrical, plan.needs_duration
    electrical: Electrical | None = None
    picks: Picks | None = None
    kwh, parking_ms, parking_priced = ZERO, 0, False
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
        if week is not None:
            picks = week.picks[bisect_right(week.starts, positions[index]) - 1]  # type: ignore[index]
            local = first
        else:
            local = first if local_starts is None else local_starts[index]
        seconds = (period.start_date_time - first).total_seconds() if needs_duration else 0.0
        if not reserved or energy or charging or parking:
            if energy and plan.energy:
                found = (
                    _first(plan.energy, local, kwh, seconds, electrical)
                    if picks is None
                    else picks[0]
                )
                if found is not None:
                    energy_uses.append(energy_use(energy, found, index))
            if charging and plan.time:
                found = (
                    _first(plan.time, local, kwh, seconds, electrical)
                    if picks is None
                    else picks[1]
                )
                if found is not None:
                    time_uses.append(duration_use(charging, found, index))
            if parking and plan.parking:
                found = (
                    _first(plan.parking, local, kwh, seconds, electrical)
                    if picks is None
                    else picks[2]
                )
                if found is not None:
                    parking_uses.append(duration_use(parking, found, index))
                    parking_priced = parking_priced or parking > 0
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
            if week is not None:  # reservation elements are not in the week table
                local = period.start_date_time.astimezone(_zone(time_zone))
            _reserve(uses, plan, periods, index, reserved, local, kwh, seconds, electrical)
        if energy is not None:
            kwh += energy
        if parking is not None:
            parking_ms += parking
    uses.kwh, uses.parking_ms, uses.parking_priced = kwh, parking_ms, parking_priced
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


def _week_positions(periods: tuple[ChargingPeriod, ...], time_zone: str) -> list[int]:
    """Each period's start as microseconds into its local week (Monday 00:00 is 0): the
    instant plus the zone's UTC offset at it, the local wall-clock time that
    :func:`_local_starts` gives. With one offset at both ends of at most 48 hours (as there)
    that offset holds for every start; otherwise each start is converted."""
    origin = periods[0].start_date_time
    start = (origin - _EPOCH) // _US
    span = (periods[-1].start_date_time - origin) // _US
    if span <= _LOCAL_SPAN_US:
        offset = _offset_us(time_zone, start)
        if offset is not None and offset == _offset_us(time_zone, start + span):
            base = start + offset + _EPOCH_IN_WEEK
            return [(base + (p.start_date_time - origin) // _US) % US_PER_WEEK for p in periods]
    zone = _zone(time_zone)
    return [
        ((p.start_date_time - _EPOCH + _offset(p.start_date_time, zone)) // _US + _EPOCH_IN_WEEK)
        % US_PER_WEEK
        for p in periods
    ]


def _offset_us(time_zone: str, instant: int) -> int | None:
    """The zone's UTC offset in microseconds at ``instant`` (UTC microseconds since 1970),
    kept per UTC day: a day with the same offset at its first and last microsecond has that
    offset throughout (a zone changes at most once a day), one with a change answers None
    and its instants are converted one by one. A conversion costs as much as the rest of a
    period's walk; the table holds one entry per zone and day priced."""
    days = _STEADY_DAYS.get(time_zone)
    if days is None:
        days = _STEADY_DAYS.setdefault(time_zone, {})
    day = instant // US_PER_DAY
    try:
        return days[day]
    except KeyError:
        zone = _zone(time_zone)
        midnight = _EPOCH + timedelta(days=day)
        first, last = _offset(midnight, zone), _offset(midnight + _LAST_US_OF_DAY, zone)
        steady = first // _US if first == last else None
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
