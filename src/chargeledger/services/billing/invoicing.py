"""Invoice runs, receipts, issuing and credit notes (issue 5).

Numbers are reserved from the series counter inside the transaction that stores the issued
documents and posts them to the ledger, so a rollback returns them (gap-free) and concurrent
runs queue on the counter row (unique). A run reserves one block per batch of accounts and
series (``issue_all``: one upsert that adds the batch's count and returns the block's last
number, holding the counter row until the batch commits), then writes the batch's invoices,
lines, billed charges, entries, postings, audit queue rows and notices in bulk statements
(issue 17): a batch that fails returns its whole block, so numbers stay gap-free across
batches. An invoice run is idempotent: each (account, period)
has a run key, unique in storage, and charges already billed are never billed again.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.accounts import Account, BillingCycle
from chargeledger.domain.billing import DEFAULT_VAT_RATES, Charge, VatCategory, VatRates
from chargeledger.domain.billing_periods import (
    billing_period,
)
from chargeledger.domain.charge_documents import charges_document
from chargeledger.domain.credit_notes import credit_note
from chargeledger.domain.identity import Principal
from chargeledger.domain.invoicing import (
    DocumentKind,
    DocumentStatus,
    Invoice,
    InvoiceLine,
    Layout,
    Party,
    format_number,
    issued,
    series_for,
)
from chargeledger.domain.ledger import unbilled
from chargeledger.domain.postings import credit_note_issued, document_issued
from chargeledger.domain.receivables import (
    OpenItem,
    PaymentStatus,
    outstanding_of,
    payment_status,
)
from chargeledger.errors import DuplicateError, NotFoundError
from chargeledger.services.billing.customer_credit import apply_credits
from chargeledger.services.billing.document_notices import announce_issued
from chargeledger.services.billing.invoice_drafts import (
    buyer_of,
    period_drafts,
    postpaid_accounts,
    utc_midnight,
)
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.common import operator_today, page_bounds
from chargeledger.services.paging import Page
from chargeledger.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

ACCOUNTS_PER_TRANSACTION = 200
CHARGES_PER_TRANSACTION = 20_000


@dataclass(slots=True)
class RunResult:
    period: tuple[date, date]
    issued: list[Invoice] = field(default_factory=list)
    drafts: list[Invoice] = field(default_factory=list)
    receipts: list[Invoice] = field(default_factory=list)
    already_done: int = 0  # (account, period) pairs a previous run billed
    # False: ``issued`` and ``drafts`` hold each document's ``headline`` (what a run's caller
    # reports: numbers, ids, totals), so a month's run does not grow with its sessions.
    lines_kept: bool = True

    def record(self, documents: Sequence[Invoice], issue: bool) -> None:
        kept = list(documents) if self.lines_kept else [headline(d) for d in documents]
        if issue:
            self.issued += kept
        else:
            self.drafts += kept


def headline(document: Invoice) -> Invoice:
    """``document`` with one line per VAT rate in place of its lines: the same net, VAT
    subtotals and gross to the cent (``Invoice.vat_subtotals`` computes VAT per rate on the
    summed net), for reporting a stored document, never for storing or rendering one."""
    nets: dict[tuple[VatCategory, Decimal], Decimal] = defaultdict(Decimal)
    counts: dict[tuple[VatCategory, Decimal], int] = defaultdict(int)
    for line in document.lines:
        nets[(line.vat_category, line.vat_percent)] += line.net
        counts[(line.vat_category, line.vat_percent)] += 1
    lines = tuple(
        InvoiceLine(position, f"{counts[rate]} lines", net, *rate)
        for position, (rate, net) in enumerate(sorted(nets.items()), 1)
    )
    return replace(document, lines=lines)


def walk_in_buyer(charge: Charge) -> Party:
    """An ad hoc payer is anonymous: EN 16931 needs only the buyer's name and country."""
    return Party(
        name="Ad hoc customer (card payment)",
        street="",
        postal_code="",
        city="",
        country=charge.country,
    )


def today(clock: Clock, time_zone: str) -> date:
    return operator_today(clock, time_zone)


async def issue_all(
    uow: UnitOfWork, clock: Clock, drafts: Sequence[Invoice], on: date
) -> list[Invoice]:
    """Number drafts of one kind in order, consecutively, in the caller's transaction."""
    if not drafts:
        return []
    series = series_for(drafts[0].kind, on)
    numbers = await uow.billing.next_numbers(series, len(drafts))
    at = clock.now()
    return [
        issued(draft, format_number(series, n), series, on, at)
        for draft, n in zip(drafts, numbers, strict=True)
    ]


