"""The money terms of a contract version (issue 14): what a fleet, employer, site host or car
maker agreed to pay or be paid, as checked, frozen values.

A contract version (:class:`chargeledger.domain.contracts.ContractVersion`) says *when* it
governs; its :class:`Terms` say *what it costs*: a price book (a tariff override or a discount
on the tariff that would apply, optionally for some sites or a connector power class), volume
tiers over the billing period, a minimum monthly commitment, monthly fixed fees, the credit
limit and payment terms, the references every invoice line carries (purchase order, cost
centre, annex grouping), a car maker's pre-paid allowance and a site host's revenue share.

Every amount is net (excluding VAT) in the contract's currency: VAT follows the supply
(``domain/billing.py::supply_vat``), never the contract. Each value checks itself when it is
made, so terms built in code obey the same rules as terms read from JSON
(:mod:`chargeledger.domain.contract_terms_json`); a broken rule raises
``invalid_contract_terms`` with ``field`` the path inside the value (the JSON reader prefixes
the path of the value in the document). Decimals a currency cannot hold are checked where the
currency is known (the JSON reader). What the terms do to money is in
:mod:`chargeledger.domain.contract_money`; their ledger entries in
:mod:`chargeledger.domain.contract_postings`.

Bounds on every number (DESIGN §6: every numeric input has bounds): amounts below
``money.MAX_AMOUNT`` (10^9), unit prices below 10^5 per kWh with at most 4 decimals (OCPI
2.2.1 §16.4 numbers: a tariff price has 4 decimals), energy to the Wh (3 decimals), power to
the W up to 10 MW (a megawatt charger is 3.75 MW), at most 20 tiers, 20 fees and 1,000 sites.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from chargeledger.domain.accounts import MAX_PAYMENT_TERMS_DAYS
from chargeledger.errors import InvalidInputError
from chargeledger.money import MAX_AMOUNT, ZERO

CODE = "invalid_contract_terms"
MAX_TIERS = 20
MAX_FEES = 20
MAX_SITES = 1000
MAX_UNIT_PRICE = Decimal(100_000)  # per kWh, any currency (IDR, KRW prices run to thousands)
MAX_KWH = Decimal(1_000_000_000)
MAX_POWER_KW = Decimal(10_000)
UNIT_PRICE_PLACES = 4  # OCPI 2.2.1 §16.4
KWH_PLACES = 3  # the Wh
REFERENCE_LENGTH = 64  # purchase order, cost centre (EN 16931 BT-13, BT-19, BT-133 are free)
DESCRIPTION_LENGTH = 100
HUNDRED = Decimal(100)

E = TypeVar("E", bound=StrEnum)


def invalid(field: str, message: str) -> InvalidInputError:
    """The one error of broken terms: ``invalid_contract_terms`` at ``field``."""
    return InvalidInputError(f"{field}: {message}", code=CODE, field=field)


@dataclass(frozen=True, slots=True)
class Bounds:
    """The range (and decimals) a number of the terms may take: ``low`` < or <= value < or
    <= ``high``, per the open ends."""

    low: Decimal
    high: Decimal
    low_open: bool
    high_open: bool
    places: int | None = None

    def check(self, value: object, field: str) -> Decimal:
        if not isinstance(value, Decimal) or not value.is_finite():
            raise invalid(field, "must be a finite Decimal")
        if value.is_signed() and self.low >= 0:
            raise invalid(field, "must not be negative")
        if (value <= self.low) if self.low_open else (value < self.low):
            bound = "above" if self.low_open else "at least"
            raise invalid(field, f"must be {bound} {self.low}")
        if (value >= self.high) if self.high_open else (value > self.high):
            bound = "below" if self.high_open else "at most"
            raise invalid(field, f"must be {bound} {self.high}")
        if self.places is not None and _places(value) > self.places:
            raise invalid(field, f"must have at most {self.places} decimals")
        return value


def _places(value: Decimal) -> int:
    """Decimals of ``value`` that matter (trailing zeros aside)."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


POSITIVE_MONEY = Bounds(ZERO, MAX_AMOUNT, low_open=True, high_open=True)
MONEY = Bounds(ZERO, MAX_AMOUNT, low_open=False, high_open=True)
UNIT_PRICE = Bounds(ZERO, MAX_UNIT_PRICE, False, True, UNIT_PRICE_PLACES)
POSITIVE_UNIT_PRICE = Bounds(ZERO, MAX_UNIT_PRICE, True, True, UNIT_PRICE_PLACES)
KWH = Bounds(ZERO, MAX_KWH, False, True, KWH_PLACES)
POSITIVE_KWH = Bounds(ZERO, MAX_KWH, True, True, KWH_PLACES)
POWER = Bounds(ZERO, MAX_POWER_KW, False, False, KWH_PLACES)
DISCOUNT_PERCENT = Bounds(ZERO, HUNDRED, True, False, UNIT_PRICE_PLACES)  # (0, 100]
SHARE_PERCENT = Bounds(ZERO, HUNDRED, True, True, UNIT_PRICE_PLACES)  # (0, 100)


