"""``price(cdr, tariff)``: the one pricing function (DESIGN §2), OCPI 2.2.1 §11.

For every charging period and every dimension the first element (in list order) that has a
component of that dimension and whose restrictions all hold prices it (§11.4.6; the note
``ocpi-tariff-rules.md`` §3). FLAT is charged once per session. step_size applies once per
session to the total of a dimension, with the step of the last period that priced it, the
extra priced at that period's price (§11.4.3); TIME is rounded only when no parking was
priced, otherwise the paid parking is. VAT per component; min/max price clamp the total,
excl and incl independently. Amounts stay exact: rounding is the caller's named step.

Speed: the tariff is compiled once into a :class:`~chargeledger.domain.tariffs.plan.TariffPlan`
(cached per tariff object); every amount and total is computed eagerly, while the
:class:`PriceLine` objects and their explanation texts are built on first access to
``PriceResult.lines``, since most callers (invoice runs, live cost) read only the totals.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from chargeledger.domain.tariffs.cdr import Cdr, ChargingPeriod, DimensionType
from chargeledger.domain.tariffs.model import ComponentType, ReservationRestriction, Tariff
from chargeledger.domain.tariffs.plan import Candidate, Electrical, TariffPlan, plan_for
from chargeledger.domain.tariffs.priced import Amount, PriceResult
from chargeledger.domain.tariffs.priced import Record as _Record
from chargeledger.errors import InvalidInputError

ZERO = Decimal(0)
ONE = Decimal(1)
HOUR = Decimal(3600)


# A dimension priced in one period: period index, candidate, volume (kWh, hours or 1).
_Use = tuple[int, Candidate, Decimal]


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
    time_uses: list[_Use] = []
    parking_uses: list[_Use] = []
    fixed_uses: list[_Use] = []
    reservation_uses: list[_Use] = []
    kwh = parking_hours = ZERO
    flat_pending = bool(plan.flat)
    electrical: Electrical | None = None
    timed = plan.needs_duration
    for index, period in enumerate(periods):
        energy = hours = parking = reserved = None
        for kind, value in reversed(period.dimensions):  # the first of a kind wins
            if value < 0:
                raise _negative_volume(index, kind)
            if kind is _ENERGY:
                energy = value
            elif kind is _TIME:
                hours = value
            elif kind is _PARKING:
                parking = value
            elif kind is _RESERVATION:
                reserved = value
        if plan.needs_electrical:
            electrical = _electrical(period)
        local = first if local_starts is None else local_starts[index]
        seconds = (period.start_date_time - first).total_seconds() if timed else 0.0
        if not reserved or energy or hours or parking:
            # Reservation time alone is priced by reservation elements only: the charging
            # elements (and their start fee) do not apply before charging begins.
            if energy:
                found = _first(plan.energy, local, kwh, seconds, electrical)
                if found is not None:
                    energy_uses.append((index, found, energy))
            if hours:
                found = _first(plan.time, local, kwh, seconds, electrical)
                if found is not None:
                    time_uses.append((index, found, hours))
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
            _reserve(
                plan, periods, (local, kwh, seconds, electrical), index, reserved, reservation_uses
            )
        if energy is not None:
            kwh += energy
        if parking is not None:
            parking_hours += parking

    records: list[_Record] = []
    energy_cost = _priced(energy_uses, "energy", "kWh", _WH_PER_KWH, records)
    parking_paid = any(use[2] > 0 for use in parking_uses)
    time_step = None if parking_paid else HOUR
    time_cost = _priced(time_uses, "time", "h", time_step, records)
    parking_cost = _priced(parking_uses, "parking", "h", HOUR, records)
    reservation_cost = _NO_COST
    if reservation_uses:
        reserved_time = [u for u in reservation_uses if u[1].component.type is _TIME_COMPONENT]
        reserved_flat = [u for u in reservation_uses if u[1].component.type is _FLAT_COMPONENT]
        time_part = _priced(reserved_time, "reservation", "h", HOUR, records)
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
        total_time=Decimal((cdr.end_date_time - first).total_seconds()) / HOUR,
        total_parking_time=parking_hours,
        records=records,
    )


_WH_PER_KWH = Decimal(1000)
_NO_COST = (ZERO, ZERO)
_TIME_COMPONENT = ComponentType.TIME
_FLAT_COMPONENT = ComponentType.FLAT


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
        (p.volume(DimensionType.ENERGY) or ZERO) > 0 or (p.volume(DimensionType.TIME) or ZERO) > 0
        for p in periods
    )


def _reserve(
    plan: TariffPlan,
    periods: tuple[ChargingPeriod, ...],
    context: tuple[datetime, Decimal, float, Electrical | None],
    index: int,
    hours: Decimal,
    uses: list[_Use],
) -> None:
    """Reservation time is priced by the TIME, and once by the FLAT, of the elements
    restricted to reservations (OCPI 2.2.1 §11.4.5). For an expired reservation each of the
    two comes from a RESERVATION_EXPIRES element where one has it, else from RESERVATION."""
    kinds = [ReservationRestriction.RESERVATION]
    if _reservation_expired(periods):
        kinds.insert(0, ReservationRestriction.RESERVATION_EXPIRES)
    for component_type, volume in ((ComponentType.TIME, hours), (ComponentType.FLAT, ONE)):
        if component_type is ComponentType.FLAT and any(
            use[1].component.type is ComponentType.FLAT for use in uses
        ):
            continue
        for kind in kinds:
            found = _first(plan.reservation[(kind, component_type)], *context)
            if found is not None:
                uses.append((index, found, volume))
                break


def _record(
    records: list[_Record],
    category: str,
    volume: Decimal,
    use: _Use,
    unit: str,
    why: tuple[Any, ...],
) -> tuple[Decimal, Decimal]:
    candidate = use[1]
    excl = volume * candidate.component.price
    factor = candidate.vat_factor
    incl = excl if factor is None else excl * factor
    records.append((category, excl, incl, volume, unit, candidate, use[0], why))
    return excl, incl


def _priced(
    uses: list[_Use], category: str, unit: str, step_unit: Decimal | None, records: list[_Record]
) -> tuple[Decimal, Decimal]:
    """A line per period, then the step rounding of the session total (if any) priced at the
    last period's component. ``step_unit`` converts the volume into step units (Wh, s).
    Returns the category's (excl, incl) total, summed in line order."""
    if not uses:
        return _NO_COST
    excl_total = incl_total = paid_volume = delivered_volume = ZERO
    last_paid = last_delivered = None
    for use in uses:
        period, candidate, volume = use
        component = candidate.component
        excl = volume * component.price
        incl = excl if candidate.vat_factor is None else excl * candidate.vat_factor
        records.append((category, excl, incl, volume, unit, candidate, period, ()))
        excl_total += excl
        incl_total += incl
        if volume > 0:
            delivered_volume += volume
            last_delivered = use
            if component.price != 0:
                paid_volume += volume
                last_paid = use
    if last_paid is None:  # nothing paid: the free periods carry the rounding
        last_paid, paid_volume = last_delivered, delivered_volume
    if step_unit is None or last_paid is None or last_paid[1].component.step_size <= 0:
        return excl_total, incl_total
    step = Decimal(last_paid[1].component.step_size)
    total = paid_volume * step_unit
    billed = (total / step).to_integral_value(ROUND_CEILING) * step
    extra = (billed - total) / step_unit
    if extra > 0:
        excl, incl = _record(records, category, extra, last_paid, unit, (total, billed))
        excl_total += excl
        incl_total += incl
    return excl_total, incl_total


def _flat(uses: list[_Use], category: str, records: list[_Record]) -> tuple[Decimal, Decimal]:
    if not uses:
        return _NO_COST
    excl_total = incl_total = ZERO
    for use in uses:
        excl, incl = _record(records, category, ONE, use, "session", ("flat",))
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