async def issue_receipts(
    uow: UnitOfWork,
    clock: Clock,
    charges: Sequence[Charge],
    seller: Party,
    time_zone: str,
    buyers: Mapping[uuid.UUID, Account] | None = None,
) -> list[Invoice]:
    """A receipt per charge paid at the session (ad hoc card, app card, wallet), issued and
    booked in the caller's transaction; account holders' receipts name them (``buyers``)."""
    on = today(clock, time_zone)
    known = buyers or {}
    drafts = [
        charges_document(
            DocumentKind.RECEIPT,
            [charge],
            account_id=None if buyer is None else buyer.id,
            seller=seller,
            buyer=walk_in_buyer(charge) if buyer is None else buyer_of(buyer),
            period=(
                charge.started_at.astimezone(ZoneInfo(charge.time_zone)).date(),
                charge.stopped_at.astimezone(ZoneInfo(charge.time_zone)).date() + timedelta(days=1),
            ),
            run_key=receipt_key(charge.id),
        )
        for charge in charges
        for buyer in [known.get(charge.account_id) if charge.account_id else None]
    ]
    receipts = await issue_all(uow, clock, drafts, on)
    await _store(uow, clock, receipts)
    return receipts


def receipt_key(charge_id: uuid.UUID) -> str:
    """The run key of a charge's receipt: one receipt per charge."""
    return f"receipt:{charge_id}"


async def session_receipt(uow: UnitOfWork, session_id: uuid.UUID) -> Invoice | None:
    """The receipt of a session paid at once, once it is charged."""
    charge = await uow.billing.charge_for_session(session_id)
    if charge is None:
        return None
    return await uow.billing.invoice_by_run_key(receipt_key(charge.id))


async def _store(uow: UnitOfWork, clock: Clock, documents: Sequence[Invoice]) -> None:
    now = clock.now()
    await uow.billing.add_invoices(documents, now)
    entries = [document_issued(d) for d in documents if d.status is DocumentStatus.ISSUED]
    await uow.ledger.add([e for e in entries if e is not None], now)
    await announce_issued(uow, clock, documents)


async def run_invoices(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    seller: Party,
    time_zone: str,
    label: str,
    layout: Layout = Layout.PER_SESSION,
    issue: bool = True,
    rates: VatRates = DEFAULT_VAT_RATES,
    lines_kept: bool = True,
) -> RunResult:
    """Invoice every postpaid account for the periods of its cycle that end within the
    month ``label`` (``2026-10``), and give receipts to ad hoc charges left without one.
    ``lines_kept=False`` reports each document by its ``headline``."""
    month = billing_period(BillingCycle.MONTHLY, label)
    outcome = RunResult(month, lines_kept=lines_kept)
    async with uow_factory() as uow:
        accounts = await postpaid_accounts(uow)
        waiting = await uow.billing.unbilled_counts()
    for chunk in account_batches(accounts, waiting):
        billing = (
            uow_factory,
            clock,
            chunk,
            month,
            seller,
            time_zone,
            layout,
            issue,
            outcome,
            rates,
        )
        try:
            await _bill_chunk(*billing)
        except DuplicateError:
            # A concurrent run billed some of these (account, period) pairs first: nothing of
            # this chunk was kept; once more, the pairs it did count as already done.
            await _bill_chunk(*billing)
    window = (utc_midnight(month[0], time_zone), utc_midnight(month[1], time_zone))
    try:
        outcome.receipts = await _missing_receipts(uow_factory, clock, seller, time_zone, window)
    except DuplicateError:  # a concurrent run gave some of them receipts first
        outcome.receipts = await _missing_receipts(uow_factory, clock, seller, time_zone, window)
    return outcome


def account_batches(
    accounts: Sequence[Account], waiting: Mapping[uuid.UUID, int]
) -> Iterator[Sequence[Account]]:
    """``accounts`` in order, in batches of at most ``ACCOUNTS_PER_TRANSACTION`` accounts and,
    unless one account alone has more, ``CHARGES_PER_TRANSACTION`` waiting charges: a
    transaction's size follows its charges (issue 17), so a fleet with a month of sessions
    bills on its own and a thousand quiet accounts together."""
    chunk: list[Account] = []
    charges = 0
    for account in accounts:
        count = waiting.get(account.id, 0)
        full = len(chunk) >= ACCOUNTS_PER_TRANSACTION or charges + count > CHARGES_PER_TRANSACTION
        if chunk and full:
            yield chunk
            chunk, charges = [], 0
        chunk.append(account)
        charges += count
    if chunk:
        yield chunk


async def _missing_receipts(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    seller: Party,
    time_zone: str,
    window: tuple[datetime, datetime],
) -> list[Invoice]:
    async with uow_factory() as uow:
        ad_hoc = await uow.billing.unbilled_charges(*window, ad_hoc=True)
        if not ad_hoc:
            return []
        receipts = await issue_receipts(uow, clock, ad_hoc, seller, time_zone)
        await uow.commit()
    return receipts


