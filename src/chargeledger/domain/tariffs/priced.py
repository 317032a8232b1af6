"""What ``price`` returns: OCPI totals as :class:`Amount` pairs and the :class:`PriceLine` s that
explain every amount, built on first access from compact records (most callers read only the
totals: invoice runs, live cost)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple, TypeVar

from chargeledger.domain.tariffs.plan import Candidate
from chargeledger.domain.tariffs.quantities import MS_PER_HOUR_DECIMAL, hours_between, hours_of
from chargeledger.money import ZERO

# The units of priced lines: energy, a duration (held in ms, shown in hours), a flat fee.
KWH = "kWh"
HOURS = "h"
FLAT_UNIT = "session"


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
ONE = Decimal(1)


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


_new_object = object.__new__
(
    _set_category,
    _set_excl_vat,
    _set_incl_vat,
    _set_explanation,
    _set_volume,
    _set_unit,
    _set_unit_price,
    _set_vat,
    _set_period_index,
    _set_element_index,
) = (getattr(PriceLine, name).__set__ for name in PriceLine.__slots__)


def _price_line(
    category: str,
    excl_vat: Decimal,
    incl_vat: Decimal,
    explanation: str,
    volume: Decimal,
    unit: str,
    unit_price: Decimal,
    vat: Decimal | None,
    period_index: int,
    element_index: int,
) -> PriceLine:
    """``PriceLine(...)`` without the frozen dataclass's ``__init__``, which goes through
    ``object.__setattr__`` once per field and was half the cost of building a CDR's lines; the
    slots are filled through their own descriptors, so the result is the same immutable,
    equal-comparing line."""
    line = _new_object(PriceLine)
    _set_category(line, category)
    _set_excl_vat(line, excl_vat)
    _set_incl_vat(line, incl_vat)
    _set_explanation(line, explanation)
    _set_volume(line, volume)
    _set_unit(line, unit)
    _set_unit_price(line, unit_price)
    _set_vat(line, vat)
    _set_period_index(line, period_index)
    _set_element_index(line, element_index)
    return line


class StepRounding(NamedTuple):
    """A session total rounded up to the component's step_size (OCPI 2.2.1 §11.4.3), in
    thousandths of the step's unit: mWh for energy (the 1 mWh grid step rounding reads it
    on), ms for durations. Whole numbers, so that making one costs no Decimal division and
    its text no decimal context (:func:`thousandths_text`). A named tuple: immutable and the
    cheapest record to make."""

    total: int
    billed: int
    unit: str  # "Wh" or "s"


Volume = TypeVar("Volume", Decimal, int)

# A line before its :class:`PriceLine` is built: one period's use of a dimension priced by the
# element that applies (§11.4.6), or the step rounding of a category's session total priced
# at its last paid period (``rounding`` set): (volume, candidate, period index, excl_vat,
# incl_vat, rounding). A plain tuple, since ``price`` makes one per line of every CDR and a
# tuple costs a fraction of an object; it never leaves :class:`PriceResult`. The category
# and unit are those of the list that holds it (:data:`USE_GROUPS`).
PricedUse = tuple[Volume, Candidate, int, Decimal, Decimal, "StepRounding | None"]

# A category's running sums, taken as its uses are made (``walk.priced_uses``): excl_vat,
# incl_vat, the paid volume and the last paid use (None where nothing was paid).
Sums = tuple[Decimal, Decimal, Volume, "PricedUse[Volume] | None"]


def energy_use(
    kwh: Decimal, candidate: Candidate, period: int, rounding: StepRounding | None = None
) -> PricedUse[Decimal]:
    """Energy costs kWh × price; VAT per component (§11.4.3)."""
    excl = kwh * candidate.price
    vat = candidate.vat_factor
    return (kwh, candidate, period, excl, excl if vat is None else excl * vat, rounding)


def duration_use(
    millis: int, candidate: Candidate, period: int, rounding: StepRounding | None = None
) -> PricedUse[int]:
    """A duration (whole ms) costs its price per hour × ms / 3.6e6 (§11.4.3)."""
    excl = candidate.price * millis / MS_PER_HOUR_DECIMAL
    vat = candidate.vat_factor
    return (millis, candidate, period, excl, excl if vat is None else excl * vat, rounding)


def flat_use(candidate: Candidate, period: int) -> PricedUse[Decimal]:
    """A flat fee costs its price, once (§11.4.2 FLAT)."""
    excl = candidate.price
    vat = candidate.vat_factor
    return (ONE, candidate, period, excl, excl if vat is None else excl * vat, None)


def add_lines(
    category: str,
    unit: str,
    uses: Sequence[PricedUse[Decimal] | PricedUse[int]],
    lines: list[PriceLine],
) -> None:
    """The :class:`PriceLine` s of a list of priced uses of ``category`` and ``unit``, added
    to ``lines``; one call per list and the explanations written inline, as this runs for
    every line of every explained CDR."""
    flat = unit == FLAT_UNIT
    for volume, candidate, period, excl, incl, rounding in uses:
        component = candidate.component
        if rounding is not None:
            explanation = _rounding_explanation(category, component.step_size, period, rounding)
        elif flat:
            explanation = f"flat fee of element {candidate.element + 1}, once per session"
        else:
            explanation = f"period {period + 1}, element {candidate.element + 1}"
        lines.append(
            _price_line(
                category,
                excl,
                incl,
                explanation,
                volume if isinstance(volume, Decimal) else hours_of(volume),
                unit,
                component.price,
                component.vat,
                period,
                candidate.element,
            )
        )


def _rounding_explanation(category: str, step: int, period: int, rounding: StepRounding) -> str:
    unit = rounding.unit
    return (
        f"step_size {step}: the session's "
        f"{category} rounded up from {thousandths_text(rounding.total, unit)} "
        f"to {thousandths_text(rounding.billed, unit)}, "
        f"at period {period + 1}'s price"
    )


def thousandths_text(count: int, unit: str) -> str:
    """``count`` thousandths of ``unit`` as :func:`~chargeledger.domain.text.quantity_text`
    writes that quantity for a unit shown to 3 decimals (Wh, s): ``1500`` → ``1.5 s``,
    ``12000`` → ``12 Wh``; digits of the integer with the point placed, since a step rounding
    is explained on every explained CDR and the decimal context, normalize and quantize cost
    ten times the rest of its line. A property test holds the two equal."""
    whole, fraction = divmod(count, 1000)
    if fraction:
        return f"{whole}.{fraction:03d}".rstrip("0") + f" {unit}"
    return f"{whole} {unit}"


@dataclass(slots=True)
class LimitAdjustment:
    """The raise of the session total to the tariff's min_price or its cut to max_price
    (§11.3.1); ``category`` is ``min_price`` or ``max_price``."""

    category: str
    excl_vat: Decimal
    incl_vat: Decimal

    def line(self) -> PriceLine:
        limit = self.category.replace("_", " ")
        return PriceLine(
            category=self.category,
            excl_vat=self.excl_vat,
            incl_vat=self.incl_vat,
            explanation=f"the tariff's {limit} applies to the session total",
        )


# The category and unit of each list of priced uses, in the order of ``PriceResult.lines``.
USE_GROUPS = (
    ("energy", KWH),
    ("time", HOURS),
    ("parking", HOURS),
    ("reservation", HOURS),
    ("reservation", FLAT_UNIT),
    ("fixed", FLAT_UNIT),
)
UseLists = tuple[
    Sequence[PricedUse[Decimal]],
    Sequence[PricedUse[int]],
    Sequence[PricedUse[int]],
    Sequence[PricedUse[int]],
    Sequence[PricedUse[Decimal]],
    Sequence[PricedUse[Decimal]],
]


class PriceResult:
    """The OCPI totals of a priced CDR and the lines that explain every amount."""

    __slots__ = (
        "_adjustments",
        "_charged_from",
        "_charged_until",
        "_lines",
        "_parking_ms",
        "_uses",
        "currency",
        "tariff_id",
        "total_cost",
        "total_energy",
        "total_energy_cost",
        "total_fixed_cost",
        "total_parking_cost",
        "total_reservation_cost",
        "total_time_cost",
    )

    def __init__(
        self,
        tariff_id: str,
        currency: str,
        total_cost: Amount,
        total_energy_cost: Amount,
        total_time_cost: Amount,
        total_parking_cost: Amount,
        total_fixed_cost: Amount,
        total_reservation_cost: Amount,
        total_energy: Decimal,
        charged_from: datetime,
        charged_until: datetime,
        parking_ms: int,
        uses: UseLists,
        adjustments: Sequence[LimitAdjustment],
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
        self._charged_from = charged_from
        self._charged_until = charged_until
        self._parking_ms = parking_ms
        self._uses = uses
        self._adjustments = adjustments
        self._lines: tuple[PriceLine, ...] | None = None

    @property
    def total_time(self) -> Decimal:
        """Hours from the first period's start to the CDR's end (OCPI ``total_time``),
        computed when read: an invoice run reads the costs only (issue 17)."""
        return hours_between(self._charged_from, self._charged_until)

    @property
    def total_parking_time(self) -> Decimal:
        """Hours of parking (OCPI ``total_parking_time``), as :func:`.hours_of` gives them."""
        return hours_of(self._parking_ms)

    @property
    def lines(self) -> tuple[PriceLine, ...]:
        """Every amount with its explanation, in the order: energy, time, parking,
        reservation, fixed, then min/max price adjustments."""
        if self._lines is None:
            groups: tuple[Sequence[PricedUse[Decimal] | PricedUse[int]], ...] = self._uses
            lines: list[PriceLine] = []
            for (category, unit), group in zip(USE_GROUPS, groups, strict=True):
                if group:
                    add_lines(category, unit, group, lines)
            lines.extend(adjustment.line() for adjustment in self._adjustments)
            self._lines = tuple(lines)
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
            f"total_cost={self.total_cost!r}, "
            f"lines={sum(map(len, self._uses)) + len(self._adjustments)})"
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
