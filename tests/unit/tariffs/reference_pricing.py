"""The first, straightforward implementation of ``price`` (OCPI 2.2.1 §11), kept as a test
oracle: ``test_fast_path.py`` prices random tariffs and CDRs with it and with the compiled
engine in ``chargeledger.domain.tariffs.pricing`` and requires the same totals and lines.

It reads the tariff afresh for every period and dimension, which is easy to check against the
spec and about twenty times slower than the compiled engine. Do not import it from ``src``.

Durations are whole milliseconds as the CDR model carries them (issue 11 item 16): a period's
time cost is price × ms / 3,600,000 and step rounding of durations is an integer ceiling of
milliseconds; energy step rounding reads the total on the 1 mWh grid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.tariffs.cdr import Cdr, ChargingPeriod, DimensionType
from chargeledger.domain.tariffs.model import (
    ComponentType,
    PriceComponent,
    ReservationRestriction,
    Tariff,
    TariffElement,
)
from chargeledger.domain.tariffs.restrictions import PeriodContext, applies
from chargeledger.domain.text import quantity_text
from chargeledger.errors import InvalidInputError

ZERO = Decimal(0)
ONE = Decimal(1)
MS_PER_HOUR = 3_600_000
DURATIONS = (DimensionType.TIME, DimensionType.PARKING_TIME, DimensionType.RESERVATION_TIME)
CATEGORIES = ("energy", "time", "parking", "fixed", "reservation")


@dataclass(frozen=True, slots=True)
class Amount:
    excl_vat: Decimal
    incl_vat: Decimal

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.excl_vat + other.excl_vat, self.incl_vat + other.incl_vat)

    def rounded(self, places: int) -> dict[str, Decimal]:
        quantum = Decimal(1).scaleb(-places)
        return {
            "excl_vat": self.excl_vat.quantize(quantum, ROUND_HALF_UP),
            "incl_vat": self.incl_vat.quantize(quantum, ROUND_HALF_UP),
        }


NOTHING = Amount(ZERO, ZERO)


@dataclass(frozen=True, slots=True)
class PriceLine:
    """One priced amount and why: which period, element, component and rounding."""

    category: str
    excl_vat: Decimal
    incl_vat: Decimal
    explanation: str
    volume: Decimal = ZERO
    unit: str = ""
    unit_price: Decimal = ZERO
    vat: Decimal | None = None
    period_index: int | None = None
    element_index: int | None = None

    @property
    def amount(self) -> Amount:
        return Amount(self.excl_vat, self.incl_vat)


@dataclass(frozen=True, slots=True)
class PriceResult:
    tariff_id: str
    currency: str
    total_cost: Amount
    total_energy_cost: Amount
    total_time_cost: Amount
    total_parking_cost: Amount
    total_fixed_cost: Amount
    total_reservation_cost: Amount
    total_energy: Decimal
    total_time: Decimal
    total_parking_time: Decimal
    lines: tuple[PriceLine, ...]

    def ocpi_totals(self, places: int = 4) -> dict[str, object]:
        """The CDR totals with OCPI 2.2.1 §10.3.1 names, rounded half-up to ``places``."""
        quantum = Decimal(1).scaleb(-places)
        money = {
            name: getattr(self, name).rounded(places)
            for name in (
                "total_cost",
                "total_energy_cost",
                "total_time_cost",
                "total_parking_cost",
                "total_fixed_cost",
                "total_reservation_cost",
            )
        }
        quantities = {
            name: getattr(self, name).quantize(quantum, ROUND_HALF_UP)
            for name in ("total_energy", "total_time", "total_parking_time")
        }
        return {**money, **quantities}


@dataclass(slots=True)
class _Use:
    """A dimension priced in one period by one component."""

    period: int
    element: int
    component: PriceComponent
    volume: Decimal | int  # kWh (Decimal), 1 for FLAT, or milliseconds (int)


def price(cdr: Cdr, tariff: Tariff, time_zone: str = "UTC") -> PriceResult:
    if not cdr.charging_periods:
        raise InvalidInputError(
            "a CDR needs charging periods", code="invalid_cdr", field="charging_periods"
        )
    zone = ZoneInfo(time_zone)
    periods = cdr.charging_periods
    first = periods[0].start_date_time
    expired = _reservation_expired(periods)
    uses: dict[str, list[_Use]] = {c: [] for c in CATEGORIES}
    kwh = ZERO
    flat_charged = False
    for index, period in enumerate(periods):
        context = PeriodContext(
            local_start=period.start_date_time.astimezone(UTC).astimezone(zone),
            kwh_before=kwh,
            seconds_since_start=Decimal((period.start_date_time - first).total_seconds()),
            period=period,
        )
        charging = [(i, e) for i, e in enumerate(tariff.elements) if _charging_element(e)]
        if _reservation_only(period):
            # Reservation time is priced by reservation elements only: the charging
            # elements (and their start fee) do not apply before charging begins.
            charging = []
        for category, kind, dimension in (
            ("energy", ComponentType.ENERGY, DimensionType.ENERGY),
            ("time", ComponentType.TIME, DimensionType.TIME),
            ("parking", ComponentType.PARKING_TIME, DimensionType.PARKING_TIME),
        ):
            found = _first(charging, kind, context)
            if found is not None:
                element_index, component = found
                volume: Decimal | int = (
                    period.millis(dimension) or 0
                    if dimension in DURATIONS
                    else period.volume(dimension) or ZERO
                )
                uses[category].append(_Use(index, element_index, component, volume))
        if not flat_charged:
            flat = _first(charging, ComponentType.FLAT, context)
            if flat is not None:
                uses["fixed"].append(_Use(index, flat[0], flat[1], Decimal(1)))
                flat_charged = True
        reservation = period.millis(DimensionType.RESERVATION_TIME)
        if reservation:
            _reserve(tariff, context, index, reservation, expired, uses["reservation"])
        kwh += period.volume(DimensionType.ENERGY) or ZERO

    lines: list[PriceLine] = []
    lines += _priced(uses["energy"], "energy", rounded=True)
    parking_paid = any(u.volume > 0 for u in uses["parking"])
    lines += _priced(uses["time"], "time", rounded=not parking_paid)
    lines += _priced(uses["parking"], "parking", rounded=True)
    lines += _priced(
        [u for u in uses["reservation"] if u.component.type is ComponentType.TIME],
        "reservation",
        rounded=True,
    )
    lines += _flat(
        [u for u in uses["reservation"] if u.component.type is ComponentType.FLAT], "reservation"
    )
    lines += _flat(uses["fixed"], "fixed")
    totals = {c: _sum(line.amount for line in lines if line.category == c) for c in CATEGORIES}
    subtotal = _sum(totals.values())
    clamped, adjustments = _clamp(tariff, subtotal)
    lines += adjustments
    return PriceResult(
        tariff_id=tariff.id,
        currency=tariff.currency,
        total_cost=clamped,
        total_energy_cost=totals["energy"],
        total_time_cost=totals["time"],
        total_parking_cost=totals["parking"],
        total_fixed_cost=totals["fixed"],
        total_reservation_cost=totals["reservation"],
        total_energy=sum((p.volume(DimensionType.ENERGY) or ZERO for p in periods), ZERO),
        total_time=Decimal((cdr.end_date_time - first) // timedelta(microseconds=1))
        / (MS_PER_HOUR * 1000),
        total_parking_time=Decimal(sum(p.millis(DimensionType.PARKING_TIME) or 0 for p in periods))
        / MS_PER_HOUR,
        lines=tuple(lines),
    )


def _charging_element(element: TariffElement) -> bool:
    return element.restrictions is None or element.restrictions.reservation is None


def _first(
    elements: list[tuple[int, TariffElement]], kind: ComponentType, context: PeriodContext
) -> tuple[int, PriceComponent] | None:
    """The first element that has a component of ``kind`` and whose restrictions hold."""
    for index, element in elements:
        component = element.component(kind)
        if component is not None and applies(element.restrictions, context):
            return index, component
    return None


def _reservation_only(period: ChargingPeriod) -> bool:
    charging_dimensions = (DimensionType.ENERGY, DimensionType.TIME, DimensionType.PARKING_TIME)
    return bool(period.volume(DimensionType.RESERVATION_TIME)) and not any(
        period.volume(d) for d in charging_dimensions
    )


def _reservation_expired(periods: Iterable[ChargingPeriod]) -> bool:
    """A reservation that never turned into charging expired (OCPI 2.2.1 §11.4.5)."""
    return not any(
        (p.volume(DimensionType.ENERGY) or ZERO) > 0 or (p.millis(DimensionType.TIME) or 0) > 0
        for p in periods
    )


def _reserve(
    tariff: Tariff,
    context: PeriodContext,
    index: int,
    millis: int,
    expired: bool,
    uses: list[_Use],
) -> None:
    """Reservation time is priced by the TIME, and once by the FLAT, of the elements
    restricted to reservations (OCPI 2.2.1 §11.4.5). For an expired reservation each of the
    two comes from a RESERVATION_EXPIRES element where one has it, else from RESERVATION."""
    kinds = [ReservationRestriction.RESERVATION]
    if expired:
        kinds.insert(0, ReservationRestriction.RESERVATION_EXPIRES)
    pairs: tuple[tuple[ComponentType, Decimal | int], ...] = (
        (ComponentType.TIME, millis),
        (ComponentType.FLAT, ONE),
    )
    for component_type, volume in pairs:
        if component_type is ComponentType.FLAT and any(
            u.component.type is ComponentType.FLAT for u in uses
        ):
            continue
        for kind in kinds:
            elements = [
                (i, e)
                for i, e in enumerate(tariff.elements)
                if e.restrictions is not None and e.restrictions.reservation is kind
            ]
            found = _first(elements, component_type, context)
            if found is not None:
                uses.append(_Use(index, found[0], found[1], volume))
                break


def _priced(uses: list[_Use], category: str, rounded: bool) -> list[PriceLine]:
    """A line per period, then (if ``rounded``) the step rounding of the session total priced
    at the last paid period's component: energy in Wh on the 1 mWh grid, durations in whole
    milliseconds against a step of seconds."""
    lines = [
        _line(category, u.volume, u, f"period {u.period + 1}, element {u.element + 1}")
        for u in uses
        if u.volume
    ]
    paid = [u for u in uses if u.volume > 0 and u.component.price != 0] or [
        u for u in uses if u.volume > 0
    ]
    if not rounded or not paid or paid[-1].component.step_size <= 0:
        return lines
    last = paid[-1]
    step = last.component.step_size
    if category == "energy":
        kwh = sum((u.volume for u in paid), ZERO)
        total = (kwh * 1000).quantize(Decimal("0.001"), ROUND_HALF_EVEN)
        billed = (total / step).to_integral_value(ROUND_CEILING) * step
        extra: Decimal | int = (billed - total) / 1000
        shown = (total, billed, "Wh")
    else:
        millis = sum(int(u.volume) for u in paid)
        billed_ms = -(-millis // (step * 1000)) * step * 1000
        extra = billed_ms - millis
        shown = (Decimal(millis) / 1000, Decimal(billed_ms) / 1000, "s")
    if extra > 0:
        lines.append(
            _line(
                category,
                extra,
                last,
                f"step_size {step}: the session's {category} rounded up "
                f"from {quantity_text(shown[0], shown[2])} to {quantity_text(shown[1], shown[2])}, "
                f"at period {last.period + 1}'s price",
            )
        )
    return lines


def _flat(uses: list[_Use], category: str) -> list[PriceLine]:
    return [
        _line(category, Decimal(1), u, f"flat fee of element {u.element + 1}, once per session")
        for u in uses
    ]


def _line(category: str, volume: Decimal | int, use: _Use, why: str) -> PriceLine:
    """A priced amount: kWh or 1 × price, or milliseconds × price per hour / 3,600,000."""
    component = use.component
    if isinstance(volume, int):
        excl = component.price * volume / MS_PER_HOUR
        shown, unit = Decimal(volume) / MS_PER_HOUR, "h"
    else:
        excl = volume * component.price
        shown, unit = volume, {"energy": "kWh"}.get(category, "session")
    return PriceLine(
        category=category,
        excl_vat=excl,
        incl_vat=component.incl_vat(excl),
        explanation=why,
        volume=shown,
        unit=unit,
        unit_price=component.price,
        vat=component.vat,
        period_index=use.period,
        element_index=use.element,
    )


def _sum(amounts: Iterable[Amount]) -> Amount:
    total = NOTHING
    for amount in amounts:
        total = total + amount
    return total


def _clamp(tariff: Tariff, total: Amount) -> tuple[Amount, list[PriceLine]]:
    """OCPI 2.2.1 §11.3.1 min_price/max_price, applied to excl and incl independently; each
    raise is explained on a min_price line and each cut on a max_price line."""
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
    lines = []
    for category, excl_part, incl_part in (
        ("min_price", max(excl_change, ZERO), max(incl_change, ZERO)),
        ("max_price", min(excl_change, ZERO), min(incl_change, ZERO)),
    ):
        if excl_part or incl_part:
            lines.append(
                PriceLine(
                    category=category,
                    excl_vat=excl_part,
                    incl_vat=incl_part,
                    explanation=f"the tariff's {category.replace('_', ' ')} applies to the "
                    "session total",
                )
            )
    return Amount(excl, incl), lines
