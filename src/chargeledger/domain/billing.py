"""What a priced session bills: a :class:`Charge`, and the VAT that applies to it.

A charge is the priced CDR of one session as it appears on an invoice or receipt (DESIGN §2):
the net total of ``price()`` rounded once, half-up, to the currency's minor unit (the named
rounding point "invoice line"), shared across the tariff components by the largest remainder so
the parts add up to the cent; the VAT of the site's country at the session's date, or reverse
charge for an EU business customer in another member state with a valid VAT id (Council
Directive 2006/112/EC art. 44 and 196). Charges are append-only: a correction is a credit note.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

from chargeledger.domain.accounts import Account
from chargeledger.domain.ids import new_id
from chargeledger.domain.tariffs import PriceResult
from chargeledger.errors import InvalidInputError
from chargeledger.money import ZERO, Currency, Money

# Revenue components (DESIGN §5: revenue split by component), in line order.
COMPONENTS = ("Energy", "Time", "Parking", "Fixed", "Reservation")
EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)


class ComponentAmount(NamedTuple):
    """One revenue component's share of a price: its net, or its gross with its VAT share."""

    component: str  # one of COMPONENTS
    amount: Decimal


class VatCategory(StrEnum):
    """UNTDID 5305 codes as EN 16931 uses them (BT-151). Charging is billed S or AE; the
    exempt (E) and not-subject (O) categories are a site host's, on the self-billed invoice
    of its revenue share (:mod:`~chargeledger.domain.self_billing`)."""

    STANDARD = "S"
    REVERSE_CHARGE = "AE"
    EXEMPT = "E"  # e.g. a small enterprise (Directive 2006/112/EC art. 284), BR-E-*
    NOT_SUBJECT = "O"  # a host that is not a taxable person (art. 9), BR-O-*


@dataclass(frozen=True, slots=True)
class VatRate:
    country: str
    percent: Decimal
    valid_from: date


@dataclass(frozen=True, slots=True)
class VatRates:
    """Standard VAT rates per country with the dates they took effect (the operator can
    replace or extend the table in configuration)."""

    rates: tuple[VatRate, ...]

    def rate(self, country: str, on: date) -> Decimal:
        applicable = [r for r in self.rates if r.country == country and r.valid_from <= on]
        if not applicable:
            raise InvalidInputError(
                f"no VAT rate configured for {country} on {on.isoformat()}",
                code="unknown_vat_rate",
                field="country",
            )
        return max(applicable, key=lambda r: r.valid_from).percent


def _rate(country: str, percent: str, valid_from: str) -> VatRate:
    return VatRate(country, Decimal(percent), date.fromisoformat(valid_from))


# Standard rates of the EU member states (European Commission, "VAT rates applied in the
# Member States", 2026 edition), with the changes of recent years kept for older sessions.
DEFAULT_VAT_RATES = VatRates(
    (
        _rate("AT", "20", "2000-01-01"),
        _rate("BE", "21", "2000-01-01"),
        _rate("BG", "20", "2000-01-01"),
        _rate("CY", "19", "2014-01-13"),
        _rate("CZ", "21", "2013-01-01"),
        _rate("DE", "19", "2007-01-01"),
        _rate("DE", "16", "2020-07-01"),
        _rate("DE", "19", "2021-01-01"),
        _rate("DK", "25", "2000-01-01"),
        _rate("EE", "22", "2024-01-01"),
        _rate("EE", "24", "2025-07-01"),
        _rate("ES", "21", "2012-09-01"),
        _rate("FI", "24", "2013-01-01"),
        _rate("FI", "25.5", "2024-09-01"),
        _rate("FR", "20", "2014-01-01"),
        _rate("GR", "24", "2016-06-01"),
        _rate("HR", "25", "2013-07-01"),
        _rate("HU", "27", "2012-01-01"),
        _rate("IE", "23", "2021-03-01"),
        _rate("IT", "22", "2013-10-01"),
        _rate("LT", "21", "2009-09-01"),
        _rate("LU", "17", "2024-01-01"),
        _rate("LV", "21", "2012-07-01"),
        _rate("MT", "18", "2000-01-01"),
        _rate("NL", "21", "2012-10-01"),
        _rate("PL", "23", "2011-01-01"),
        _rate("PT", "23", "2011-01-01"),
        _rate("RO", "19", "2017-01-01"),
        _rate("RO", "21", "2025-08-01"),
        _rate("SE", "25", "2000-01-01"),
        _rate("SI", "22", "2000-01-01"),
        _rate("SK", "20", "2011-01-01"),
        _rate("SK", "23", "2025-01-01"),
    )
)