def member(kind: type[E], value: object, field: str) -> E:
    """The member of ``kind`` that ``value`` names (a member or its string)."""
    allowed = ", ".join(item.value for item in kind)
    if not isinstance(value, str):
        raise invalid(field, f"must be one of {allowed}")
    try:
        return kind(value)
    except ValueError as exc:
        raise invalid(field, f"{value!r} is not one of {allowed}") from exc


def _set(record: object, name: str, value: object) -> None:
    object.__setattr__(record, name, value)


def _text(value: object, field: str, max_length: int) -> str:
    """Stored text we print on invoices: one line, printable, trimmed, bounded."""
    if not isinstance(value, str) or not value.strip():
        raise invalid(field, "must be a non-empty string")
    if value != value.strip() or not value.isprintable():
        raise invalid(field, "must be printable text without leading or trailing spaces")
    if len(value) > max_length:
        raise invalid(field, f"must be at most {max_length} characters")
    return value


class DiscountKind(StrEnum):
    PERCENT = "percent"  # off every price component of the tariff
    PER_KWH = "per_kwh"  # off the ENERGY price


class TierModel(StrEnum):
    RETROACTIVE = "retroactive"  # all kWh at the price of the highest band reached
    MARGINAL = "marginal"  # each band's kWh at its own price


class FeeBasis(StrEnum):
    PER_CARD = "per_card"
    PER_VEHICLE = "per_vehicle"
    PER_SITE = "per_site"
    FLAT = "flat"


class AnnexGrouping(StrEnum):
    """How the consolidated invoice's annex lists the sessions."""

    PER_DRIVER = "per_driver"
    PER_VEHICLE = "per_vehicle"
    PER_COST_CENTRE = "per_cost_centre"


class AllowanceUnit(StrEnum):
    KWH = "kwh"
    MONEY = "money"  # net, in the contract's currency


@dataclass(frozen=True, slots=True)
class Discount:
    """A discount on the tariff that would apply: ``percent`` in (0, 100] off every price,
    or ``per_kwh`` (> 0, a unit price) off the energy price."""

    kind: DiscountKind
    value: Decimal

    def __post_init__(self) -> None:
        _set(self, "kind", member(DiscountKind, self.kind, "kind"))
        bounds = DISCOUNT_PERCENT if self.kind is DiscountKind.PERCENT else POSITIVE_UNIT_PRICE
        bounds.check(self.value, "value")


@dataclass(frozen=True, slots=True)
class PriceBook:
    """Which prices the contract's sessions pay: a tariff of its own (``tariff_id``, a stored
    tariff version) or a ``discount`` on the tariff that would apply, exactly one. It prices
    sessions at ``site_ids`` (empty: every site) on connectors of ``min_power_kw`` (inclusive)
    to ``max_power_kw`` (exclusive), the reading of OCPI 2.2.1 §11.4.6 min_power/max_power."""

    tariff_id: uuid.UUID | None = None
    discount: Discount | None = None
    site_ids: frozenset[uuid.UUID] = frozenset()
    min_power_kw: Decimal | None = None
    max_power_kw: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.tariff_id is None) == (self.discount is None):
            raise invalid("tariff_id", "a price book has a tariff_id or a discount, not both")
        if self.tariff_id is not None and not isinstance(self.tariff_id, uuid.UUID):
            raise invalid("tariff_id", "must be a UUID")
        _set(self, "site_ids", frozenset(self.site_ids))
        if len(self.site_ids) > MAX_SITES:
            raise invalid("site_ids", f"at most {MAX_SITES} sites")
        if not all(isinstance(site, uuid.UUID) for site in self.site_ids):
            raise invalid("site_ids", "must be UUIDs")
        for name in ("min_power_kw", "max_power_kw"):
            if getattr(self, name) is not None:
                POWER.check(getattr(self, name), name)
        low, high = self.min_power_kw, self.max_power_kw
        if low is not None and high is not None and low >= high:
            raise invalid("max_power_kw", "must be above min_power_kw")


@dataclass(frozen=True, slots=True)
class TierBand:
    """Beyond ``from_kwh`` kWh in the period, energy costs ``price_per_kwh`` (net)."""

    from_kwh: Decimal
    price_per_kwh: Decimal

    def __post_init__(self) -> None:
        KWH.check(self.from_kwh, "from_kwh")
        UNIT_PRICE.check(self.price_per_kwh, "price_per_kwh")


