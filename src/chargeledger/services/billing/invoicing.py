"""Invoice runs, receipts, issuing and credit notes (issue 5).

Numbers are reserved from the series counter inside the transaction that stores the issued
documents and posts them to the ledger, so a rollback returns them (gap-free) and concurrent
runs queue on the counter row (unique). An invoice run is idempotent: each (account, period)
has a run key, unique in storage, and charges already billed are never billed again.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.accounts import Account, BillingCycle, BillingMode
from chargeledger.domain.billing import DEFAULT_VAT_RATES, Charge, VatRates
from chargeledger.domain.billing_periods import (
    Period,
    billing_period,
    period_containing,
    periods_within,
)
from chargeledger.domain.charge_documents import by_currency, charges_document
from chargeledger.domain.credit_notes import credit_note
from chargeledger.domain.identity import Principal
from chargeledger.domain.invoicing import (
    DocumentKind,
    DocumentStatus,
    Invoice,
    Layout,
    Party,
    format_number,
    issued,
    series_for,
)
from chargeledger.domain.postings import credit_note_issued, document_issued
from chargeledger.domain.receivables import (
    OpenItem,
    PaymentStatus,
    outstanding_of,
    payment_status,
)
from chargeledger.errors import DuplicateError, NotFoundError
from chargeledger.services.billing.contract_billing import with_contract_lines
from chargeledger.services.billing.customer_credit import apply_credits
from chargeledger.services.billing.document_notices import announce_issued
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.common import page_bounds
from chargeledger.services.paging import Page
from chargeledger.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

ACCOUNTS_PER_TRANSACTION = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class RunResult:
    period: tuple[date, date]
    issued: list[Invoice] = field(default_factory=list)
    drafts: list[Invoice] = field(default_factory=list)
    receipts: list[Invoice] = field(default_factory=list)
    already_done: int = 0  # (account, period) pairs a previous run billed


def buyer_of(account: Account) -> Party:
    address = account.billing_address
    return Party(
        name=account.name,
        street=address.street,
        postal_code=address.postal_code,
        city=address.city,
        country=address.country,
        vat_id=account.vat_id,
        email=account.email,
    )


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
    return clock.now().astimezone(ZoneInfo(time_zone)).date()


def _utc(day: date, time_zone: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(time_zone)).astimezone(UTC)


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
) -> RunResult:
    """Invoice every postpaid account for the periods of its cycle that end within the
    month ``label`` (``2026-10``), and give receipts to ad hoc charges left without one."""
    month = billing_period(BillingCycle.MONTHLY, label)
    outcome = RunResult(month)
    async with uow_factory() as uow:
        accounts = await _postpaid_accounts(uow)
    for start in range(0, len(accounts), ACCOUNTS_PER_TRANSACTION):
        chunk = accounts[start : start + ACCOUNTS_PER_TRANSACTION]
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
    window = (_utc(month[0], time_zone), _utc(month[1], time_zone))
    try:
        outcome.receipts = await _missing_receipts(uow_factory, clock, seller, time_zone, window)
    except DuplicateError:  # a concurrent run gave some of them receipts first
        outcome.receipts = await _missing_receipts(uow_factory, clock, seller, time_zone, window)
    return outcome


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
        drafts = await _drafts(uow, chunk, month, seller, time_zone, layout, attempt, rates)
        documents = (
            await issue_all(uow, clock, drafts, today(clock, time_zone)) if issue else drafts
        )
        await _store(uow, clock, documents)
        if issue:  # a customer's credit pays their new invoice at once
            payers = (d.account_id for d in documents if d.account_id is not None)
            await apply_credits(uow, clock, time_zone, payers)
        await uow.commit()
    outcome.already_done += attempt.already_done
    if issue:
        outcome.issued += documents
    else:
        outcome.drafts += documents


def _run_key(account: Account, period: tuple[date, date], currency: str) -> str:
    """One invoice per (account, period, currency). The account's own currency keeps the key
    it always had, so periods invoiced before are still recognised; charges in another
    currency (a site priced in it) get their own invoice under a key naming it."""
    key = f"invoice:{account.id}:{period[0].isoformat()}:{period[1].isoformat()}"
    return key if currency == account.currency.code else f"{key}:{currency}"


async def _late_charges(
    uow: UnitOfWork,
    accounts: Sequence[Account],
    periods: dict[uuid.UUID, list[Period]],
    by_account: dict[uuid.UUID, list[Charge]],
) -> set[uuid.UUID]:
    """Unbilled charges from before this run's periods whose own period was invoiced already:
    they missed their invoice and go on this one. Charges of a period never invoiced wait for
    that period's run."""
    earlier: dict[str, list[uuid.UUID]] = defaultdict(list)
    for account in accounts:
        if not periods[account.id]:
            continue
        first = periods[account.id][0][0]
        for charge in by_account[account.id]:
            day = charge.local_start.date()
            if day < first:
                own = period_containing(account.billing_cycle, day)
                earlier[_run_key(account, own, charge.currency)].append(charge.id)
    invoiced = await uow.billing.run_keys(list(earlier))
    return {charge_id for key in invoiced for charge_id in earlier[key]}


