"""What ``price`` returns: OCPI totals as :class:`Amount` pairs and the :class:`PriceLine` s that
explain every amount, built on first access from compact records (most callers read only the
totals: invoice runs, live cost)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from chargeledger.domain.tariffs.plan import Candidate
from chargeledger.domain.tariffs.quantities import hours_of
from chargeledger.domain.text import quantity_text

ZERO = Decimal(0)


class Amount(NamedTuple):
    """Money excluding and including VAT. A named tuple because a priced CDR builds six of
    them and a tuple is the cheapest immutable record; ``+`` adds amounts, not tuples."""

    excl_vat: Decimal
    incl_vat: Decimal

    def __add__(self, other: Amount) -> Amount:  # type: ignore[override]
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


# A line before its PriceLine is built: category, excl, incl, volume (kWh or 1 as a Decimal,
# a duration as int milliseconds), unit, the candidate that priced it (None for min/max price),
# the period index and why (read by _explain).
Record = tuple[
    str, Decimal, Decimal, "Decimal | int", str, "Candidate | None", "int | None", tuple[Any, ...]
]


class PriceResult:
    """The OCPI totals of a priced CDR and the lines that explain every amount."""

    __slots__ = (
        "_lines",
        "_records",
        "currency",
        "tariff_id",
        "total_cost",
        "total_energy",
        "total_energy_cost",
        "total_fixed_cost",
        "total_parking_cost",
        "total_parking_time",
        "total_reservation_cost",
        "total_time",
        "total_time_cost",
    )

    def __init__(
        self,
        *,
        tariff_id: str,
        currency: str,
        total_cost: Amount,
        total_energy_cost: Amount,
        total_time_cost: Amount,
        total_parking_cost: Amount,
        total_fixed_cost: Amount,
        total_reservation_cost: Amount,
        total_energy: Decimal,
        total_time: Decimal,
        total_parking_time: Decimal,
        records: list[Record],
    ) -> None:
        self.tariff_id = tariff_id
        self.currency = currency
        self.total_cost = total_cost
        self.total_energy_cost = total_energy_cost
        self.total_time_cost = total_time_cost
        self.total_parking_cost = total_parking_cost
        self.total_fixed_cost = total_fixed_cost
        self.total_reservation_cost = total_reservation_cost
        self.total_energy = total_energy
        self.total_time = total_time
        self.total_parking_time = total_parking_time
        self._records = records
        self._lines: tuple[PriceLine, ...] | None = None

    @property
    def lines(self) -> tuple[PriceLine, ...]:
        """Every amount with its explanation, in the order: energy, time, parking,
        reservation, fixed, then min/max price adjustments."""
        if self._lines is None:
            self._lines = tuple(line_of(record) for record in self._records)
        return self._lines

    def _key(self) -> tuple[object, ...]:
        return (
            self.tariff_id,
            self.currency,
            self.total_cost,
            self.total_energy_cost,
            self.total_time_cost,
            self.total_parking_cost,
            self.total_fixed_cost,
            self.total_reservation_cost,
            self.total_energy,
            self.total_time,
            self.total_parking_time,
            self.lines,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PriceResult):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"PriceResult(tariff_id={self.tariff_id!r}, currency={self.currency!r}, "
            f"total_cost={self.total_cost!r}, lines={len(self._records)})"
        )

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


def line_of(record: Record) -> PriceLine:
    category, excl, incl, volume, unit, candidate, period, why = record
    if candidate is None:
        return PriceLine(category=category, excl_vat=excl, incl_vat=incl, explanation=why[0])
    component = candidate.component
    return PriceLine(
        category=category,
        excl_vat=excl,
        incl_vat=incl,
        explanation=_explain(category, candidate, period, why),
        volume=volume if isinstance(volume, Decimal) else hours_of(volume),
        unit=unit,
        unit_price=component.price,
        vat=component.vat,
        period_index=period,
        element_index=candidate.element,
    )


def _explain(category: str, candidate: Candidate, period: int | None, why: tuple[Any, ...]) -> str:
    number = 0 if period is None else period + 1
    if not why:
        return f"period {number}, element {candidate.element + 1}"
    if why == ("flat",):
        return f"flat fee of element {candidate.element + 1}, once per session"
    total, billed, unit = why
    return (
        f"step_size {candidate.component.step_size}: the session's {category} rounded up "
        f"from {quantity_text(total, unit)} to {quantity_text(billed, unit)}, "
        f"at period {number}'s price"
    )
