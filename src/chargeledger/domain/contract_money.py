"""What a contract's terms (:mod:`chargeledger.domain.contract_terms`) do to money (issue 14).

- a price book's reach (:func:`applies_at`) and a discount book's tariff
  (:func:`contract_tariff`), which the one pricing function ``domain/tariffs/pricing.py::price``
  prices like any other (DESIGN §2: one pricing function);
- volume tiers over a billing period (:func:`tiered_energy`, :func:`tier_adjustment`);
- the minimum monthly commitment (:func:`commitment_shortfall`, :func:`prorated_commitment`);
- monthly fixed fees (:func:`fee_lines`);
- a car maker's allowance (:func:`draw`) and a site host's revenue share
  (:func:`revenue_share`).

All amounts are net in the contract's currency; results that become invoice lines are rounded
half-up to the currency's minor unit (DESIGN §2, the named rounding point "invoice line").
Arguments that are not amounts the terms allow raise ``invalid_contract_amount``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from chargeledger.domain.contract_terms import (
    HUNDRED,
    DiscountKind,
    FeeBasis,
    FixedFee,
    PriceBook,
    RevenueShare,
    TierModel,
    VolumeTiers,
    invalid,
)
from chargeledger.domain.tariffs.model import (
    ComponentType,
    PriceComponent,
    PriceLimit,
    Tariff,
    TariffElement,
)
from chargeledger.errors import InvalidInputError
from chargeledger.money import MAX_AMOUNT, ZERO, Currency

PRICE_QUANTUM = Decimal("0.0001")  # OCPI 2.2.1 §16.4: numbers carry 4 decimals
OCPI_ID_LENGTH = 36  # OCPI 2.2.1 §11.3.1 Tariff.id: CiString(36)
MAX_COUNT = 1_000_000  # cards, vehicles or sites one fee line counts


def _bad(field: str, message: str) -> InvalidInputError:
    return InvalidInputError(f"{field}: {message}", code="invalid_contract_amount", field=field)


def _argument(value: object, field: str, *, negative: bool = False) -> Decimal:
    """A finite Decimal argument (non-negative unless ``negative``), below 10^9 in size."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidInputError(
            f"{field} must be a finite Decimal", code="invalid_contract_amount", field=field
        )
    if (value < 0 and not negative) or abs(value) >= MAX_AMOUNT:
        bound = "0 to" if not negative else "below"
        raise InvalidInputError(
            f"{field} must be {bound} {MAX_AMOUNT}", code="invalid_contract_amount", field=field
        )
    return value


def _minor(amount: Decimal, currency: Currency) -> Decimal:
    return amount.quantize(Currency.of(currency).quantum, ROUND_HALF_UP)


# --- price books --------------------------------------------------------------------------


def applies_at(book: PriceBook, site_id: uuid.UUID, power_kw: Decimal | None) -> bool:
    """Whether ``book`` prices a session at ``site_id`` on a connector of ``power_kw`` (its
    rated power). No sites listed: every site. A power class holds ``min_power_kw``
    (inclusive) to ``max_power_kw`` (exclusive), as OCPI 2.2.1 §11.4.6 reads min_power and
    max_power; a book with a power class does not apply where the power is unknown (None),
    since nothing shows the session is in the class: the tariff that would apply prices it."""
    if book.site_ids and site_id not in book.site_ids:
        return False
    if book.min_power_kw is None and book.max_power_kw is None:
        return True
    if power_kw is None:
        return False
    if book.min_power_kw is not None and power_kw < book.min_power_kw:
        return False
    return book.max_power_kw is None or power_kw < book.max_power_kw


