"""``price(cdr, tariff)``: the one pricing function (DESIGN §2), OCPI 2.2.1 §11.

For every charging period and every dimension the first element (in list order) that has a
component of that dimension and whose restrictions all hold prices it (§11.4.6; the note
``ocpi-tariff-rules.md`` §3). FLAT is charged once per session. step_size applies once per
session to the total of a dimension, with the step of the last period that priced it, the
extra priced at that period's price (§11.4.3); TIME is rounded only when no parking was
priced, otherwise the paid parking is. VAT per component; min/max price clamp the total,
excl and incl independently. Amounts stay exact: rounding is the caller's named step.

Durations are whole milliseconds (:mod:`.quantities`): a period's time costs price × ms / 3.6e6,
their sums are exact and step rounding of TIME, PARKING_TIME and reservation time is an
integer ceiling; energy step rounding reads the session total on a 1 mWh grid. Neither can bill
an extra step from the way a duration or energy share was written.

Speed: the tariff is compiled once into a :class:`~chargeledger.domain.tariffs.plan.TariffPlan`
(kept on the tariff version itself); every amount and total is computed eagerly, while the
:class:`PriceLine` objects and their explanation texts are built on first access to
``PriceResult.lines``, since most callers (invoice runs, live cost) read only the totals.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.tariffs.cdr import Cdr, ChargingPeriod, DimensionType
from chargeledger.domain.tariffs.model import ComponentType, ReservationRestriction, Tariff
from chargeledger.domain.tariffs.plan import Candidate, Electrical, TariffPlan, plan_for
from chargeledger.domain.tariffs.priced import Amount, PriceResult
from chargeledger.domain.tariffs.priced import Record as _Record
from chargeledger.domain.tariffs.quantities import (
    MS_PER_HOUR,
    MS_PER_SECOND,
    energy_for_steps,
    hours_between,
    hours_of,
    steps_up,
)
from chargeledger.errors import InvalidInputError

ZERO = Decimal(0)
ONE = Decimal(1)


# A dimension priced in one period: period index, candidate, volume (kWh, or 1 for FLAT).
_Use = tuple[int, Candidate, Decimal]
# A duration priced in one period: period index, candidate, milliseconds.
_TimeUse = tuple[int, Candidate, int]


_ENERGY = DimensionType.ENERGY
_TIME = DimensionType.TIME
_PARKING = DimensionType.PARKING_TIME
_RESERVATION = DimensionType.RESERVATION_TIME
_LOCAL_SPAN = timedelta(hours=48)
_ZONES: dict[str, ZoneInfo] = {}


def price(cdr: Cdr, tariff: Tariff, time_zone: str = "UTC") -> PriceResult:
    periods = cdr.charging_periods
    if not periods:
        raise InvalidInputError(
            "a CDR needs charging periods", code="invalid_cdr", field="charging_periods"
        )
    plan = plan_for(tariff)
    first = periods[0].start_date_time
    local_starts = _local_starts(periods, time_zone) if plan.needs_local_time else None
    energy_uses: list[_Use] = []
    time_uses: list[_TimeUse] = []
    parking_uses: list[_TimeUse] = []
    fixed_uses: list[_Use] = []
    reserved_time: list[_TimeUse] = []
    reserved_flat: list[_Use] = []
    kwh = ZERO
    parking_ms = 0
    flat_pending = bool(plan.flat)
    electrical: Electrical | None = None
    timed = plan.needs_duration
    for index, period in enumerate(periods):
        energy = None
        for kind, value in reversed(period.dimensions):  # the first of a kind wins
            if value < 0:
                raise _negative_volume(index, kind)
            if kind is _ENERGY:
                energy = value
        charging = parking = reserved = None
        for kind, millis in reversed(period.durations):
            if kind is _TIME:
                charging = millis
            elif kind is _PARKING:
                parking = millis
            elif kind is _RESERVATION:
                reserved = millis
        if plan.needs_electrical:
            electrical = _electrical(period)
        local = first if local_starts is None else local_starts[index]
        seconds = (period.start_date_time - first).total_seconds() if timed else 0.0
        if not reserved or energy or charging or parking:
            # Reservation time alone is priced by reservation elements only: the charging
            # elements (and their start fee) do not apply before charging begins.
            if energy:
                found = _first(plan.energy, local, kwh, seconds, electrical)
                if found is not None:
                    energy_uses.append((index, found, energy))
            if charging:
                found = _first(plan.time, local, kwh, seconds, electrical)
                if found is not None:
                    time_uses.append((index, found, charging))
            if parking:
                found = _first(plan.parking, local, kwh, seconds, electrical)
                if found is not None:
                    parking_uses.append((index, found, parking))
            if flat_pending:
                found = _first(plan.flat, local, kwh, seconds, electrical)
                if found is not None:
                    fixed_uses.append((index, found, ONE))
                    flat_pending = False
        if reserved:
            context = (local, kwh, seconds, electrical)
            _reserve(plan, periods, context, (index, reserved), reserved_time, reserved_flat)
        if energy is not None:
            kwh += energy
        if parking is not None:
            parking_ms += parking

    records: list[_Record] = []
    energy_cost = _priced_energy(energy_uses, records)
    parking_paid = any(use[2] > 0 for use in parking_uses)
    time_cost = _priced_time(time_uses, "time", not parking_paid, records)
    parking_cost = _priced_time(parking_uses, "parking", True, records)
    reservation_cost = _NO_COST
    if reserved_time or reserved_flat:
        time_part = _priced_time(reserved_time, "reservation", True, records)
        flat_part = _flat(reserved_flat, "reservation", records)
        reservation_cost = (time_part[0] + flat_part[0], time_part[1] + flat_part[1])
    fixed_cost = _flat(fixed_uses, "fixed", records)
    subtotal = Amount(
        ZERO
        + energy_cost[0]
        + time_cost[0]
        + parking_cost[0]
        + fixed_cost[0]
        + reservation_cost[0],
        ZERO
        + energy_cost[1]
        + time_cost[1]
        + parking_cost[1]
        + fixed_cost[1]
        + reservation_cost[1],
    )
    clamped = _clamp(tariff, subtotal, records)
    if clamped.excl_vat < 0 or clamped.incl_vat < 0:
        # Unreachable from parsed tariffs and checked CDRs (prices and volumes are never
        # negative); kept so that no construction of either can ever yield a negative bill.
        raise InvalidInputError("a price is never negative", code="negative_price")
    return PriceResult(
        tariff_id=tariff.id,
        currency=tariff.currency,
        total_cost=clamped,
        total_energy_cost=Amount(*energy_cost),
        total_time_cost=Amount(*time_cost),
        total_parking_cost=Amount(*parking_cost),
        total_fixed_cost=Amount(*fixed_cost),
        total_reservation_cost=Amount(*reservation_cost),
        total_energy=kwh,
        total_time=hours_between(first, cdr.end_date_time),
        total_parking_time=hours_of(parking_ms),
        records=records,
    )


_WH_PER_KWH = Decimal(1000)
_NO_COST = (ZERO, ZERO)


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
    zone = _ZONES.get(time_zone)
    if zone is None:
        zone = _ZONES.setdefault(time_zone, ZoneInfo(time_zone))
    origin, last = periods[0].start_date_time, periods[-1].start_date_time
    local_origin = origin.astimezone(zone)
    if last - origin <= _LOCAL_SPAN and last.astimezone(zone).utcoffset() == (
        local_origin.utcoffset()
    ):
        return [local_origin + (p.start_date_time - origin) for p in periods]
    return [p.start_date_time.astimezone(zone) for p in periods]


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
    plan: TariffPlan,
    periods: tuple[ChargingPeriod, ...],
    context: tuple[datetime, Decimal, float, Electrical | None],
    reserved: tuple[int, int],
    time_uses: list[_TimeUse],
    flat_uses: list[_Use],
) -> None:
    """Reservation time (``reserved``: period index, ms) is priced by the TIME, and once by
    the FLAT, of the elements restricted to reservations (OCPI 2.2.1 §11.4.5). For an expired
    reservation each of the two comes from a RESERVATION_EXPIRES element where one has it,
    else from RESERVATION."""
    index, millis = reserved
    kinds = [ReservationRestriction.RESERVATION]
    if _reservation_expired(periods):
        kinds.insert(0, ReservationRestriction.RESERVATION_EXPIRES)
    for kind in kinds:
        found = _first(plan.reservation[(kind, ComponentType.TIME)], *context)
        if found is not None:
            time_uses.append((index, found, millis))
            break
    if flat_uses:
        return
    for kind in kinds:
        found = _first(plan.reservation[(kind, ComponentType.FLAT)], *context)
        if found is not None:
            flat_uses.append((index, found, ONE))
            break


def _amounts(candidate: Candidate, excl: Decimal) -> tuple[Decimal, Decimal]:
    factor = candidate.vat_factor
    return excl, excl if factor is None else excl * factor


def _priced_energy(uses: list[_Use], records: list[_Record]) -> tuple[Decimal, Decimal]:
    """A line per period, then the step rounding (Wh) of the session's energy total, read on
    the 1 mWh grid, priced at the last paid period's component. Returns (excl, incl)."""
    if not uses:
        return _NO_COST
    excl_total = incl_total = paid = delivered = ZERO
    last_paid = last_delivered = None
    for use in uses:
        period, candidate, volume = use
        excl, incl = _amounts(candidate, volume * candidate.component.price)
        records.append(("energy", excl, incl, volume, "kWh", candidate, period, ()))
        excl_total += excl
        incl_total += incl
        if volume > 0:
            delivered += volume
            last_delivered = use
            if candidate.component.price != 0:
                paid += volume
                last_paid = use
    if last_paid is None:  # nothing paid: the free periods carry the rounding
        last_paid, paid = last_delivered, delivered
    if last_paid is None or last_paid[1].component.step_size <= 0:
        return excl_total, incl_total
    step = last_paid[1].component.step_size
    total = energy_for_steps(paid)
    billed = (total / step).to_integral_value(ROUND_CEILING) * step
    if billed > total:
        period, candidate, _ = last_paid
        extra = (billed - total) / _WH_PER_KWH
        excl, incl = _amounts(candidate, extra * candidate.component.price)
        why = (total, billed, "Wh")
        records.append(("energy", excl, incl, extra, "kWh", candidate, period, why))
        excl_total += excl
        incl_total += incl
    return excl_total, incl_total


