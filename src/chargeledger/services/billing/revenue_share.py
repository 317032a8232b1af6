"""A site host's monthly revenue share, settled by a self-billed invoice (issue 14).

For every signed site-host contract that covers days of the month, the share of the month is
computed per covered site from the charging there and issued, in the host's name, as a
self-billed invoice (EN 16931 BT-3 = 389, Directive 2006/112/EC art. 224; the document itself
is ``domain.self_billing.self_billed_statement``), numbered in series ``SB`` in this
transaction (gap-free, DESIGN §2), booked as a payable to the host
(``domain.self_billing.revenue_share_settled``) and recorded in ``contract_billings`` under
kind ``revenue_share``: that row's unique key (contract, kind, period start), and the
document's unique run key, settle each contract and month once however often the run goes.

What the share is a share of (the base):

- **Charges**: every charge (account, wallet and ad hoc alike) of a session at a covered site
  whose local start (the site's zone, as its VAT and invoice period) falls in the month on a
  day the contract covers, in the contract's currency. Net, i.e. excluding VAT: the VAT was
  never the operator's revenue (IFRS 15.47, amounts collected on behalf of third parties).
- **Credit notes**: line credits issued in the month (the operator's calendar) on charges at a
  covered site reduce that site's base, whichever month the charge was in: the document of
  an earlier month is final (art. 219 corrects by a new document), so a correction is netted
  in the month it is made, once. Credits of a net amount (a goodwill credit, no charge on the
  line) are not netted: nothing ties them to a site. A site's base does not go below zero
  (the month's share is then zero at that site, not a claim on the host).
- **kWh**: the energy of the charges; a credit note returns money, not energy, so it does not
  reduce the kWh a per-kWh share is paid on.

The terms are those of the version valid on the last day of the month the contract covers.
The host's VAT (``HostVat``): a host established in the operator's country with a VAT id
charges that country's standard rate on the last day of the month (art. 64(1): a continuous
supply is complete at the end of each period it is paid for); a host elsewhere with a VAT id
supplies where we are established (art. 44) and we self-assess (art. 196), at our rate; a host
without a VAT id is not subject (art. 9), which EN 16931 accepts only with the host's legal
registration (BR-CO-26): such a contract is held, not settled, and reported.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.billing import Charge, VatCategory, VatRates
from chargeledger.domain.contract_records import ContractBilling, ContractRecord, Partner
from chargeledger.domain.contract_terms import RevenueShare
from chargeledger.domain.contracts import ContractType, covers, version_on
from chargeledger.domain.invoicing import (
    DocumentKind,
    DocumentStatus,
    Invoice,
    Party,
    format_number,
    issued,
    series_for,
)
from chargeledger.domain.outbox import Attachment, AttachmentKind, Notice
from chargeledger.domain.self_billing import (
    HostVat,
    ShareLine,
    per_kwh_share,
    percent_share,
    revenue_share_settled,
    self_billed_statement,
)
from chargeledger.domain.text import money_text
from chargeledger.errors import DuplicateError, InvalidInputError
from chargeledger.money import ZERO
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.common import operator_today
from chargeledger.services.contracts.records import terms_of
from chargeledger.services.notifications.outbox import announce
from chargeledger.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

REVENUE_SHARE = "revenue_share"  # the kind of its rows in contract_billings


@dataclass(slots=True)
class ShareRun:
    """What one settlement of a month did: the documents issued, the contracts settled by an
    earlier run, and the contracts held with the reason (``code: message``)."""

    month: tuple[date, date]
    issued: list[Invoice] = field(default_factory=list)
    already_settled: int = 0
    held: list[tuple[str, str]] = field(default_factory=list)


async def settle_month_shares(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    seller: Party,
    time_zone: str,
    rates: VatRates,
    month: tuple[date, date],
) -> ShareRun:
    """:func:`settle_revenue_shares` in its own transaction, committed. A concurrent run that
    settled a contract first makes this one's insert clash (``DuplicateError``): nothing of it
    was kept, and once more it finds those contracts settled."""
    try:
        return await _settle_committed(uow_factory, clock, seller, time_zone, rates, month)
    except DuplicateError:
        return await _settle_committed(uow_factory, clock, seller, time_zone, rates, month)


async def _settle_committed(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    seller: Party,
    time_zone: str,
    rates: VatRates,
    month: tuple[date, date],
) -> ShareRun:
    async with uow_factory() as uow:
        outcome = await settle_revenue_shares(uow, clock, seller, time_zone, rates, month)
        await uow.commit()
    return outcome


async def settle_revenue_shares(
    uow: UnitOfWork,
    clock: Clock,
    seller: Party,
    time_zone: str,
    rates: VatRates,
    month: tuple[date, date],
) -> ShareRun:
    """Settle the site hosts' shares of ``month`` (first day, day after the last, in the
    operator's calendar) in the caller's transaction (see the module docstring)."""
    start, end = month
    outcome = ShareRun(month)
    last = end - timedelta(days=1)
    contracts = [
        r
        for r in await uow.contracts.signed_between(start, last)
        if r.contract.kind is ContractType.SITE_HOST and r.partner_id is not None
    ]
    if not contracts:
        return outcome
    charges = await _month_charges(uow, month, time_zone)
    credits = await _month_credits(uow, month)
    on = operator_today(clock, time_zone)
    for record in contracts:
        done = await uow.contracts.billings(record.id, REVENUE_SHARE)
        if any(b.period_start == start for b in done):
            outcome.already_settled += 1
            continue
        try:
            statement = await _statement(uow, record, seller, rates, month, charges, credits)
        except InvalidInputError as exc:  # refused before anything was written
            if exc.code != "empty_statement":  # nothing owed: nothing to settle
                outcome.held.append((record.number, f"{exc.code}: {exc}"))
            continue
        if statement is not None:
            outcome.issued.append(await _issue(uow, clock, record, rates, month, statement, on))
    return outcome


@dataclass(frozen=True, slots=True)
class _Statement:
    draft: Invoice
    partner_id: uuid.UUID
    self_assessed: Decimal | None  # our rate, for a reverse-charged share


async def _statement(
    uow: UnitOfWork,
    record: ContractRecord,
    seller: Party,
    rates: VatRates,
    month: tuple[date, date],
    charges: Sequence[Charge],
    credits: Sequence[tuple[Charge, Decimal]],
) -> _Statement | None:
    """The contract's draft document of the month (nothing written); None when its terms
    share nothing. Refuses what ``self_billed_statement`` refuses."""
    days = [d for d in _days(month) if covers(record.contract, d)]
    versions = await uow.contracts.versions(record.id)
    found = version_on([v.version for v in versions], days[-1]) if days else None
    if found is None:
        return None
    version = next(v for v in versions if v.version.number == found.number)
    terms = terms_of(version, record)
    if terms.revenue_share is None:
        return None
    assert record.partner_id is not None
    partner = await uow.contracts.partner(record.partner_id)
    if partner is None:
        raise InvalidInputError(
            f"contract {record.number} names a partner that does not exist",
            code="partner_not_found",
            field="partner_id",
        )
    lines = await _share_lines(uow, record, terms.revenue_share, set(days), charges, credits)
    vat = host_vat(partner, seller, rates, days[-1])
    draft = self_billed_statement(
        host_party(partner),
        replace(seller, iban=None, bic=None),  # the host is paid: its account, not ours
        record.currency.code,
        month,
        record.number,
        lines,
        vat,
        payment_terms_days=14 if terms.payment_terms_days is None else terms.payment_terms_days,
    )
    self_assessed = None
    if vat.category is VatCategory.REVERSE_CHARGE:
        self_assessed = rates.rate(seller.country, days[-1])
    return _Statement(draft, partner.id, self_assessed)


async def _issue(
    uow: UnitOfWork,
    clock: Clock,
    record: ContractRecord,
    rates: VatRates,
    month: tuple[date, date],
    statement: _Statement,
    on: date,
) -> Invoice:
    """Number, store, book, record and announce the statement, in the caller's transaction.
    A concurrent settlement of the same contract and month makes the insert of the document
    (unique run key) or of its billing clash: ``DuplicateError`` for the caller to roll back."""
    series = series_for(DocumentKind.SELF_BILLED, on)
    [number] = await uow.billing.next_numbers(series, 1)
    now = clock.now()
    document = issued(statement.draft, format_number(series, number), series, on, now)
    await uow.billing.add_invoices([document], now)
    entry = revenue_share_settled(document, statement.partner_id, statement.self_assessed)
    await uow.ledger.add([entry], now)
    await uow.contracts.add_billing(
        ContractBilling(
            contract_id=record.id,
            kind=REVENUE_SHARE,
            period_start=month[0],
            period_end=month[1],
            invoice_id=document.id,
            amount=document.net_total,
            currency=record.currency,
            created_at=now,
        )
    )
    await announce(uow, clock, self_billed_notice(document))
    return document


def host_party(partner: Partner) -> Party:
    """The host as the seller of its share (EN 16931 BG-4): name, postal address, VAT id and
    the IBAN we pay it to (BG-17)."""
    address = partner.address
    return Party(
        name=partner.name,
        street=address.street,
        postal_code=address.postal_code,
        city=address.city,
        country=address.country,
        vat_id=partner.vat_id,
        email=partner.email,
        iban=partner.iban,
    )


def host_vat(partner: Partner, operator: Party, rates: VatRates, day: date) -> HostVat:
    """The VAT the host's supply bears (see the module docstring): its country's standard
    rate on ``day`` at home, reverse charge from elsewhere, not subject without a VAT id."""
    if not partner.vat_id:
        return HostVat.not_subject()
    country = partner.address.country.upper()
    if country != operator.country.upper():
        return HostVat.reverse_charge()
    return HostVat.standard(rates.rate(country, day))


async def _share_lines(
    uow: UnitOfWork,
    record: ContractRecord,
    share: RevenueShare,
    days: set[date],
    charges: Sequence[Charge],
    credits: Sequence[tuple[Charge, Decimal]],
) -> list[ShareLine]:
    """One line per covered site with charging or credits, by site name."""
    sites = set(await uow.contracts.covered_sites(record.id))
    currency = record.currency.code
    bases: dict[uuid.UUID, Decimal] = defaultdict(lambda: ZERO)
    kwh: dict[uuid.UUID, Decimal] = defaultdict(lambda: ZERO)
    names: dict[uuid.UUID, str] = {}

    def ours(charge: Charge) -> bool:
        return charge.site_id in sites and charge.currency.code == currency

    for charge in charges:
        if ours(charge) and charge.local_start.date() in days:
            bases[charge.site_id] += charge.net
            kwh[charge.site_id] += charge.energy_kwh
            names[charge.site_id] = charge.site_name
    for charge, credited in credits:
        if ours(charge) and covers(record.contract, charge.local_start.date()):
            bases[charge.site_id] -= credited
            names[charge.site_id] = charge.site_name
    lines = []
    for site_id in sorted(names, key=lambda i: (names[i], str(i))):
        base, energy = max(bases[site_id], ZERO), kwh[site_id]
        if share.percent is not None:
            lines.append(percent_share(names[site_id], base, energy, share.percent, currency))
        else:
            assert share.per_kwh is not None  # RevenueShare holds exactly one
            lines.append(per_kwh_share(names[site_id], base, energy, share.per_kwh, currency))
    return lines


def _days(month: tuple[date, date]) -> list[date]:
    return [month[0] + timedelta(days=n) for n in range((month[1] - month[0]).days)]


def _utc(day: date, time_zone: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(time_zone)).astimezone(UTC)


async def _month_charges(uow: UnitOfWork, month: tuple[date, date], time_zone: str) -> list[Charge]:
    """Every charge whose local start may fall in the month: a site's calendar is within a
    day of the operator's, so a day either side; the caller keeps those of its days."""
    window = (_utc(month[0], time_zone) - timedelta(days=1), _utc(month[1], time_zone))
    found = await uow.billing.charges_between(window[0], window[1] + timedelta(days=1))
    return [c for c in found if month[0] <= c.local_start.date() < month[1]]