@dataclass(frozen=True, slots=True)
class VatTreatment:
    category: VatCategory
    percent: Decimal
    note: str | None = None  # the legal mention printed on the invoice


def vat_treatment(
    rates: VatRates,
    site_country: str,
    supply_date: date,
    customer_country: str | None,
    customer_vat_id: str | None,
) -> VatTreatment:
    """Reverse charge for an EU business (valid VAT id, already checked when the account was
    saved) established in another member state than the site; else the site country's rate."""
    if (
        customer_vat_id
        and customer_country
        and customer_country != site_country
        and customer_country in EU_COUNTRIES
        and site_country in EU_COUNTRIES
    ):
        return VatTreatment(
            VatCategory.REVERSE_CHARGE,
            ZERO,
            "Reverse charge: VAT to be accounted for by the recipient "
            "(Council Directive 2006/112/EC, Art. 196)",
        )
    return VatTreatment(VatCategory.STANDARD, rates.rate(site_country, supply_date))


def supply_vat(
    rates: VatRates,
    country: str,
    time_zone: str,
    supplied_at: datetime,
    buyer: Account | None,
) -> VatTreatment:
    """The VAT of a charging session, and the one source of it: the place of supply (the
    site's ``country``) at the date of supply (the start, in the site's local date), or
    reverse charge for the ``buyer``'s account (:func:`vat_treatment`); None for an ad hoc
    payer. Quotes, live and final costs, holds, charges, receipts and invoices all ask here."""
    return vat_treatment(
        rates,
        country,
        supplied_at.astimezone(ZoneInfo(time_zone)).date(),
        None if buyer is None else buyer.billing_address.country,
        None if buyer is None else buyer.vat_id,
    )


def vat_of(net: Decimal, percent: Decimal, currency: Currency) -> Decimal:
    """VAT on a net amount, rounded half-up to the minor unit (EN 16931 BR-CO-17)."""
    return (net * percent / 100).quantize(currency.quantum, ROUND_HALF_UP)


def net_for_gross(gross: Decimal, percent: Decimal, currency: Currency) -> Decimal:
    """The net whose VAT (half-up) makes exactly ``gross``, when one exists; else the
    nearest (a refund of a gross amount is credited as this net plus its VAT)."""
    guess = (gross * 100 / (100 + percent)).quantize(currency.quantum)
    for net in (guess, guess - currency.quantum, guess + currency.quantum):
        if net + vat_of(net, percent, currency) == gross:
            return net
    return guess


def vat_note(treatment: VatTreatment) -> str:
    """How a price states its VAT to a driver: "incl. 19% VAT", or the reverse charge."""
    if treatment.category is VatCategory.REVERSE_CHARGE:
        return "no VAT: reverse charge"
    return f"incl. {treatment.percent.normalize():f}% VAT"


@dataclass(frozen=True, slots=True)
class Billed:
    """The one set of figures a priced session has, wherever it is shown or booked: the quote,
    the live and final cost, the checkout's hold, the charge, its receipt, invoice line and
    ledger entry (DESIGN §2: one pricing function, one figure).

    ``price()`` gives the exact net; it is rounded once, half-up, to the currency's minor unit
    (the named rounding point), shared across the components, and the VAT of the place of
    supply (``vat``) is computed on that rounded net (EN 16931 BR-CO-17). A tariff's own
    per-component ``vat`` never enters these figures: the law, not the tariff, says which VAT
    is due (Directive 2006/112/EC art. 31, 44, 196).
    """

    currency: Currency
    components: tuple[ComponentAmount, ...]  # the nets, COMPONENTS order
    vat: VatTreatment

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", Currency.of(self.currency))
        if any(amount < 0 for _, amount in self.components):
            raise InvalidInputError(
                "a price is never negative", code="negative_price", field="components"
            )

    @property
    def net(self) -> Decimal:
        return sum((amount for _, amount in self.components), ZERO)

    @property
    def tax(self) -> Decimal:
        return vat_of(self.net, self.vat.percent, self.currency)

    @property
    def gross(self) -> Decimal:
        net = self.net
        return net + vat_of(net, self.vat.percent, self.currency)

    def component_gross(self) -> tuple[ComponentAmount, ...]:
        """Each component's net plus its share of the VAT (largest remainder), so the
        components' gross amounts add up to :attr:`gross` to the cent."""
        nets = [amount for _, amount in self.components]
        if not self.tax or not any(nets):
            return self.components
        shares = Money(self.tax, self.currency).allocate(nets)
        return tuple(
            ComponentAmount(name, net + share.amount)
            for (name, net), share in zip(self.components, shares, strict=True)
        )

    def component(self, name: str) -> tuple[Decimal, Decimal]:
        """(net, gross) of one component."""
        nets = dict(self.components)
        return nets[name], dict(self.component_gross())[name]