def _priced_time(
    uses: list[_TimeUse], category: str, rounded: bool, records: list[_Record]
) -> tuple[Decimal, Decimal]:
    """A line per period (price × ms / 3.6e6), then, if ``rounded``, the step rounding (s) of
    the session total as an integer ceiling of milliseconds, priced at the last paid period's
    component. Returns the category's (excl, incl) total, summed in line order."""
    if not uses:
        return _NO_COST
    excl_total = incl_total = ZERO
    paid = delivered = 0
    last_paid = last_delivered = None
    for use in uses:
        period, candidate, millis = use
        excl, incl = _amounts(candidate, candidate.component.price * millis / MS_PER_HOUR)
        records.append((category, excl, incl, millis, "h", candidate, period, ()))
        excl_total += excl
        incl_total += incl
        if millis > 0:
            delivered += millis
            last_delivered = use
            if candidate.component.price != 0:
                paid += millis
                last_paid = use
    if last_paid is None:  # nothing paid: the free periods carry the rounding
        last_paid, paid = last_delivered, delivered
    if not rounded or last_paid is None or last_paid[1].component.step_size <= 0:
        return excl_total, incl_total
    billed = steps_up(paid, last_paid[1].component.step_size * MS_PER_SECOND)
    if billed > paid:
        period, candidate, _ = last_paid
        extra = billed - paid
        excl, incl = _amounts(candidate, candidate.component.price * extra / MS_PER_HOUR)
        why = (Decimal(paid) / MS_PER_SECOND, Decimal(billed) / MS_PER_SECOND, "s")
        records.append((category, excl, incl, extra, "h", candidate, period, why))
        excl_total += excl
        incl_total += incl
    return excl_total, incl_total