async def _month_credits(uow: UnitOfWork, month: tuple[date, date]) -> list[tuple[Charge, Decimal]]:
    """The line credits of credit notes issued in the month, with the charge each credits."""
    criteria = InvoiceFilter(
        kind=DocumentKind.CREDIT_NOTE,
        status=DocumentStatus.ISSUED,
        issued_from=month[0],
        issued_before=month[1],
    )
    credited: list[tuple[uuid.UUID, Decimal]] = []
    offset: int | None = 0
    while offset is not None:
        page = await uow.billing.list_invoices(criteria, limit=1000, offset=offset)
        credited += [
            (line.charge_id, line.net)
            for note in page.items
            for line in note.lines
            if line.charge_id is not None
        ]
        offset = page.next_offset
    if not credited:
        return []
    charges = {c.id: c for c in await uow.billing.charges_with_ids({i for i, _ in credited})}
    return [(charges[i], net) for i, net in credited if i in charges]


def self_billed_notice(document: Invoice) -> Notice:
    """The host's copy of the self-billed invoice issued in its name (art. 224: the host
    accepts each one), with its PDF; webhooks get it as ``self_billed.issued``."""
    total = money_text(document.gross_total, document.currency.code)
    text = "\n".join(
        [
            f"Self-billed invoice {document.number} of {document.issue_date}, issued in your "
            f"name under our self-billing agreement: {total}, paid by {document.due_date}.",
            "The document is attached.",
            "",
            document.buyer.name,
        ]
    )
    return Notice(
        topic="self_billed.issued",
        key=f"self_billed.issued:{document.id}",
        subject=f"Self-billed invoice {document.number}",
        text=text,
        data={
            "document_id": str(document.id),
            "number": document.number,
            "host": document.seller.name,
            "currency": document.currency.code,
            "net_total": str(document.net_total),
            "gross_total": str(document.gross_total),
            "issue_date": str(document.issue_date),
            "due_date": None if document.due_date is None else str(document.due_date),
        },
        recipient=document.seller.email,
        attachments=(Attachment(AttachmentKind.INVOICE_PDF, document.id),),
    )
