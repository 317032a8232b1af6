"""Invoices, receipts and credit notes: lines, VAT subtotals, numbers and payment status.

An invoice bills the charges of one account for one billing period
(:mod:`~chargeledger.domain.billing_periods`); a receipt bills one ad hoc session; a credit note
reverses all or part of an issued invoice or receipt and references it (the only way to correct
an issued document: Council Directive 2006/112/EC art. 219; made in
:mod:`~chargeledger.domain.credit_notes`). Numbers are assigned at issue, per series and
gap-free (art. 226(2)); this module formats them and the storage assigns them in the
transaction that posts the document to the ledger.

Totals follow EN 16931: a line's net amount is the sum of its charge's component nets; the VAT
of each (category, rate) group is its taxable amount × rate rounded half-up (BR-CO-17); the
document total is net + VAT (BR-CO-15).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from chargeledger.domain.billing import Charge, ComponentAmount, VatCategory, vat_of
from chargeledger.domain.ids import new_id
from chargeledger.domain.payment_references import creditor_reference
from chargeledger.domain.text import quantity_text
from chargeledger.errors import ConflictError, CurrencyMismatchError
from chargeledger.money import ZERO, Currency


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    RECEIPT = "receipt"
    CREDIT_NOTE = "credit_note"
    # Issued by us, the customer, in the name of a supplier (a site host's revenue share):
    # Directive 2006/112/EC art. 224, EN 16931 BT-3 = 389 (domain.self_billing).
    SELF_BILLED = "self_billed"


SERIES_PREFIX = {
    DocumentKind.INVOICE: "INV",
    DocumentKind.RECEIPT: "RCT",
    DocumentKind.CREDIT_NOTE: "CN",
    DocumentKind.SELF_BILLED: "SB",
}


class DocumentStatus(StrEnum):
    """Stored states; whether a document is paid, overdue... is derived from its settlements
    (``domain.receivables.payment_status``)."""

    DRAFT = "draft"
    ISSUED = "issued"


class Layout(StrEnum):
    """Lines per session, or one line per site (and VAT rate) with the sessions in an annex."""

    PER_SESSION = "per_session"
    PER_SITE = "per_site"


@dataclass(frozen=True, slots=True)
class Party:
    """Seller or buyer as printed and as EN 16931 needs them (BG-4, BG-7)."""

    name: str
    street: str
    postal_code: str
    city: str
    country: str
    vat_id: str | None = None
    email: str | None = None
    iban: str | None = None  # the seller's, for the payment means (BG-17)
    registration: str | None = None  # the seller's legal registration id (BT-30)
    bic: str | None = None  # the seller's bank (BT-86), for the EPC QR code


@dataclass(frozen=True, slots=True)
class InvoiceAddressee:
    """Who a message about an invoice goes to, and what names it: the few fields a payment
    confirmation needs, read without the invoice's lines (a statement confirms thousands)."""

    invoice_id: uuid.UUID
    number: str | None
    account_id: uuid.UUID | None
    seller_name: str
    buyer_email: str | None


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One billed session (or one credited amount): what the annex shows, what EN 16931 needs."""

    position: int
    description: str
    net: Decimal
    vat_category: VatCategory
    vat_percent: Decimal
    charge_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    site_name: str = ""
    station_name: str = ""
    local_start: datetime | None = None
    energy_kwh: Decimal = ZERO
    charging_hours: Decimal = ZERO
    idle_hours: Decimal = ZERO
    components: tuple[ComponentAmount, ...] = ()  # the net per revenue component
    country: str | None = None  # where the VAT is due: the site's country
    cost_centre: str | None = None  # the buyer's accounting reference (EN 16931 BT-133)
    driver: str | None = None  # the card that charged (its label), for a contract's annex
    # The re-pricing whose correction this line bills (issue 15, ``domain.repricing``): it was
    # accrued like a charge, so the invoice's issue clears it from Unbilled.
    repricing_id: uuid.UUID | None = None

    @property
    def duration_hours(self) -> Decimal:
        return self.charging_hours + self.idle_hours

    @property
    def contract_term(self) -> bool:
        """A line a contract adds (a tier adjustment, a fee, a shortfall: issue 14): it bills
        no charge and no quantity of charging."""
        return (
            self.charge_id is None
            and self.session_id is None
            and not self.energy_kwh
            and not self.duration_hours
        )


class TaxOverride(NamedTuple):
    """The VAT of one (category, rate) group fixed to an amount instead of computed."""

    category: VatCategory
    percent: Decimal
    tax: Decimal


@dataclass(frozen=True, slots=True)
class VatSubtotal:
    category: VatCategory
    percent: Decimal
    taxable: Decimal
    tax: Decimal
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Invoice:
    kind: DocumentKind
    account_id: uuid.UUID | None
    seller: Party
    buyer: Party
    currency: Currency
    period_start: date
    period_end: date  # exclusive
    lines: tuple[InvoiceLine, ...]
    status: DocumentStatus = DocumentStatus.DRAFT
    layout: Layout = Layout.PER_SESSION
    payment_terms_days: int = 14
    vat_note: str | None = None
    series: str | None = None
    number: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    original_id: uuid.UUID | None = None  # credit notes: the document they correct
    original_number: str | None = None
    reason: str | None = None
    run_key: str | None = None  # idempotency of invoice runs
    # Credit notes that use up a rate's remaining net take its remaining VAT (not a freshly
    # rounded one), so crediting every line of an invoice one by one clears it to the cent.
    tax_overrides: tuple[TaxOverride, ...] = ()
    purchase_order: str | None = None  # the buyer's order reference (EN 16931 BT-13)
    contract_reference: str | None = None  # the contract billed under (EN 16931 BT-12)
    annex: str | None = None  # a contract's annex: per_driver, per_vehicle or per_cost_centre
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None
    issued_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", Currency.of(self.currency))

    @property
    def net_total(self) -> Decimal:
        return sum((line.net for line in self.lines), ZERO)

    @property
    def vat_subtotals(self) -> tuple[VatSubtotal, ...]:
        groups: dict[tuple[VatCategory, Decimal], Decimal] = defaultdict(lambda: ZERO)
        for line in self.lines:
            groups[(line.vat_category, line.vat_percent)] += line.net
        currency = self.currency
        fixed = {(category, percent): tax for category, percent, tax in self.tax_overrides}
        return tuple(
            VatSubtotal(
                category,
                percent,
                taxable,
                fixed.get((category, percent), vat_of(taxable, percent, currency)),
                # The legal mention of a zero-rated treatment (AE, E, O: BT-120).
                None if category is VatCategory.STANDARD else self.vat_note,
            )
            for (category, percent), taxable in sorted(groups.items())
        )

    @property
    def tax_total(self) -> Decimal:
        return sum((s.tax for s in self.vat_subtotals), ZERO)

    @property
    def gross_total(self) -> Decimal:
        return self.net_total + self.tax_total

    @property
    def payment_reference(self) -> str | None:
        """The ISO 11649 reference a transfer paying this invoice carries (issue 13);
        receipts and credit notes ask for no payment."""
        if self.kind is not DocumentKind.INVOICE or self.number is None:
            return None
        return creditor_reference(self.number)

    def document_lines(self) -> tuple[InvoiceLine, ...]:
        """The lines as billed: per session, or summed per site and VAT rate (the sessions
        then form the annex)."""
        if self.layout is Layout.PER_SESSION:
            return self.lines
        groups: dict[tuple[str, VatCategory, Decimal], list[InvoiceLine]] = defaultdict(list)
        for line in self.sessions():
            groups[(line.site_name, line.vat_category, line.vat_percent)].append(line)
        # A contract's own lines (tiers, fees, shortfall) stay lines of their own.
        others = [line for line in self.lines if line.contract_term]
        summed = tuple(
            InvoiceLine(
                position=position,
                description=f"Charging at {site}: {len(group)} sessions",
                net=sum((line.net for line in group), ZERO),
                vat_category=category,
                vat_percent=percent,
                site_name=site,
                energy_kwh=sum((line.energy_kwh for line in group), ZERO),
                charging_hours=sum((line.charging_hours for line in group), ZERO),
                idle_hours=sum((line.idle_hours for line in group), ZERO),
                cost_centre=_common({line.cost_centre for line in group}),
            )
            for position, ((site, category, percent), group) in enumerate(groups.items(), 1)
        )
        return summed + tuple(
            replace(line, position=position)
            for position, line in enumerate(others, len(summed) + 1)
        )

    def sessions(self) -> tuple[InvoiceLine, ...]:
        """The lines that bill charging (what an annex lists), not a contract's terms."""
        return tuple(line for line in self.lines if not line.contract_term)