def _flat(uses: list[_Use], category: str, records: list[_Record]) -> tuple[Decimal, Decimal]:
    excl_total = incl_total = ZERO
    for period, candidate, _ in uses:
        excl, incl = _amounts(candidate, candidate.component.price)
        records.append((category, excl, incl, ONE, "session", candidate, period, ("flat",)))
        excl_total += excl
        incl_total += incl
    return excl_total, incl_total


def _clamp(tariff: Tariff, total: Amount, records: list[_Record]) -> Amount:
    """OCPI 2.2.1 §11.3.1 min_price/max_price, applied to excl and incl independently; each
    raise is explained on a min_price line and each cut on a max_price line."""
    if tariff.min_price is None and tariff.max_price is None:
        return total
    excl, incl = total.excl_vat, total.incl_vat
    if tariff.min_price is not None:
        excl = max(excl, tariff.min_price.excl_vat)
        if tariff.min_price.incl_vat is not None:
            incl = max(incl, tariff.min_price.incl_vat)
    if tariff.max_price is not None:
        excl = min(excl, tariff.max_price.excl_vat)
        if tariff.max_price.incl_vat is not None:
            incl = min(incl, tariff.max_price.incl_vat)
    excl_change, incl_change = excl - total.excl_vat, incl - total.incl_vat
    for category, excl_part, incl_part in (
        ("min_price", max(excl_change, ZERO), max(incl_change, ZERO)),
        ("max_price", min(excl_change, ZERO), min(incl_change, ZERO)),
    ):
        if excl_part or incl_part:
            why = f"the tariff's {category.replace('_', ' ')} applies to the session total"
            records.append((category, excl_part, incl_part, ZERO, "", None, None, (why,)))
    return Amount(excl, incl)