@dataclass(frozen=True, slots=True)
class VolumeTiers:
    """Energy prices by the period's volume: the first band from 0 kWh, each next one from a
    higher ``from_kwh``; at most :data:`MAX_TIERS` bands."""

    model: TierModel
    bands: tuple[TierBand, ...]

    def __post_init__(self) -> None:
        _set(self, "model", member(TierModel, self.model, "model"))
        _set(self, "bands", tuple(self.bands))
        if not self.bands or len(self.bands) > MAX_TIERS:
            raise invalid("bands", f"1 to {MAX_TIERS} bands")
        if self.bands[0].from_kwh != 0:
            raise invalid("bands[0].from_kwh", "the first band starts at 0 kWh")
        for index in range(1, len(self.bands)):
            if self.bands[index].from_kwh <= self.bands[index - 1].from_kwh:
                raise invalid(f"bands[{index}].from_kwh", "must be above the band before")


@dataclass(frozen=True, slots=True)
class FixedFee:
    """A monthly net ``amount`` per card, vehicle or site, or once (``flat``)."""

    basis: FeeBasis
    amount: Decimal
    description: str

    def __post_init__(self) -> None:
        _set(self, "basis", member(FeeBasis, self.basis, "basis"))
        POSITIVE_MONEY.check(self.amount, "amount")
        _text(self.description, "description", DESCRIPTION_LENGTH)


@dataclass(frozen=True, slots=True)
class Allowance:
    """A car maker's pre-paid allowance for its buyers: kWh, or a net amount of money, and
    the net ``price`` the car maker pays for it (a money allowance costs its amount unless
    a price is agreed; a kWh allowance needs its price)."""

    unit: AllowanceUnit
    amount: Decimal
    price: Decimal | None = None

    def __post_init__(self) -> None:
        _set(self, "unit", member(AllowanceUnit, self.unit, "unit"))
        (POSITIVE_KWH if self.unit is AllowanceUnit.KWH else POSITIVE_MONEY).check(
            self.amount, "amount"
        )
        if self.price is not None:
            POSITIVE_MONEY.check(self.price, "price")
        elif self.unit is AllowanceUnit.KWH:
            raise invalid("price", "a kWh allowance has the price the car maker pays for it")

    @property
    def sale_price(self) -> Decimal:
        """The net the car maker is invoiced for the allowance."""
        return self.amount if self.price is None else self.price


@dataclass(frozen=True, slots=True)
class RevenueShare:
    """A site host's share of the net charging revenue at its sites: a ``percent`` in
    (0, 100) of it, or ``per_kwh`` (a unit price) of the energy delivered; exactly one."""

    percent: Decimal | None = None
    per_kwh: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.percent is None) == (self.per_kwh is None):
            raise invalid("percent", "a revenue share is a percent or per_kwh, not both")
        if self.percent is not None:
            SHARE_PERCENT.check(self.percent, "percent")
        if self.per_kwh is not None:
            POSITIVE_UNIT_PRICE.check(self.per_kwh, "per_kwh")


@dataclass(frozen=True, slots=True)
class Terms:
    """The money terms of one contract version; every term is optional (none: the account's
    own tariff, payment terms and invoices apply)."""

    price_book: PriceBook | None = None
    tiers: VolumeTiers | None = None
    monthly_commitment: Decimal | None = None
    fixed_fees: tuple[FixedFee, ...] = ()
    credit_limit: Decimal | None = None
    payment_terms_days: int | None = None
    purchase_order: str | None = None
    cost_centre: str | None = None
    annex: AnnexGrouping | None = None
    allowance: Allowance | None = None
    revenue_share: RevenueShare | None = None

    def __post_init__(self) -> None:
        if self.monthly_commitment is not None:
            POSITIVE_MONEY.check(self.monthly_commitment, "monthly_commitment")
        _set(self, "fixed_fees", tuple(self.fixed_fees))
        if len(self.fixed_fees) > MAX_FEES:
            raise invalid("fixed_fees", f"at most {MAX_FEES} fees")
        if self.credit_limit is not None:
            MONEY.check(self.credit_limit, "credit_limit")
        days = self.payment_terms_days
        if days is not None and (
            isinstance(days, bool)
            or not isinstance(days, int)
            or not 0 <= days <= MAX_PAYMENT_TERMS_DAYS
        ):
            # EU Late Payment Directive 2011/7/EU art. 3(5), as domain/accounts.py bounds it.
            raise invalid("payment_terms_days", f"must be 0 to {MAX_PAYMENT_TERMS_DAYS} days")
        for name in ("purchase_order", "cost_centre"):
            if getattr(self, name) is not None:
                _text(getattr(self, name), name, REFERENCE_LENGTH)
        if self.annex is not None:
            _set(self, "annex", member(AnnexGrouping, self.annex, "annex"))
