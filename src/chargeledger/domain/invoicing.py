"""Invoices, receipts and credit notes: lines, VAT subtotals, billing periods and numbers.

An invoice bills the charges of one account for one billing period; a receipt bills one ad hoc
session; a credit note reverses all or part of an issued invoice or receipt and references it
(the only way to correct an issued document: Council Directive 2006/112/EC art. 219). Numbers
are assigned at issue, per series and gap-free (art. 226(2)); this module formats them and the
storage assigns them in the transaction that posts the document to the ledger.

Totals follow EN 16931: a line's net amount is the sum of its charge's component nets; the VAT
of each (category, rate) group is its taxable amount × rate rounded half-up (BR-CO-17); the
document total is net + VAT (BR-CO-15).
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from chargeledger.domain.accounts import BillingCycle
from chargeledger.domain.billing import Charge, VatCategory, vat_of
from chargeledger.domain.card_data import refuse_card_data
from chargeledger.domain.text import money_text, percent_text, quantity_text
from chargeledger.errors import ConflictError, CurrencyMismatchError, InvalidInputError
from chargeledger.money import MAX_AMOUNT, ZERO, Currency, Money, within_minor_units


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    RECEIPT = "receipt"
    CREDIT_NOTE = "credit_note"


SERIES_PREFIX = {
    DocumentKind.INVOICE: "INV",
    DocumentKind.RECEIPT: "RCT",
    DocumentKind.CREDIT_NOTE: "CN",
}


class DocumentStatus(StrEnum):
    """Stored states; paid, partially paid and overdue are derived (:func:`payment_status`)."""

    DRAFT = "draft"
    ISSUED = "issued"


class PaymentStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    OVERDUE = "overdue"
    CREDITED = "credited"


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
    components: tuple[tuple[str, Decimal], ...] = ()
    country: str | None = None  # where the VAT is due: the site's country

    @property
    def duration_hours(self) -> Decimal:
        return self.charging_hours + self.idle_hours


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
    tax_overrides: tuple[tuple[VatCategory, Decimal, Decimal], ...] = ()
    id: uuid.UUID = field(default_factory=uuid.uuid4)
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
                self.vat_note if category is VatCategory.REVERSE_CHARGE else None,
            )
            for (category, percent), taxable in sorted(groups.items())
        )

    @property
    def tax_total(self) -> Decimal:
        return sum((s.tax for s in self.vat_subtotals), ZERO)

    @property
    def gross_total(self) -> Decimal:
        return self.net_total + self.tax_total

    def document_lines(self) -> tuple[InvoiceLine, ...]:
        """The lines as billed: per session, or summed per site and VAT rate (the sessions
        then form the annex)."""
        if self.layout is Layout.PER_SESSION:
            return self.lines
        groups: dict[tuple[str, VatCategory, Decimal], list[InvoiceLine]] = defaultdict(list)
        for line in self.lines:
            groups[(line.site_name, line.vat_category, line.vat_percent)].append(line)
        return tuple(
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
            )
            for position, ((site, category, percent), group) in enumerate(groups.items(), 1)
        )


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


# --- billing periods ------------------------------------------------------------------------

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")


def billing_period(cycle: BillingCycle, label: str) -> tuple[date, date]:
    """``2026-10`` (monthly), ``2026-W43`` (ISO week) or ``2026-Q4``: [start, end) in the
    operator's local dates."""
    text = label.strip()
    try:
        if cycle is BillingCycle.MONTHLY and (m := _MONTH.fullmatch(text)):
            start = date(int(m[1]), int(m[2]), 1)
            return start, _add_months(start, 1)
        if cycle is BillingCycle.QUARTERLY and (m := _QUARTER.fullmatch(text)):
            start = date(int(m[1]), 3 * int(m[2]) - 2, 1)
            return start, _add_months(start, 3)
        if cycle is BillingCycle.WEEKLY and (m := _WEEK.fullmatch(text)):
            start = date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return start, start + timedelta(days=7)
    except ValueError:
        pass
    examples = {"monthly": "2026-10", "weekly": "2026-W43", "quarterly": "2026-Q4"}
    raise InvalidInputError(
        f"{label!r} is not a {cycle.value} period (e.g. {examples[cycle.value]})",
        code="invalid_period",
        field="period",
    )