async def _bill_chunk(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    chunk: Sequence[Account],
    month: tuple[date, date],
    seller: Party,
    time_zone: str,
    layout: Layout,
    issue: bool,
    outcome: RunResult,
    rates: VatRates,
) -> None:
    """One transaction: the drafts of ``chunk``, numbered when issuing, stored and booked."""
    attempt = RunResult(outcome.period)
    async with uow_factory() as uow:
        # The accounts' unbilled charges are read and billed under their holds: a re-pricing
        # (``repricing``) decides against a charge either before it is read or after it is
        # billed, never in between.
        await uow.ledger.hold_accounts([unbilled(account.id) for account in chunk])
        drafts, attempt.already_done = await period_drafts(
            uow, chunk, month, seller, time_zone, layout, rates
        )
        documents = (
            await issue_all(uow, clock, drafts, today(clock, time_zone)) if issue else drafts
        )
        await _store(uow, clock, documents)
        if issue:  # a customer's credit pays their new invoice at once
            payers = (d.account_id for d in documents if d.account_id is not None)
            await apply_credits(uow, clock, time_zone, payers)
        await uow.commit()
    outcome.already_done += attempt.already_done
    outcome.record(documents, issue)


async def issue_invoice(
    uow: UnitOfWork, clock: Clock, invoice_id: uuid.UUID, time_zone: str
) -> Invoice:
    """Issue a draft: number, dates and ledger posting in the caller's transaction."""
    draft = await get_invoice(uow, invoice_id)
    [document] = await issue_all(uow, clock, [draft], today(clock, time_zone))
    await uow.billing.mark_issued(document)
    entry = document_issued(document)
    if entry is not None:
        await uow.ledger.add([entry], clock.now())
    await announce_issued(uow, clock, [document])
    return document


async def issue_credit_note(
    uow: UnitOfWork,
    clock: Clock,
    original_id: uuid.UUID,
    reason: str,
    time_zone: str,
    positions: tuple[int, ...] | None = None,
    net_amount: Decimal | None = None,
) -> Invoice:
    """Correct an issued invoice or receipt by a credit note that references it (the only
    correction of an issued document), numbered and booked in the caller's transaction."""
    original = await get_invoice(uow, original_id)
    previous = await uow.billing.credit_notes_of(original.id)
    draft = credit_note(original, reason, previous, positions, net_amount)
    [note] = await issue_all(uow, clock, [draft], today(clock, time_zone))
    await uow.billing.add_invoices([note], clock.now())
    await uow.ledger.add([credit_note_issued(note)], clock.now())
    return note


async def get_invoice(uow: UnitOfWork, invoice_id: uuid.UUID) -> Invoice:
    found = await uow.billing.get_invoice(invoice_id)
    if found is None:
        raise NotFoundError(f"invoice {invoice_id} not found", code="invoice_not_found")
    return found


async def find_invoice(uow: UnitOfWork, reference: str) -> Invoice:
    """By number (``INV-2026-000001``) or id."""
    found = await uow.billing.invoice_by_number(reference)
    if found is None:
        try:
            found = await uow.billing.get_invoice(uuid.UUID(reference))
        except ValueError:
            found = None
    if found is None:
        raise NotFoundError(f"no invoice {reference!r}", code="invoice_not_found")
    return found


async def open_item(uow: UnitOfWork, invoice: Invoice) -> OpenItem:
    """The sums ``invoice``'s status derives from: credit notes and settlements."""
    return (await open_items(uow, [invoice]))[invoice.id]


async def open_items(uow: UnitOfWork, documents: Sequence[Invoice]) -> dict[uuid.UUID, OpenItem]:
    """``open_item`` of many documents in two queries (a page of the invoice list)."""
    ids = [d.id for d in documents]
    credited = await uow.billing.credited_totals(ids)
    settled = await uow.billing.settlements_of(ids)
    return {
        d.id: OpenItem(d.gross_total, credited[d.id]).with_settlements(settled[d.id])
        for d in documents
    }


async def open_amount(uow: UnitOfWork, invoice: Invoice) -> Decimal:
    """What is still to pay on ``invoice`` (card payments of invoices are capped by it)."""
    return outstanding_of(invoice, await open_item(uow, invoice))


async def status_of(uow: UnitOfWork, invoice: Invoice, on: date) -> PaymentStatus:
    """Derived status (``domain.receivables.payment_status``) on the day ``on``."""
    return payment_status(invoice, await open_item(uow, invoice), on)


async def visible_invoice(uow: UnitOfWork, principal: Principal, invoice_id: uuid.UUID) -> Invoice:
    """A driver or fleet manager sees only their account's documents; others look the same as
    missing ones, so ids of other accounts' invoices leak nothing."""
    invoice = await get_invoice(uow, invoice_id)
    hidden = invoice.account_id is None or not principal.may_see_account(invoice.account_id)
    if hidden and principal.is_account_bound:
        raise NotFoundError(f"invoice {invoice_id} not found", code="invoice_not_found")
    return invoice


async def list_visible(
    uow: UnitOfWork, principal: Principal, criteria: InvoiceFilter, limit: int, offset: int
) -> Page[Invoice]:
    limit, offset = page_bounds(limit, offset)
    if principal.is_account_bound:
        if criteria.account_id not in (None, principal.account_id):
            return Page(items=[], next_offset=None)  # another account's: nothing to see
        criteria = replace(criteria, account_id=principal.account_id)
    return await uow.billing.list_invoices(criteria, limit=limit, offset=offset)