_OCPI_TOTALS = (
    ("total_energy_cost", "Energy"),
    ("total_time_cost", "Time"),
    ("total_parking_cost", "Parking"),
    ("total_fixed_cost", "Fixed"),
    ("total_reservation_cost", "Reservation"),
)


def cdr_totals(result: PriceResult, billed: Billed) -> dict[str, object]:
    """The OCPI 2.2.1 §10.3.1 totals of a session's CDR: the quantities priced, and the
    amounts it is billed with, so the CDR says what the receipt and the invoice say."""
    totals = result.ocpi_totals(4)
    nets, grosses = dict(billed.components), dict(billed.component_gross())
    totals["total_cost"] = {"excl_vat": billed.net, "incl_vat": billed.gross}
    for name, component in _OCPI_TOTALS:
        totals[name] = {"excl_vat": nets[component], "incl_vat": grosses[component]}
    return totals


def billed_amounts(result: PriceResult, vat: VatTreatment) -> Billed:
    """The figures of a priced CDR under the VAT of its place of supply (see :class:`Billed`)."""
    currency = Currency.of(result.currency)
    return Billed(currency, component_nets(result, currency), vat)


@dataclass(frozen=True, slots=True)
class Charge:
    """The billable result of one session (see the module docstring)."""

    session_id: uuid.UUID
    account_id: uuid.UUID | None  # None: an ad hoc payer without an account
    ad_hoc: bool
    site_id: uuid.UUID
    site_name: str
    station_id: uuid.UUID
    station_name: str  # the charge point id
    evse_id: int
    country: str  # the site's: VAT follows the place of supply
    time_zone: str
    currency: Currency
    started_at: datetime
    stopped_at: datetime
    energy_kwh: Decimal
    charging_hours: Decimal
    idle_hours: Decimal
    components: tuple[ComponentAmount, ...]  # the nets, COMPONENTS order
    vat: VatTreatment
    tariff_id: uuid.UUID | None
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", Currency.of(self.currency))

    @property
    def billed(self) -> Billed:
        """The same figures the driver saw on ``/cost`` for this session."""
        return Billed(self.currency, self.components, self.vat)

    @property
    def net(self) -> Decimal:
        return self.billed.net

    @property
    def tax(self) -> Decimal:
        return self.billed.tax

    @property
    def gross(self) -> Decimal:
        return self.billed.gross

    @property
    def local_start(self) -> datetime:
        return self.started_at.astimezone(ZoneInfo(self.time_zone))


def component_nets(result: PriceResult, currency: Currency) -> tuple[ComponentAmount, ...]:
    """The net total rounded once, shared across components in proportion to their exact
    amounts (so a max_price cut or min_price raise lands on the components pro rata; a
    min_price raise of a session that cost nothing is a fixed fee)."""
    total = Money(result.total_cost.excl_vat, currency).round()
    exact = [
        result.total_energy_cost.excl_vat,
        result.total_time_cost.excl_vat,
        result.total_parking_cost.excl_vat,
        result.total_fixed_cost.excl_vat,
        result.total_reservation_cost.excl_vat,
    ]
    weights = [max(amount, ZERO) for amount in exact]
    if total.is_zero:
        return tuple(ComponentAmount(name, ZERO.quantize(currency.quantum)) for name in COMPONENTS)
    if sum(weights) == 0:
        weights = [ZERO, ZERO, ZERO, Decimal(1), ZERO]
    parts = total.allocate(weights)
    return tuple(
        ComponentAmount(name, part.amount) for name, part in zip(COMPONENTS, parts, strict=True)
    )
