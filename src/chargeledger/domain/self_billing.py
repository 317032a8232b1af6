"""A site host's revenue share, settled by a self-billed invoice and booked as a payable.

A site host gets a share of the net charging revenue at its sites (issue 14). Under the
self-billing agreement of its contract (Council Directive 2006/112/EC art. 224) we, the
customer, issue the invoice in the host's name each month: the host is the seller (EN 16931
BG-4) and we are the buyer (BG-7), the document is type 389 "Self-billed invoice" (BT-3), and it
carries the mention "Self-billing" (art. 226(10a), BT-22). Its VAT is the host's, not ours
(:class:`HostVat`): the host's standard rate at home, reverse charge when the host is
established in another country (art. 44 and 196: we account for the VAT), exempt (a small
enterprise, art. 284) or not subject to VAT (a host that is not a taxable person, art. 9).

The share of one site is rounded once, half-up, to the currency's minor unit (the named
rounding point "invoice line", DESIGN §2); the document's VAT is then computed per rate as on
any invoice (EN 16931 BR-CO-17). :func:`revenue_share_settled` books what the document says:
the share as an expense, the host's VAT as input VAT (or self-assessed, art. 196 and 168), the
gross as owed to the host.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from chargeledger.domain.billing import VatCategory, vat_of
from chargeledger.domain.invoicing import (
    DocumentKind,
    DocumentStatus,
    Invoice,
    InvoiceLine,
    Layout,
    Party,
)
from chargeledger.domain.ledger import (
    REVENUE_SHARE,
    EntryKind,
    JournalEntry,
    Posting,
    input_vat,
    partner_payable,
    vat_payable,
)
from chargeledger.domain.text import UNIT_DECIMALS, money_text, percent_text, plain_number
from chargeledger.errors import ConflictError, InvalidInputError
from chargeledger.money import ZERO, Currency, Money, within_minor_units

# Directive 2006/112/EC art. 226(10a): the mention a self-billed invoice must carry.
SELF_BILLING_MENTION = "Self-billing"
REVERSE_CHARGE_NOTE = (
    "Reverse charge: VAT to be accounted for by the recipient "
    "(Council Directive 2006/112/EC, Art. 196)"
)
# BR-O-10: the exemption reason of a not-subject breakdown means "Not subject to VAT".
NOT_SUBJECT_NOTE = "Not subject to VAT"


@dataclass(frozen=True, slots=True)
class ShareLine:
    """The share of one site for the period: ``share_net`` of the ``base_net`` charging
    revenue (``kwh`` delivered there), ``description`` saying how it was computed
    (e.g. ``"10 % of 1,234.56 EUR net charging revenue"``)."""

    site_name: str
    base_net: Decimal
    kwh: Decimal
    share_net: Decimal
    description: str


@dataclass(frozen=True, slots=True)
class HostVat:
    """The VAT the host's supply bears, as its contract records it; ``note`` is the legal
    mention printed with the VAT breakdown (BT-120), required for every zero-rated case."""

    category: VatCategory
    percent: Decimal
    note: str | None = None

    @classmethod
    def standard(cls, percent: Decimal) -> HostVat:
        """A host in our country charging its VAT (BR-S-*)."""
        return cls(VatCategory.STANDARD, percent)

    @classmethod
    def reverse_charge(cls, note: str = REVERSE_CHARGE_NOTE) -> HostVat:
        """A host established in another country: we self-assess (art. 196, BR-AE-*)."""
        return cls(VatCategory.REVERSE_CHARGE, ZERO, note)

    @classmethod
    def exempt(cls, reason: str) -> HostVat:
        """A host whose supply is exempt, e.g. under the small-enterprise scheme (art. 284):
        ``reason`` names the provision (BR-E-10)."""
        return cls(VatCategory.EXEMPT, ZERO, reason)

    @classmethod
    def not_subject(cls, note: str = NOT_SUBJECT_NOTE) -> HostVat:
        """A host that is not a taxable person (BR-O-*)."""
        return cls(VatCategory.NOT_SUBJECT, ZERO, note)


def percent_share(
    site_name: str, base_net: Decimal, kwh: Decimal, percent: Decimal, currency: str
) -> ShareLine:
    """``percent`` of a site's net charging revenue, rounded half-up to the minor unit."""
    unit = Currency.of(currency)
    share = (base_net * percent / 100).quantize(unit.quantum, ROUND_HALF_UP)
    basis = f"{percent_text(percent)} % of {money_text(base_net, unit, grouped=True)}"
    return ShareLine(site_name, base_net, kwh, share, f"{basis} net charging revenue")


