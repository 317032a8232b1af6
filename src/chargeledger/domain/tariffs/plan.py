"""A tariff compiled for pricing: what ``price`` asks of a tariff for every period, worked out
once per tariff instead of once per period and dimension (OCPI 2.2.1 §11.4).

For each dimension the plan keeps, in element order, the elements that have a component of that
dimension, each with its restrictions compiled into a :class:`Guard` (or none when the element
is unrestricted, which then always applies). Elements restricted to reservations are kept apart
(§11.4.5). A tariff keeps its plan once compiled (:func:`plan_for`).

Most tariffs restrict their charging elements by time of day and weekday only (time of use).
Which element prices each dimension then depends on nothing but the position of the period's
start in the local week, so the plan also keeps a :class:`WeekTable`: the week cut at every
boundary of a window or a day, with the first matching element of every dimension for each
piece, worked out by the same :meth:`Guard.holds` as the general path. A period then costs one
binary search instead of testing every guard of every dimension.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from chargeledger.domain.tariffs.model import (
    ComponentType,
    DayOfWeek,
    PriceComponent,
    ReservationRestriction,
    Restrictions,
    Tariff,
)

ONE = Decimal(1)
US_PER_DAY = 86_400_000_000
US_PER_WEEK = 7 * US_PER_DAY
_A_MONDAY = datetime(2024, 1, 1, tzinfo=UTC)  # stands for local wall-clock time
ZERO_KWH = Decimal(0)
_MIDNIGHT = time(0, 0)
_CHARGING_KINDS = (
    ComponentType.ENERGY,
    ComponentType.TIME,
    ComponentType.PARKING_TIME,
    ComponentType.FLAT,
)
_WEEKDAYS = tuple(DayOfWeek)  # Monday first, as datetime.weekday()

# (min_current, max_current, min_power, max_power) of one period; None where absent.
Electrical = tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None]


class Guard:
    """The restrictions of one element (§11.4.6), all ANDed, compiled for fast testing.

    Time, date and weekday are read in local time at the period's start; lower bounds are
    inclusive and upper bounds exclusive; a window whose end is before its start wraps past
    midnight, and an end_time of 00:00 is the end of the day. A period without a current or
    power value is not restricted by current or power bounds.
    """

    __slots__ = (
        "calendar",
        "dated",
        "duration",
        "electrical",
        "end_date",
        "end_time",
        "energy",
        "max_duration",
        "max_kwh",
        "min_duration",
        "min_kwh",
        "start_date",
        "start_time",
        "weekdays",
        "window",
        "wraps",
    )

    def __init__(self, r: Restrictions) -> None:
        self.start_time: time | None = r.start_time
        self.end_time: time | None = None if r.end_time == _MIDNIGHT else r.end_time
        self.window = self.start_time is not None or self.end_time is not None
        self.wraps = (
            self.start_time is not None
            and self.end_time is not None
            and self.end_time < self.start_time
        )
        self.start_date: date | None = r.start_date
        self.end_date: date | None = r.end_date
        self.dated = r.start_date is not None or r.end_date is not None
        self.weekdays: frozenset[int] | None = (
            None
            if r.day_of_week is None
            else frozenset(_WEEKDAYS.index(day) for day in r.day_of_week)
        )
        self.min_kwh, self.max_kwh = r.min_kwh, r.max_kwh
        self.min_duration, self.max_duration = r.min_duration, r.max_duration
        self.electrical: tuple[Decimal | None, ...] | None = (
            (r.min_current, r.max_current, r.min_power, r.max_power)
            if (r.min_current, r.max_current, r.min_power, r.max_power) != (None,) * 4
            else None
        )
        self.calendar = (
            r.start_time is not None
            or r.end_time is not None
            or r.start_date is not None
            or r.end_date is not None
            or r.day_of_week is not None
        )
        self.energy = r.min_kwh is not None or r.max_kwh is not None
        self.duration = r.min_duration is not None or r.max_duration is not None

    def holds(
        self, local: datetime, kwh: Decimal, seconds: float, electrical: Electrical | None
    ) -> bool:
        """All restrictions at a period's start; the calendar ones inline, since a guard is
        tested several times per period and a call costs as much as the test."""
        if self.calendar:
            if self.window:
                start, end = self.start_time, self.end_time
                moment = local.time()
                if self.wraps:
                    if moment < start and moment >= end:  # type: ignore[operator]
                        return False
                elif (start is not None and moment < start) or (end is not None and moment >= end):
                    return False
            if self.weekdays is not None and local.weekday() not in self.weekdays:
                return False
            if self.dated:
                day = local.date()
                if self.start_date is not None and day < self.start_date:
                    return False
                if self.end_date is not None and day >= self.end_date:
                    return False
        if self.energy:
            if self.min_kwh is not None and kwh < self.min_kwh:
                return False
            if self.max_kwh is not None and kwh >= self.max_kwh:
                return False
        if self.duration:
            if self.min_duration is not None and seconds < self.min_duration:
                return False
            if self.max_duration is not None and seconds >= self.max_duration:
                return False
        if self.electrical is not None and electrical is not None:
            return _electrical_holds(self.electrical, electrical)
        return True


def _electrical_holds(bounds: tuple[Decimal | None, ...], values: Electrical) -> bool:
    """The period's lowest current/power is held against the minimum and its highest against
    the maximum; a missing value does not restrict."""
    min_current, max_current, min_power, max_power = bounds
    low_current, high_current, low_power, high_power = values
    return not (
        (min_current is not None and low_current is not None and low_current < min_current)
        or (max_current is not None and high_current is not None and high_current >= max_current)
        or (min_power is not None and low_power is not None and low_power < min_power)
        or (max_power is not None and high_power is not None and high_power >= max_power)
    )


@dataclass(frozen=True, slots=True)
class Candidate:
    """An element that can price a dimension: its index, guard and component."""

    element: int
    guard: Guard | None
    component: PriceComponent
    price: Decimal  # the component's
    vat_factor: Decimal | None  # 1 + vat/100; None when no VAT applies
    paid: bool  # a price above zero: step rounding goes to the last paid period (§11.4.3)


# The first candidate for ENERGY, TIME, PARKING_TIME and FLAT; None where none applies.
Picks = tuple[Candidate | None, Candidate | None, Candidate | None, Candidate | None]


@dataclass(frozen=True, slots=True)
class WeekTable:
    """The charging elements that apply at each moment of a local week (Monday 00:00 = 0):
    piece ``i`` starts at ``starts[i]`` and runs to the next start; ``picks[i]`` is what
    applies throughout it. Starts are timedeltas, as a period's place in the week is found
    (``walk._week_positions``)."""

    starts: list[timedelta]
    picks: list[Picks]


@dataclass(frozen=True, slots=True)
class TariffPlan:
    energy: tuple[Candidate, ...]
    time: tuple[Candidate, ...]
    parking: tuple[Candidate, ...]
    flat: tuple[Candidate, ...]
    reservation: dict[tuple[ReservationRestriction, ComponentType], tuple[Candidate, ...]]
    needs_local_time: bool
    needs_duration: bool
    needs_electrical: bool
    week: WeekTable | None  # set when the charging elements read only time of day and weekday


def _candidates(
    tariff: Tariff, kind: ComponentType, reservation: ReservationRestriction | None
) -> tuple[Candidate, ...]:
    found = []
    for index, element in enumerate(tariff.elements):
        restrictions = element.restrictions
        if (None if restrictions is None else restrictions.reservation) is not reservation:
            continue
        component = element.component(kind)
        if component is None:
            continue
        guard = None if restrictions is None else Guard(restrictions)
        if guard is not None and not (
            guard.calendar or guard.energy or guard.duration or guard.electrical
        ):
            guard = None
        factor = None if component.vat is None else ONE + component.vat / 100
        found.append(
            Candidate(index, guard, component, component.price, factor, component.price != 0)
        )
    return tuple(found)


def compile_tariff(tariff: Tariff) -> TariffPlan:
    charging = {kind: _candidates(tariff, kind, None) for kind in _CHARGING_KINDS}
    reservation = {
        (restriction, kind): _candidates(tariff, kind, restriction)
        for restriction in ReservationRestriction
        for kind in (ComponentType.TIME, ComponentType.FLAT)
    }
    guards = [
        c.guard
        for group in (*charging.values(), *reservation.values())
        for c in group
        if c.guard is not None
    ]
    return TariffPlan(
        week=_week_table(charging),
        energy=charging[ComponentType.ENERGY],
        time=charging[ComponentType.TIME],
        parking=charging[ComponentType.PARKING_TIME],
        flat=charging[ComponentType.FLAT],
        reservation=reservation,
        needs_local_time=any(g.calendar for g in guards),
        needs_duration=any(g.duration for g in guards),
        needs_electrical=any(g.electrical is not None for g in guards),
    )


def _week_table(charging: dict[ComponentType, tuple[Candidate, ...]]) -> WeekTable | None:
    """The week cut at every day start and every window bound; None when a charging guard
    reads anything but the time of day and the weekday (dates, kWh, duration, power), since
    those are not periodic in the week, and when there is no guard at all (the first
    candidate always applies and no local time is needed). Each piece's picks are the guards'
    own answers at its first instant: a guard's answer changes only at a day start or a
    window bound."""
    candidates = [c for group in charging.values() for c in group]
    guards = [c.guard for c in candidates if c.guard is not None]
    if not guards or any(
        g.dated or g.energy or g.duration or g.electrical is not None for g in guards
    ):
        return None
    offsets = {0}
    for guard in guards:
        for bound in (guard.start_time, guard.end_time):
            if bound is not None:
                offsets.add(
                    ((bound.hour * 60 + bound.minute) * 60 + bound.second) * 1_000_000
                    + bound.microsecond
                )
    starts = sorted(day * US_PER_DAY + offset for day in range(7) for offset in offsets)
    picks: list[Picks] = []
    for start in starts:
        local = _A_MONDAY + timedelta(microseconds=start)
        energy, time_, parking, flat = (
            next((c for c in charging[kind] if _holds(c.guard, local)), None)
            for kind in _CHARGING_KINDS
        )
        picks.append((energy, time_, parking, flat))
    return WeekTable([timedelta(microseconds=start) for start in starts], picks)


def _holds(guard: Guard | None, local: datetime) -> bool:
    """A calendar-only guard at ``local`` (what it ignores is given as nothing used yet)."""
    return guard is None or guard.holds(local, ZERO_KWH, 0.0, None)


def plan_for(tariff: Tariff) -> TariffPlan:
    """The compiled plan of ``tariff``, kept on the tariff itself: a tariff version is
    immutable, so its plan never goes stale and lives exactly as long as the tariff does.

    The frozen dataclass takes the plan through ``object.__setattr__``, once. No lock is needed:
    two threads pricing a new tariff at the same moment may each compile it, and each plan is
    a pure function of the same immutable tariff, so whichever store lands last is as good as
    the other; a reader sees either None (and compiles) or a whole plan."""
    plan = tariff.compiled_plan
    if isinstance(plan, TariffPlan):
        return plan
    plan = compile_tariff(tariff)
    object.__setattr__(tariff, "compiled_plan", plan)
    return plan