def contract_tariff(tariff: Tariff, book: PriceBook) -> Tariff:
    """The tariff a discount book makes of ``tariff`` (the one that would apply), for
    ``price()`` to price as it prices any tariff, restrictions and step sizes unchanged.

    - percent p: every component price, and min_price/max_price (excl and incl VAT), times
      (1 - p/100), rounded half-up to 4 decimals: OCPI 2.2.1 §16.4 numbers carry 4 decimals,
      and half-up is the house rounding (DESIGN §2). The rounding moves a price by at most
      0.00005 per unit (0.05 on 1,000 kWh) either way.
    - per kWh v: every ENERGY price less v, never below 0 (a price is never negative,
      §11.4.3); TIME, PARKING_TIME, FLAT and the min/max price stay: the discount is per kWh,
      so a session capped by max_price stays capped.

    The id is the original's with ``-K`` and 8 hex digits of a SHA-256 over the original id and
    the discount (same tariff and discount, same id), the original cut so the whole fits
    OCPI's 36 characters. The display texts (``tariff_alt_text``) state the list prices and
    are dropped (AFIR art. 5: a price shown must be the price charged); the rest is kept.
    A tariff-override book has no discount to apply: ``invalid_contract_terms``.
    """
    discount = book.discount
    if discount is None:
        raise invalid("price_book.discount", "a tariff override has no discount to apply")
    value = discount.value
    min_price, max_price = tariff.min_price, tariff.max_price
    if discount.kind is DiscountKind.PERCENT:
        factor = (HUNDRED - value) / HUNDRED

        def priced(component: PriceComponent) -> Decimal:
            return (component.price * factor).quantize(PRICE_QUANTUM, ROUND_HALF_UP)

        min_price, max_price = _scaled(min_price, factor), _scaled(max_price, factor)
    else:

        def priced(component: PriceComponent) -> Decimal:
            if component.type is not ComponentType.ENERGY:
                return component.price
            return max(ZERO, component.price - value)

    elements = tuple(
        TariffElement(
            tuple(replace(c, price=priced(c)) for c in element.price_components),
            element.restrictions,
        )
        for element in tariff.elements
    )
    return replace(
        tariff,
        id=contract_tariff_id(tariff.id, discount.kind, value),
        elements=elements,
        tariff_alt_text=(),
        present=tariff.present - {"tariff_alt_text"},
        min_price=min_price,
        max_price=max_price,
    )


def _scaled(limit: PriceLimit | None, factor: Decimal) -> PriceLimit | None:
    if limit is None:
        return None
    incl = limit.incl_vat
    return PriceLimit(
        (limit.excl_vat * factor).quantize(PRICE_QUANTUM, ROUND_HALF_UP),
        None if incl is None else (incl * factor).quantize(PRICE_QUANTUM, ROUND_HALF_UP),
    )


def contract_tariff_id(tariff_id: str, kind: DiscountKind, value: Decimal) -> str:
    """``<original>-K<8 hex>``, at most 36 characters (see :func:`contract_tariff`)."""
    key = f"{tariff_id}|{kind.value}|{value.normalize():f}".encode()
    suffix = "-K" + hashlib.sha256(key).hexdigest()[:8].upper()
    return tariff_id[: OCPI_ID_LENGTH - len(suffix)] + suffix


# --- volume tiers -------------------------------------------------------------------------


def tiered_energy(tiers: VolumeTiers, kwh: Decimal, currency: Currency) -> Decimal:
    """The net the period's ``kwh`` (all sessions of the contract in the billing period)
    cost under ``tiers``, rounded half-up to the minor unit.

    A band's ``from_kwh`` means "beyond": the band holds the kWh above its start up to the
    next band's start, inclusive. Marginal: each band's kWh at its price. Retroactive: every
    kWh at the price of the highest band reached, and a band is reached by going beyond its
    start, so with bands 0 → 0.39 and 1,000 → 0.34 exactly 1,000 kWh are all at 0.39 (the
    same 390.00 under both models) and 1,000.001 kWh all at 0.34. 0 kWh cost 0."""
    return _minor(_tiered(tiers, _argument(kwh, "kwh")), currency)


def _tiered(tiers: VolumeTiers, kwh: Decimal) -> Decimal:
    bands = tiers.bands
    if tiers.model is TierModel.RETROACTIVE:
        reached = [band for band in bands if kwh > band.from_kwh]
        return kwh * reached[-1].price_per_kwh if reached else ZERO
    total = ZERO
    ends: list[Decimal | None] = [band.from_kwh for band in bands[1:]]
    for band, end in zip(bands, [*ends, None], strict=True):
        if kwh <= band.from_kwh:
            break
        top = kwh if end is None else min(kwh, end)
        total += (top - band.from_kwh) * band.price_per_kwh
    return total


def tier_adjustment(
    tiers: VolumeTiers, kwh: Decimal, energy_charged: Decimal, currency: Currency
) -> Decimal:
    """The invoice line that brings the energy the period's sessions were charged
    (``energy_charged``, net, the sum of their Energy components) to what the tiers make it:
    :func:`tiered_energy` less the charged, rounded half-up to the minor unit. Negative: a
    discount line; positive where sessions were charged below the tier price."""
    charged = _argument(energy_charged, "energy_charged")
    return _minor(tiered_energy(tiers, kwh, currency) - charged, currency)