def per_kwh_share(
    site_name: str, base_net: Decimal, kwh: Decimal, rate: Decimal, currency: str
) -> ShareLine:
    """``rate`` per kWh delivered at a site, rounded half-up to the minor unit."""
    unit = Currency.of(currency)
    share = (kwh * rate).quantize(unit.quantum, ROUND_HALF_UP)
    energy = plain_number(kwh, UNIT_DECIMALS["kWh"])
    basis = f"{plain_number(rate)} {unit.code} per kWh on {energy} kWh charged"
    return ShareLine(site_name, base_net, kwh, share, basis)


def self_billed_statement(
    host: Party,
    operator: Party,
    currency: str,
    period: tuple[date, date],
    contract_number: str,
    lines: Sequence[ShareLine],
    vat: HostVat,
    *,
    payment_terms_days: int = 14,
) -> Invoice:
    """The draft self-billed invoice of a host's revenue share for ``period`` (first day,
    day after the last, as an invoice's period), one line per site.

    Refuses ``empty_statement`` (no line, or nothing owed), ``invalid_share`` (a negative
    share or base, or a share finer than the currency's minor unit), ``invalid_period`` and
    ``invalid_host_vat`` (a VAT treatment the parties cannot bear, see :func:`_check_vat`).
    The contract's self-billing agreement is the document's ``reason``; ``run_key`` makes the
    statement of one contract and period exactly-once (DESIGN §2).
    """
    unit = Currency.of(currency)
    start, end = period
    if end <= start:
        raise InvalidInputError(
            "a statement period ends after it starts", code="invalid_period", field="period"
        )
    if not contract_number.strip():
        raise InvalidInputError(
            "a self-billed invoice names its contract", code="contract_required", field="contract"
        )
    if not lines:
        raise InvalidInputError(
            "a statement needs at least one site", code="empty_statement", field="lines"
        )
    for line in lines:
        _check_share(line, unit)
    if not any(line.share_net for line in lines):
        raise InvalidInputError(
            "the statement owes the host nothing", code="empty_statement", field="lines"
        )
    _check_vat(vat, host, operator)
    last = (end - timedelta(days=1)).isoformat()
    invoice_lines = tuple(
        InvoiceLine(
            position=position,
            description=(
                f"Revenue share, {line.site_name}, {start.isoformat()} to {last}: "
                f"{line.description}"
            ),
            net=line.share_net,
            vat_category=vat.category,
            vat_percent=vat.percent,
            site_name=line.site_name,
            energy_kwh=line.kwh,
            country=operator.country,  # a B2B service is supplied where we are (art. 44)
        )
        for position, line in enumerate(lines, 1)
    )
    # BR-O-02: a not-subject invoice states no VAT id, not even the buyer's.
    buyer = replace(operator, vat_id=None) if vat.category is VatCategory.NOT_SUBJECT else operator
    return Invoice(
        kind=DocumentKind.SELF_BILLED,
        account_id=None,
        seller=host,
        buyer=buyer,
        currency=unit,
        period_start=start,
        period_end=end,
        lines=invoice_lines,
        layout=Layout.PER_SESSION,
        payment_terms_days=payment_terms_days,
        vat_note=vat.note,
        reason=(
            f"Issued by {operator.name} in the name and on behalf of {host.name} under the "
            f"self-billing agreement of contract {contract_number.strip()} "
            "(Council Directive 2006/112/EC, Art. 224)"
        ),
        run_key=f"self-billing:{contract_number.strip()}:{start.isoformat()}",
    )


def _check_share(line: ShareLine, currency: Currency) -> None:
    for name, amount in (("share_net", line.share_net), ("base_net", line.base_net)):
        if amount < 0 or not within_minor_units(amount, currency):
            raise InvalidInputError(
                f"the {name.replace('_', ' ')} of {line.site_name} is {amount}: a share is "
                f"zero or more, in whole {currency.code} minor units",
                code="invalid_share",
                field=name,
            )
    if line.kwh < 0:
        raise InvalidInputError(
            f"{line.site_name} delivered {line.kwh} kWh", code="invalid_share", field="kwh"
        )


