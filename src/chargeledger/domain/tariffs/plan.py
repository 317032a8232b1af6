"""A tariff compiled for pricing: what ``price`` asks of a tariff for every period, worked out
once per tariff instead of once per period and dimension (OCPI 2.2.1 §11.4).

For each dimension the plan keeps, in element order, the elements that have a component of that
dimension, each with its restrictions compiled into a :class:`Guard` (or none when the element
is unrestricted, which then always applies). Elements restricted to reservations are kept apart
(§11.4.5). A tariff keeps its plan once compiled (:func:`plan_for`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
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
_MIDNIGHT = time(0, 0)
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
    vat_factor: Decimal | None  # 1 + vat/100; None when no VAT applies
    paid: bool  # a price above zero: step rounding goes to the last paid period (§11.4.3)


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
        found.append(Candidate(index, guard, component, factor, component.price != 0))
    return tuple(found)


def compile_tariff(tariff: Tariff) -> TariffPlan:
    charging = {
        kind: _candidates(tariff, kind, None)
        for kind in (
            ComponentType.ENERGY,
            ComponentType.TIME,
            ComponentType.PARKING_TIME,
            ComponentType.FLAT,
        )
    }
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
        energy=charging[ComponentType.ENERGY],
        time=charging[ComponentType.TIME],
        parking=charging[ComponentType.PARKING_TIME],
        flat=charging[ComponentType.FLAT],
        reservation=reservation,
        needs_local_time=any(g.calendar for g in guards),
        needs_duration=any(g.duration for g in guards),
        needs_electrical=any(g.electrical is not None for g in guards),
    )


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
