"""The journal entries of each money event, as DESIGN §5 lists them.

| event | debit | credit |
|---|---|---|
| charge priced | Receivable:Unbilled:<acct> (gross) | Income:Charging:<component> (net), VAT |
| invoice / receipt issued | Receivable:<acct> (document gross) | Receivable:Unbilled:<acct> |
| credit note issued | Income:Charging:<component> (net), VAT | Receivable:<acct> |

A charge accrues its own VAT (rounded per charge); the invoice computes VAT per rate over all
its lines (EN 16931 BR-CO-17), which can differ by a few cents: the difference is booked to the
VAT account of that rate's country when the invoice is issued, so Unbilled clears exactly and
VAT payable equals what the invoices state.

Ad hoc charges (card or QR payers without an account) accrue to a receivable of the site's
"walk-in" customer; the payment captured through the PSP settles it (issue 6).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from chargeledger.domain.billing import Charge, ComponentAmount, VatCategory, vat_of
from chargeledger.domain.invoicing import DocumentKind, Invoice, InvoiceLine, VatSubtotal
from chargeledger.domain.ledger import (
    EntryKind,
    JournalEntry,
    Posting,
    receivable,
    revenue,
    unbilled,
    vat_payable,
)
from chargeledger.domain.text import quantity_text
from chargeledger.money import ZERO, Money

# Receivables of payers without an account (ad hoc card/QR sessions) sit on this id.
WALK_IN = uuid.UUID(int=0)


def payer(account_id: uuid.UUID | None) -> uuid.UUID:
    return WALK_IN if account_id is None else account_id


def charge_accrual(charge: Charge, booked_on: date) -> JournalEntry | None:
    """None for a charge of nothing (a session that delivered no billable amount)."""
    currency = charge.currency
    # The charge's figures once (each property of ``Charge`` builds its ``Billed`` anew).
    net = charge.billed.net
    tax = vat_of(net, charge.vat.percent, currency)
    gross = net + tax
    if not gross:
        return None
    credits = [
        Posting(revenue(name), Money(-amount, currency))
        for name, amount in charge.components
        if amount
    ]
    credits.append(Posting(vat_payable(charge.country), Money(-tax, currency)))
    return JournalEntry(
        kind=EntryKind.CHARGE_ACCRUED,
        booked_on=booked_on,
        description=(
            f"Charging session {charge.session_id} at {charge.site_name}, "
            f"{quantity_text(charge.energy_kwh, 'kWh')}"
        ),
        postings=(
            Posting(unbilled(payer(charge.account_id)), Money(gross, currency)),
            *credits,
        ),
        source_type="charge",
        source_id=str(charge.id),
    )


def vat_by_country(document: Invoice) -> dict[str, Decimal]:
    """The document's VAT per country: each (category, rate) subtotal is booked to the country
    whose lines carry most of its net (a rate is one country's in practice)."""
    booked: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for subtotal, country in _subtotal_countries(document):
        booked[country] += subtotal.tax
    return dict(booked)


def _subtotal_countries(document: Invoice) -> Iterator[tuple[VatSubtotal, str]]:
    """Each VAT subtotal with the country it is booked to (see :func:`vat_by_country`)."""
    nets: dict[tuple[object, Decimal], dict[str, Decimal]] = defaultdict(
        lambda: defaultdict(lambda: ZERO)
    )
    for line in document.lines:
        country = line.country or document.seller.country
        nets[(line.vat_category, line.vat_percent)][country] += line.net
    for subtotal in document.vat_subtotals:
        countries = nets[(subtotal.category, subtotal.percent)]
        yield subtotal, max(countries, key=lambda c: countries[c])


def _accrued(line: InvoiceLine) -> bool:
    """A line whose revenue was booked before its invoice: a charge's (when it was priced) or
    a re-pricing's correction (when it was re-priced, ``domain.repricing_documents``)."""
    return line.charge_id is not None or line.repricing_id is not None


def _revenue_shares(line: InvoiceLine) -> tuple[ComponentAmount, ...]:
    """The revenue components a credited line reverses; an amount credited without them
    (a goodwill amount) reverses Fixed revenue."""
    return line.components or (ComponentAmount("Fixed", line.net),)


def document_issued(invoice: Invoice) -> JournalEntry | None:
    """Invoice or receipt: the account's receivable takes over the unbilled charges. Each
    charge line has the charge's net and rate, so the charge's accrued gross and VAT are
    recomputed from the line exactly as the charge computed them (a re-pricing's correction
    line likewise, as it was accrued: issue 15); where the invoice's VAT per rate differs by
    rounding, the difference is booked to that rate's country. A line of no charge (issue
    14's contract lines) books its revenue here and its VAT with that difference."""
    if not invoice.gross_total:
        return None
    currency = invoice.currency
    account = payer(invoice.account_id)
    accrued_tax: dict[str, Decimal] = defaultdict(lambda: ZERO)
    charged = [line for line in invoice.lines if _accrued(line)]
    for line in charged:
        accrued_tax[line.country or invoice.seller.country] += vat_of(
            line.net, line.vat_percent, currency
        )
    accrued = sum((line.net for line in charged), ZERO) + sum(accrued_tax.values(), ZERO)
    postings = [
        Posting(receivable(account), Money(invoice.gross_total, currency)),
        Posting(unbilled(account), Money(-accrued, currency)),
    ]
    # Lines of no charge (a contract's tier adjustment, fees, commitment shortfall) were never
    # accrued: their revenue is booked here, their VAT with the document's below.
    contract_revenue: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in invoice.lines:
        if not _accrued(line):
            for name, amount in _revenue_shares(line):
                contract_revenue[name] += amount
    postings += [
        Posting(revenue(name), Money(-amount, currency))
        for name, amount in contract_revenue.items()
        if amount
    ]
    stated = vat_by_country(invoice)
    for country in sorted(set(stated) | set(accrued_tax)):
        difference = stated.get(country, ZERO) - accrued_tax.get(country, ZERO)
        if difference:
            postings.append(Posting(vat_payable(country), Money(-difference, currency)))
    kind = (
        EntryKind.RECEIPT_ISSUED
        if invoice.kind is DocumentKind.RECEIPT
        else EntryKind.INVOICE_ISSUED
    )
    return JournalEntry(
        kind=kind,
        booked_on=_issue_date(invoice),
        description=f"{invoice.kind.value.replace('_', ' ').capitalize()} {invoice.number} "
        f"to {invoice.buyer.name}",
        postings=tuple(postings),
        source_type="invoice",
        source_id=str(invoice.id),
    )


def credit_note_issued(note: Invoice) -> JournalEntry:
    """Revenue and VAT reversed where they were booked; the receivable reduced."""
    currency = note.currency
    revenue_by_component: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in note.lines:
        for name, amount in _revenue_shares(line):
            revenue_by_component[name] += amount
    postings = [
        Posting(revenue(name), Money(amount, currency))
        for name, amount in revenue_by_component.items()
        if amount
    ]
    postings += [
        Posting(vat_payable(country), Money(amount, currency))
        for country, amount in sorted(vat_by_country(note).items())
    ]
    postings.append(Posting(receivable(payer(note.account_id)), Money(-note.gross_total, currency)))
    return JournalEntry(
        kind=EntryKind.CREDIT_NOTE_ISSUED,
        booked_on=_issue_date(note),
        description=f"Credit note {note.number} for {note.original_number}: {note.reason}",
        postings=tuple(postings),
        source_type="invoice",
        source_id=str(note.id),
    )


@dataclass(frozen=True, slots=True)
class TaxedRevenue:
    """The revenue of one VAT treatment that an entry books: its net per component and the
    VAT on it, booked to ``country``'s VAT account.

    An entry keeps revenue per component and VAT per country, which is all double entry
    needs; a chart of accounts with tax codes (DATEV's BU-Schlüssel, automatic revenue
    accounts) also needs to know which revenue the VAT of which rate belongs to. The entry's
    revenue postings are the sums of ``nets`` over its treatments, and its VAT posting of a
    country the sum of their ``tax``.
    """

    country: str
    category: VatCategory
    percent: Decimal
    nets: tuple[ComponentAmount, ...]
    tax: Decimal


def charge_revenue(charge: Charge) -> tuple[TaxedRevenue, ...]:
    """The one treatment of a charge (:func:`charge_accrual`): the VAT of its place of supply
    or reverse charge, on all its components."""
    nets = tuple(ComponentAmount(name, amount) for name, amount in charge.components if amount)
    vat = charge.vat
    return (TaxedRevenue(charge.country, vat.category, vat.percent, nets, charge.tax),)


def credit_note_revenue(note: Invoice) -> tuple[TaxedRevenue, ...]:
    """The treatments a credit note reverses (:func:`credit_note_issued`): one per VAT
    subtotal (EN 16931 BG-23), with the components of the lines of that category and rate and
    the country its VAT is booked to."""
    treatments = []
    for subtotal, country in _subtotal_countries(note):
        nets: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for line in note.lines:
            if (line.vat_category, line.vat_percent) == (subtotal.category, subtotal.percent):
                for name, amount in _revenue_shares(line):
                    nets[name] += amount
        components = tuple(ComponentAmount(n, a) for n, a in nets.items() if a)
        treatments.append(
            TaxedRevenue(country, subtotal.category, subtotal.percent, components, subtotal.tax)
        )
    return tuple(treatments)


def invoice_contract_revenue(invoice: Invoice) -> tuple[TaxedRevenue, ...]:
    """The treatments of an invoice's lines of no charge (contract lines, issue 14) for the
    exports that need revenue per VAT rate: one per (country, category, rate, component), so
    a discount (a negative tier line) and a fee are never mixed in one treatment."""
    groups: dict[tuple[str, VatCategory, Decimal, str], Decimal] = defaultdict(lambda: ZERO)
    for line in invoice.lines:
        if not _accrued(line):
            country = line.country or invoice.seller.country
            for name, amount in _revenue_shares(line):
                groups[(country, line.vat_category, line.vat_percent, name)] += amount
    return tuple(
        TaxedRevenue(
            country,
            category,
            percent,
            (ComponentAmount(name, net),),
            vat_of(net, percent, invoice.currency),
        )
        for (country, category, percent, name), net in groups.items()
        if net
    )


def _issue_date(invoice: Invoice) -> date:
    if invoice.issue_date is None:
        raise ValueError("only an issued document is booked")
    return invoice.issue_date