def periods_within(cycle: BillingCycle, start: date, end: date) -> list[tuple[date, date]]:
    """The periods of ``cycle`` that end within [start, end]: the ones a run over a month bills
    for weekly, monthly and quarterly accounts alike."""
    found = []
    if cycle is BillingCycle.WEEKLY:
        cursor = start - timedelta(days=start.weekday())
        step: tuple[int, int] = (7, 0)
    else:
        months = 1 if cycle is BillingCycle.MONTHLY else 3
        first_month = start.month - (start.month - 1) % months
        cursor = date(start.year, first_month, 1)
        step = (0, months)
    while cursor < end:
        following = cursor + timedelta(days=step[0]) if step[0] else _add_months(cursor, step[1])
        if start < following <= end:
            found.append((cursor, following))
        cursor = following
    return found


def period_containing(cycle: BillingCycle, day: date) -> tuple[date, date]:
    if cycle is BillingCycle.WEEKLY:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    months = 1 if cycle is BillingCycle.MONTHLY else 3
    start = date(day.year, day.month - (day.month - 1) % months, 1)
    return start, _add_months(start, months)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


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


def payment_status(
    invoice: Invoice, paid: Decimal, credited: Decimal, today: date
) -> PaymentStatus:
    if invoice.status is DocumentStatus.DRAFT:
        return PaymentStatus.DRAFT
    if invoice.kind is DocumentKind.CREDIT_NOTE:
        return PaymentStatus.ISSUED  # nothing to pay: never overdue
    if invoice.kind is DocumentKind.RECEIPT:
        return PaymentStatus.PAID  # a receipt confirms a payment made at the station
    open_amount = invoice.gross_total - credited
    if credited > 0 and open_amount <= 0:
        return PaymentStatus.CREDITED
    if paid >= open_amount:
        return PaymentStatus.PAID
    if paid > 0:
        return PaymentStatus.PARTIALLY_PAID
    if invoice.due_date is not None and today > invoice.due_date:
        return PaymentStatus.OVERDUE
    return PaymentStatus.ISSUED


def credit_note(
    original: Invoice,
    reason: str,
    previous: Sequence[Invoice],
    positions: tuple[int, ...] | None = None,
    net_amount: Decimal | None = None,
) -> Invoice:
    """A draft credit note for the whole of ``original``, some of its lines (``positions``),
    or a net amount at its single VAT rate, given the credit notes ``previous``ly issued for
    it. Per VAT rate it cannot credit more net than is left; the one that uses a rate up takes
    that rate's remaining VAT."""
    if original.status is not DocumentStatus.ISSUED or original.kind is DocumentKind.CREDIT_NOTE:
        raise ConflictError(
            "only an issued invoice or receipt can be credited", code="not_creditable"
        )
    if not reason.strip():
        raise InvalidInputError("a credit note needs a reason", code="reason_required")
    refuse_card_data(reason, "reason")
    if positions is not None and net_amount is not None:
        raise InvalidInputError(
            "credit either lines or an amount, not both", code="invalid_credit_note"
        )
    lines = _credited_lines(original, positions, net_amount)
    draft = Invoice(
        kind=DocumentKind.CREDIT_NOTE,
        account_id=original.account_id,
        seller=original.seller,
        buyer=original.buyer,
        currency=original.currency,
        period_start=original.period_start,
        period_end=original.period_end,
        lines=lines,
        layout=Layout.PER_SESSION,
        payment_terms_days=0,
        vat_note=original.vat_note,
        original_id=original.id,
        original_number=original.number,
        reason=reason.strip(),
    )
    return replace(draft, tax_overrides=_remaining_tax(original, previous, draft))


