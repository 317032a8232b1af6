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
from chargeledger.domain.tariffs.priced import (
    FLAT_UNIT,
    HOURS,
    KWH,
    NOTHING,
    Amount,
    LimitAdjustment,
    PricedUse,
    PriceResult,
    StepRounding,
)
from chargeledger.domain.tariffs.quantities import (
    MS_PER_SECOND,
    energy_for_steps,
    hours_between,
    hours_of,
    steps_up,
)
from chargeledger.errors import InvalidInputError
from chargeledger.money import ZERO

ONE = Decimal(1)
_WH_PER_KWH = Decimal(1000)
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
    uses = _priced_uses(periods, plan_for(tariff), time_zone)
    energy = _energy_cost(uses.energy)
    time = _duration_cost(uses.time, rounded=not uses.parking_priced)
    parking = _duration_cost(uses.parking, rounded=True)
    reservation = _reservation_cost(uses.reservation_time, uses.reservation_flat)
    fixed = _flat_cost(uses.fixed)
    subtotal = Amount(
        ZERO + energy.excl_vat + time.excl_vat + parking.excl_vat + fixed.excl_vat
        + reservation.excl_vat,
        ZERO + energy.incl_vat + time.incl_vat + parking.incl_vat + fixed.incl_vat
        + reservation.incl_vat,
    )  # fmt: skip
    adjustments: list[LimitAdjustment] = []
    total = _clamp(tariff, subtotal, adjustments)
    if total.excl_vat < 0 or total.incl_vat < 0:
        # Unreachable from parsed tariffs and checked CDRs (prices and volumes are never
        # negative); kept so that no construction of either can ever yield a negative bill.
        raise InvalidInputError("a price is never negative", code="negative_price")
    return PriceResult(
        tariff_id=tariff.id,
        currency=tariff.currency,
        total_cost=total,
        total_energy_cost=energy,
        total_time_cost=time,
        total_parking_cost=parking,
        total_fixed_cost=fixed,
        total_reservation_cost=reservation,
        total_energy=uses.kwh,
        total_time=hours_between(periods[0].start_date_time, cdr.end_date_time),
        total_parking_time=hours_of(uses.parking_ms),
        records=(  # the order of PriceResult.lines
            uses.energy,
            uses.time,
            uses.parking,
            uses.reservation_time,
            uses.reservation_flat,
            uses.fixed,
            adjustments,
        ),
    )


class _SessionUses:
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


def _priced_uses(
    periods: tuple[ChargingPeriod, ...], plan: TariffPlan, time_zone: str
) -> _SessionUses:
    """Walk the periods in order and price each dimension of each at the first element that
    has a component for it and whose restrictions hold at the period's start (§11.4.6); FLAT
    once per session. Reservation time alone is priced by reservation elements only: the
    charging elements (and their start fee) do not apply before charging begins (§11.4.5)."""
    uses = _SessionUses()
    energy_uses, time_uses, parking_uses = uses.energy, uses.time, uses.parking
    first = periods[0].start_date_time
    local_starts = _local_starts(periods, time_zone) if plan.needs_local_time else None
    flat_pending = bool(plan.flat)
    needs_electrical, needs_duration = plan.needs_electrical, plan.needs_duration
    electrical: Electrical | None = None
    kwh, parking_ms, parking_priced = ZERO, 0, False
    for index, period in enumerate(periods):
        energy = charging = parking = reserved = None  # where a kind repeats, the first counts
        for kind, value in reversed(period.dimensions):
            if value < 0:
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
        local = first if local_starts is None else local_starts[index]
        seconds = (period.start_date_time - first).total_seconds() if needs_duration else 0.0
        if not reserved or energy or charging or parking:
            if energy and plan.energy:
                found = _first(plan.energy, local, kwh, seconds, electrical)
                if found is not None:
                    energy_uses.append(PricedUse("energy", energy, KWH, found, index))
            if charging and plan.time:
                found = _first(plan.time, local, kwh, seconds, electrical)
                if found is not None:
                    time_uses.append(PricedUse("time", charging, HOURS, found, index))
            if parking and plan.parking:
                found = _first(plan.parking, local, kwh, seconds, electrical)
                if found is not None:
                    parking_uses.append(PricedUse("parking", parking, HOURS, found, index))
                    parking_priced = parking_priced or parking > 0
            if flat_pending:
                found = _first(plan.flat, local, kwh, seconds, electrical)
                if found is not None:
                    uses.fixed.append(PricedUse("fixed", ONE, FLAT_UNIT, found, index))
                    flat_pending = False
        if reserved:
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
    uses: _SessionUses,
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
                uses.reservation_time.append(
                    PricedUse("reservation", reserved, HOURS, found, index)
                )
            else:
                uses.reservation_flat.append(PricedUse("reservation", ONE, FLAT_UNIT, found, index))
            break