def _common(values: set[str | None]) -> str | None:
    """The one value all lines of a group share, else None."""
    return next(iter(values)) if len(values) == 1 else None


def charge_line(position: int, charge: Charge, currency: Currency) -> InvoiceLine:
    """The line of ``charge`` on a document in ``currency``. An invoice never mixes
    currencies (Directive 2006/112/EC art. 230: amounts in one currency per invoice; EN 16931
    BT-5 is one code per document), so a charge in another currency is refused here, where
    every line from a charge is made."""
    if charge.currency != currency:
        raise CurrencyMismatchError(
            f"a {charge.currency} charge cannot be a line of a {currency} document",
            details={"document": currency, "charge": charge.currency},
        )
    local = charge.local_start
    return InvoiceLine(
        position=position,
        description=(
            f"Charging {quantity_text(charge.energy_kwh, 'kWh')} at "
            f"{charge.site_name}, {charge.station_name} EVSE {charge.evse_id}, "
            f"{local.strftime('%Y-%m-%d %H:%M')}"
        ),
        net=charge.net,
        vat_category=charge.vat.category,
        vat_percent=charge.vat.percent,
        charge_id=charge.id,
        session_id=charge.session_id,
        site_name=charge.site_name,
        station_name=charge.station_name,
        local_start=local,
        energy_kwh=charge.energy_kwh,
        charging_hours=charge.charging_hours,
        idle_hours=charge.idle_hours,
        components=charge.components,
        country=charge.country,
    )


# --- numbers --------------------------------------------------------------------------------


def series_for(kind: DocumentKind, issue_date: date) -> str:
    """One series per kind and year, e.g. ``INV-2026``: numbers restart each year."""
    return f"{SERIES_PREFIX[kind]}-{issue_date.year}"


def format_number(series: str, sequence: int) -> str:
    return f"{series}-{sequence:06d}"


# --- issuing and correcting -----------------------------------------------------------------


def issued(invoice: Invoice, number: str, series: str, on: date, at: datetime) -> Invoice:
    """The draft, issued: numbered and dated, due after the payment terms."""
    if invoice.status is not DocumentStatus.DRAFT:
        raise ConflictError(
            f"{invoice.number} is already issued and cannot change", code="invoice_issued"
        )
    if not invoice.lines:
        raise ConflictError("an invoice needs at least one line", code="empty_invoice")
    return replace(
        invoice,
        status=DocumentStatus.ISSUED,
        series=series,
        number=number,
        issue_date=on,
        due_date=on + timedelta(days=invoice.payment_terms_days),
        issued_at=at,
    )