def _check_vat(vat: HostVat, host: Party, operator: Party) -> None:
    """What EN 16931 and the directive ask of each treatment, checked before a number is
    spent: S needs the host's VAT id (BR-S-02) and a host in our country (otherwise the
    service is taxed where we are, art. 44, and reverse-charged, art. 196); AE needs both VAT
    ids (BR-AE-02) and two countries; E needs the host's VAT id (BR-E-02: our parties carry
    no tax registration number, BT-32) and a reason (BR-E-10); O allows no VAT id at all
    (BR-O-02) and then needs the host's legal registration to identify it (BT-30, BR-CO-26).
    Every zero-rated treatment has rate 0 (BR-AE-05, BR-E-05)."""
    problem = None
    category = vat.category
    if category is VatCategory.STANDARD:
        if vat.percent <= 0:
            problem = "a standard-rated share has a rate above zero"
        elif not host.vat_id:
            problem = "a host charging VAT has a VAT id (BR-S-02)"
        elif host.country.upper() != operator.country.upper():
            problem = "a host in another country is reverse-charged (art. 44, 196)"
    elif vat.percent != 0:
        problem = f"a share in category {category.value} has rate 0"
    elif category is VatCategory.REVERSE_CHARGE:
        if not (host.vat_id and operator.vat_id):
            problem = "reverse charge needs the host's and our VAT ids (BR-AE-02)"
        elif host.country.upper() == operator.country.upper():
            problem = "a host in our own country is not reverse-charged"
    elif category is VatCategory.EXEMPT:
        if not host.vat_id:
            problem = "an exempt host needs its VAT id (BR-E-02); without one: not subject (O)"
        elif not (vat.note and vat.note.strip()):
            problem = "an exempt share names its exemption (BR-E-10)"
    elif host.vat_id:
        problem = "a host with a VAT id is not 'not subject to VAT' (BR-O-02)"
    elif not host.registration:
        problem = "a host without a VAT id needs its legal registration (BT-30, BR-CO-26)"
    if problem is not None:
        raise InvalidInputError(problem, code="invalid_host_vat", field="vat")


def revenue_share_settled(
    document: Invoice, partner_id: uuid.UUID, self_assessed_percent: Decimal | None = None
) -> JournalEntry:
    """The journal entry of an issued self-billed invoice: Dr ``Expenses:RevenueShare`` (net),
    Dr ``Assets:VAT:Input:<host country>`` (the host's VAT, deductible: art. 168), Cr
    ``Liabilities:Payable:<partner>`` (gross, what we pay the host).

    Reverse charge: we owe the VAT of our country on the net and deduct it at once (art. 196,
    168): Dr input VAT and Cr VAT payable, both ``self_assessed_percent`` (our rate, required)
    of each reverse-charged subtotal, rounded half-up (BR-CO-17's rule). Exempt and
    not-subject shares bear no VAT. ``self_assessed_percent`` is ignored for the others."""
    if document.kind is not DocumentKind.SELF_BILLED:
        raise InvalidInputError(
            f"{document.number} is a {document.kind.value}, not a self-billed invoice",
            code="not_self_billed",
            field="document",
        )
    if document.status is not DocumentStatus.ISSUED or document.issue_date is None:
        raise ConflictError(
            "only an issued self-billed invoice is booked", code="invoice_not_issued"
        )
    currency = document.currency
    postings = [Posting(REVENUE_SHARE, Money(document.net_total, currency))]
    for subtotal in document.vat_subtotals:
        if subtotal.category is VatCategory.STANDARD:
            postings.append(
                Posting(input_vat(document.seller.country), Money(subtotal.tax, currency))
            )
        elif subtotal.category is VatCategory.REVERSE_CHARGE:
            if self_assessed_percent is None or self_assessed_percent <= 0:
                raise InvalidInputError(
                    "a reverse-charged share is self-assessed at our VAT rate",
                    code="self_assessed_rate_required",
                    field="self_assessed_percent",
                )
            tax = vat_of(subtotal.taxable, self_assessed_percent, currency)
            country = document.buyer.country
            postings.append(Posting(input_vat(country), Money(tax, currency)))
            postings.append(Posting(vat_payable(country), Money(-tax, currency)))
    postings.append(Posting(partner_payable(partner_id), Money(-document.gross_total, currency)))
    return JournalEntry(
        kind=EntryKind.REVENUE_SHARE_SETTLED,
        booked_on=document.issue_date,
        description=f"Self-billed invoice {document.number}: revenue share of "
        f"{document.seller.name}",
        postings=tuple(postings),
        source_type="invoice",
        source_id=str(document.id),
    )