async def _postpaid_accounts(uow: UnitOfWork) -> list[Account]:
    found: list[Account] = []
    offset: int | None = 0
    while offset is not None:
        page = await uow.accounts.list(
            kind=None, only_id=None, search=None, limit=1000, offset=offset
        )
        found += [a for a in page.items if a.billing_mode is BillingMode.POSTPAID]
        offset = page.next_offset
    return found


async def _drafts(
    uow: UnitOfWork,
    accounts: Sequence[Account],
    month: tuple[date, date],
    seller: Party,
    time_zone: str,
    layout: Layout,
    outcome: RunResult,
    rates: VatRates,
) -> list[Invoice]:
    periods = {a.id: periods_within(a.billing_cycle, *month) for a in accounts}
    ends = [p[1] for ps in periods.values() for p in ps] or [month[1]]
    # Every unbilled charge before the last period's end, for the late ones: a charge whose own
    # period was already invoiced (released from quarantine after the run, say) goes on the
    # account's next invoice. Local dates of sites anywhere on Earth lie within a day of the
    # operator's.
    window = (_EPOCH, _utc(max(ends), time_zone) + timedelta(days=1))
    pending = await uow.billing.unbilled_charges(*window, account_ids=[a.id for a in accounts])
    by_account: dict[uuid.UUID, list[Charge]] = defaultdict(list)
    for charge in pending:
        if charge.account_id is not None:
            by_account[charge.account_id].append(charge)
    late = await _late_charges(uow, accounts, periods, by_account)
    batches = []  # (account, period, run key, its charges): one invoice per currency
    for account in accounts:
        for index, period in enumerate(periods[account.id]):
            billed = [
                c
                for c in by_account[account.id]
                if period[0] <= c.local_start.date() < period[1] or (index == 0 and c.id in late)
            ]
            for currency, charges in by_currency(billed).items():
                batches.append((account, period, _run_key(account, period, currency), charges))
    # The (account, period) pairs a previous run billed (in the account's own currency, or
    # in any currency this run would bill again) count as done.
    pairs = [(a, p) for a in accounts for p in periods[a.id]]
    own = [_run_key(a, p, a.currency.code) for a, p in pairs]
    done = await uow.billing.run_keys(list(dict.fromkeys([*own, *(b[2] for b in batches)])))
    outcome.already_done += len(done)
    # A period of no charges may still owe a contract's fees or commitment (issue 14).
    batched = {key for _, _, key, _ in batches}
    batches += [
        (a, p, k, []) for a, p in pairs if (k := _run_key(a, p, a.currency.code)) not in batched
    ]
    drafts = []
    for account, period, key, charges in batches:
        if key in done:
            continue
        buyer = buyer_of(account)
        draft = None
        if charges:
            draft = charges_document(
                DocumentKind.INVOICE,
                charges,
                account_id=account.id,
                seller=seller,
                buyer=buyer,
                period=period,
                run_key=key,
                layout=layout,
                payment_terms_days=account.payment_terms_days,
            )
        draft = await with_contract_lines(
            uow,
            account,
            period,
            draft,
            charges,
            seller=seller,
            buyer=buyer,
            time_zone=time_zone,
            rates=rates,
            run_key=key,
            layout=layout,
        )
        if draft is not None:
            drafts.append(draft)
    return drafts


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