# -- each category's cost: its lines, then the step rounding of its session total ----------


def _energy_cost(uses: list[PricedUse[Decimal]]) -> Amount:
    """The period lines, then the step rounding (Wh) of the session's energy total, read on
    the 1 mWh grid, priced at the last paid period's component (§11.4.3); the rounding line is
    added to ``uses``."""
    if not uses:
        return NOTHING
    excl_total = incl_total = paid = delivered = ZERO
    last_paid = last_delivered = None
    for use in uses:
        excl_total += use.excl_vat
        incl_total += use.incl_vat
        volume = use.volume
        if volume > 0:
            delivered += volume
            last_delivered = use
            if use.candidate.component.price != 0:
                paid += volume
                last_paid = use
    if last_paid is None:  # nothing paid: the free periods carry the rounding
        last_paid, paid = last_delivered, delivered
    if last_paid is None or last_paid.candidate.component.step_size <= 0:
        return Amount(excl_total, incl_total)
    step = last_paid.candidate.component.step_size
    total = energy_for_steps(paid)
    billed = (total / step).to_integral_value(ROUND_CEILING) * step
    if billed > total:
        extra = (billed - total) / _WH_PER_KWH
        why = StepRounding(total, billed, "Wh")
        rounding = PricedUse("energy", extra, KWH, last_paid.candidate, last_paid.period, why)
        uses.append(rounding)
        excl_total += rounding.excl_vat
        incl_total += rounding.incl_vat
    return Amount(excl_total, incl_total)


def _duration_cost(uses: list[PricedUse[int]], *, rounded: bool) -> Amount:
    """The period lines (price × ms / 3.6e6), then, if ``rounded``, the step rounding (s) of
    the session total as an integer ceiling of milliseconds, priced at the last paid period's
    component (§11.4.3); the rounding line is added to ``uses``."""
    if not uses:
        return NOTHING
    excl_total = incl_total = ZERO
    paid = delivered = 0
    last_paid = last_delivered = None
    for use in uses:
        excl_total += use.excl_vat
        incl_total += use.incl_vat
        volume = use.volume
        if volume > 0:
            delivered += volume
            last_delivered = use
            if use.candidate.component.price != 0:
                paid += volume
                last_paid = use
    if last_paid is None:  # nothing paid: the free periods carry the rounding
        last_paid, paid = last_delivered, delivered
    if not rounded or last_paid is None or last_paid.candidate.component.step_size <= 0:
        return Amount(excl_total, incl_total)
    billed = steps_up(paid, last_paid.candidate.component.step_size * MS_PER_SECOND)
    if billed > paid:
        why = StepRounding(Decimal(paid) / MS_PER_SECOND, Decimal(billed) / MS_PER_SECOND, "s")
        rounding = PricedUse(
            last_paid.category, billed - paid, HOURS, last_paid.candidate, last_paid.period, why
        )
        uses.append(rounding)
        excl_total += rounding.excl_vat
        incl_total += rounding.incl_vat
    return Amount(excl_total, incl_total)


def _flat_cost(uses: list[PricedUse[Decimal]]) -> Amount:
    if not uses:
        return NOTHING
    excl_total = incl_total = ZERO
    for use in uses:
        excl_total += use.excl_vat
        incl_total += use.incl_vat
    return Amount(excl_total, incl_total)


def _reservation_cost(
    time_uses: list[PricedUse[int]], flat_uses: list[PricedUse[Decimal]]
) -> Amount:
    """Reservation time is step-rounded like any duration; its flat fee is added once."""
    if not time_uses and not flat_uses:
        return NOTHING
    time, flat = _duration_cost(time_uses, rounded=True), _flat_cost(flat_uses)
    return Amount(time.excl_vat + flat.excl_vat, time.incl_vat + flat.incl_vat)


def _clamp(tariff: Tariff, total: Amount, adjustments: list[LimitAdjustment]) -> Amount:
    """OCPI 2.2.1 §11.3.1 min_price/max_price, applied to excl and incl independently; each
    raise is explained on a min_price line and each cut on a max_price line (added to
    ``adjustments``)."""
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
            adjustments.append(LimitAdjustment(category, excl_part, incl_part))
    return Amount(excl, incl)