# --- commitment ---------------------------------------------------------------------------


def commitment_shortfall(commitment: Decimal, period_net: Decimal, currency: Currency) -> Decimal:
    """What the period's invoice adds when the contract's net in the period (``period_net``:
    what counts towards the commitment, the caller's sum) stays below ``commitment``: the
    difference, rounded half-up to the minor unit, never below 0 and never above the
    commitment (a period whose credits exceed its charges owes the whole commitment)."""
    _argument(commitment, "commitment")
    net = _argument(period_net, "period_net", negative=True)
    return _minor(commitment - min(max(net, ZERO), commitment), currency)


def prorated_commitment(
    commitment: Decimal, days_covered: int, days_in_month: int, currency: Currency
) -> Decimal:
    """The commitment of a month the contract covers only in part (it starts or ends within
    it): pro rata by calendar days, ``commitment × days_covered / days_in_month``, rounded
    half-up to the minor unit from the exact fraction (500.00 over 10 of 31 days: 161.29)."""
    _argument(commitment, "commitment")
    if not isinstance(days_in_month, int) or not 28 <= days_in_month <= 31:
        raise _bad("days_in_month", "a month has 28 to 31 days")
    if not isinstance(days_covered, int) or not 0 <= days_covered <= days_in_month:
        raise _bad("days_covered", f"must be 0 to {days_in_month}")
    return half_up(Fraction(commitment) * days_covered / days_in_month, currency)


def half_up(exact: Fraction, currency: Currency) -> Decimal:
    """An exact non-negative fraction rounded half-up to the currency's minor unit."""
    quantum = Currency.of(currency).quantum
    units = int((exact / Fraction(quantum) * 2 + 1) // 2)
    return (Decimal(units) * quantum).quantize(quantum)


# --- fixed fees ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeeCharge:
    """One fee line of a month's invoice: ``quantity`` × ``unit_amount`` = ``net``."""

    description: str
    quantity: int
    unit_amount: Decimal
    net: Decimal


def fee_lines(fees: Sequence[FixedFee], counts: Mapping[FeeBasis, int]) -> tuple[FeeCharge, ...]:
    """The month's fee lines, in the order of the terms: a per-card, per-vehicle or per-site
    fee times the month's count of its basis (none counted: no line), a flat fee once. The
    amounts carry the currency's decimals already (the JSON reader checks them), so the
    products are exact."""
    lines = []
    for fee in fees:
        quantity = 1 if fee.basis is FeeBasis.FLAT else counts.get(fee.basis, 0)
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise _bad(f"counts.{fee.basis.value}", "must be a whole number")
        if not 0 <= quantity <= MAX_COUNT:
            raise _bad(f"counts.{fee.basis.value}", f"must be 0 to {MAX_COUNT}")
        if quantity:
            lines.append(FeeCharge(fee.description, quantity, fee.amount, fee.amount * quantity))
    return tuple(lines)


# --- allowance and revenue share ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draw:
    """A session against an allowance: ``covered`` by it, ``left`` after it, ``beyond`` it
    (billed normally); covered + beyond = wanted, covered + left = what was left."""

    covered: Decimal
    left: Decimal
    beyond: Decimal


def draw(allowance_left: Decimal, wanted: Decimal) -> Draw:
    """A session's amount (kWh or money, the allowance's unit) covered up to what is left;
    exact, no rounding (the allowance's unit is the session's)."""
    left = _argument(allowance_left, "allowance_left")
    amount = _argument(wanted, "wanted")
    covered = min(left, amount)
    return Draw(covered, left - covered, amount - covered)


def revenue_share(
    share: RevenueShare, net_revenue: Decimal, kwh: Decimal, currency: Currency
) -> Decimal:
    """A site host's share for a settlement period: ``percent`` of the net charging revenue
    at its sites, or ``per_kwh`` times the energy delivered there, rounded half-up to the
    minor unit (the amount of the self-billed document's line, EN 16931 BT-131)."""
    revenue = _argument(net_revenue, "net_revenue")
    energy = _argument(kwh, "kwh")
    if share.percent is not None:
        return _minor(revenue * share.percent / HUNDRED, currency)
    assert share.per_kwh is not None  # RevenueShare holds exactly one
    return _minor(energy * share.per_kwh, currency)