def _remaining_tax(
    original: Invoice, previous: Sequence[Invoice], draft: Invoice
) -> tuple[tuple[VatCategory, Decimal, Decimal], ...]:
    left = {(s.category, s.percent): [s.taxable, s.tax] for s in original.vat_subtotals}
    for note in previous:
        for s in note.vat_subtotals:
            left.setdefault((s.category, s.percent), [ZERO, ZERO])
            left[(s.category, s.percent)][0] -= s.taxable
            left[(s.category, s.percent)][1] -= s.tax
    overrides = []
    for s in draft.vat_subtotals:
        net_left, tax_left = left.get((s.category, s.percent), [ZERO, ZERO])
        if s.taxable > net_left:
            raise ConflictError(
                f"{original.number}: crediting {money_text(s.taxable, draft.currency)} net at "
                f"{percent_text(s.percent)}% but only {money_text(net_left, draft.currency)} "
                "is left to credit at that rate",
                code="credit_exceeds_invoice",
            )
        if s.taxable == net_left:
            overrides.append((s.category, s.percent, max(tax_left, ZERO)))
    return tuple(overrides)


def _credited_lines(
    original: Invoice, positions: tuple[int, ...] | None, net_amount: Decimal | None
) -> tuple[InvoiceLine, ...]:
    if net_amount is not None:
        rates = {(line.vat_category, line.vat_percent) for line in original.lines}
        if len(rates) != 1:
            raise InvalidInputError(
                "an amount can only be credited on a document with a single VAT rate; "
                "credit lines instead",
                code="invalid_credit_note",
            )
        currency = original.currency
        if (
            not within_minor_units(net_amount, currency)  # first: also refuses NaN
            or not 0 < net_amount <= MAX_AMOUNT
        ):
            raise InvalidInputError(
                f"the amount must be positive with at most {currency.minor_units} decimals",
                code="invalid_amount",
                field="net_amount",
            )
        category, percent = rates.pop()
        return (
            InvoiceLine(
                position=1,
                description=f"Partial credit for {original.number}",
                net=net_amount,
                vat_category=category,
                vat_percent=percent,
                country=original.lines[0].country,
                components=_pro_rata(original, net_amount),
            ),
        )
    chosen = original.lines
    if positions is not None:
        known = {line.position for line in original.lines}
        unknown = sorted(set(positions) - known)
        if unknown or not positions:
            raise InvalidInputError(
                f"{original.number} has no line {unknown}" if unknown else "no lines chosen",
                code="unknown_invoice_line",
                field="positions",
            )
        chosen = tuple(line for line in original.lines if line.position in set(positions))
    return tuple(
        InvoiceLine(
            position=i,
            description=f"Credit for {original.number} line {line.position}: {line.description}",
            net=line.net,
            vat_category=line.vat_category,
            vat_percent=line.vat_percent,
            charge_id=line.charge_id,
            session_id=line.session_id,
            site_name=line.site_name,
            station_name=line.station_name,
            local_start=line.local_start,
            energy_kwh=line.energy_kwh,
            charging_hours=line.charging_hours,
            idle_hours=line.idle_hours,
            components=line.components,
            country=line.country,
        )
        for i, line in enumerate(chosen, 1)
    )


def _pro_rata(original: Invoice, net_amount: Decimal) -> tuple[tuple[str, Decimal], ...]:
    """A credited amount shared across revenue components like the original's revenue, so the
    credit note reverses revenue where it was booked (DESIGN §5)."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in original.lines:
        for name, amount in line.components:
            totals[name] += amount
    names = [name for name, amount in totals.items() if amount > 0]
    if not names:
        return (("Fixed", net_amount),)
    parts = Money(net_amount, original.currency).allocate([totals[n] for n in names])
    return tuple((name, part.amount) for name, part in zip(names, parts, strict=True))
