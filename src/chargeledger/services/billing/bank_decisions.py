"""What finance does with the unmatched queue of bank entries (issue 13): match one to an
invoice, keep it as a customer's credit, or set it aside with a note. Each entry is decided
once (a conditional update); what it books moves money out of suspense. Handed the open unit
of work; the caller commits (DESIGN §3)."""

from __future__ import annotations

import uuid

from chargeledger.domain.bank_entries import BankEntry, EntryState
from chargeledger.domain.bank_matching import (
    OpenInvoice,
)
from chargeledger.domain.bank_postings import (
    Applied,
    suspense_allocated,
)
from chargeledger.domain.bank_statements import (
    Direction,
)
from chargeledger.domain.invoicing import DocumentKind, DocumentStatus
from chargeledger.domain.receivables import outstanding_of
from chargeledger.domain.text import optional_text, required_text
from chargeledger.errors import ConflictError, InvalidInputError, NotFoundError
from chargeledger.money import Money
from chargeledger.services.billing.bank_booking import Booking, describe_entry, settle_from
from chargeledger.services.billing.bank_ports import StoredStatement
from chargeledger.services.billing.customer_credit import apply_credit
from chargeledger.services.billing.document_notices import announce_payment
from chargeledger.services.billing.invoicing import find_invoice, open_item, today
from chargeledger.services.common import page_bounds
from chargeledger.services.paging import Page
from chargeledger.services.ports import Clock, UnitOfWork

MANUAL = "manual"  # the rule of an entry finance decided


async def list_entries(
    uow: UnitOfWork,
    state: EntryState | None,
    limit: int,
    offset: int,
    statement_row: uuid.UUID | None = None,
) -> Page[BankEntry]:
    """Entries by booking day, e.g. the unmatched queue; ``statement_row``: one statement's."""
    limit, offset = page_bounds(limit, offset)
    return await uow.bank.entries(state, limit=limit, offset=offset, statement_row=statement_row)


async def list_statements(uow: UnitOfWork, limit: int, offset: int) -> Page[StoredStatement]:
    """The imported statements, newest import first (the office's bank page, issue 16)."""
    limit, offset = page_bounds(limit, offset)
    return await uow.bank.statements(limit=limit, offset=offset)


async def get_statement(uow: UnitOfWork, statement_row: uuid.UUID) -> StoredStatement:
    found = await uow.bank.statement(statement_row)
    if found is None:
        raise NotFoundError(
            f"bank statement {statement_row} not found", code="bank_statement_not_found"
        )
    return found


async def _unmatched(uow: UnitOfWork, entry_id: uuid.UUID) -> BankEntry:
    found = await uow.bank.get(entry_id)
    if found is None:
        raise NotFoundError(f"bank entry {entry_id} not found", code="bank_entry_not_found")
    if found.state is not EntryState.UNMATCHED:
        raise ConflictError(
            f"bank entry {entry_id} is {found.state.value}: only unmatched entries are decided",
            code="bank_entry_decided",
        )
    return found


async def match_entry(
    uow: UnitOfWork,
    clock: Clock,
    time_zone: str,
    entry_id: uuid.UUID,
    invoice_reference: str,
    decided_by: str,
    note: str | None = None,
) -> BankEntry:
    """Finance matches an unmatched receipt to an invoice (number or id): it settles what the
    invoice still asks, the rest becomes the customer's credit. Does not commit."""
    found = await _unmatched(uow, entry_id)
    entry = found.entry
    if entry.direction is not Direction.CREDIT:
        raise ConflictError("only money received pays an invoice", code="not_a_receipt")
    invoice = await find_invoice(uow, invoice_reference)
    if (
        invoice.kind is not DocumentKind.INVOICE
        or invoice.status is not DocumentStatus.ISSUED
        or invoice.account_id is None
        or invoice.number is None
    ):
        raise ConflictError(
            f"{invoice_reference} is not an issued invoice of a customer account",
            code="not_payable",
        )
    if invoice.currency != entry.amount.currency:
        raise InvalidInputError(
            f"a {entry.amount.currency} receipt cannot pay a {invoice.currency} invoice",
            code="currency_mismatch",
            field="invoice",
        )
    outstanding = outstanding_of(invoice, await open_item(uow, invoice))
    open_invoice = OpenInvoice(
        invoice.id,
        invoice.number,
        invoice.payment_reference or "",
        invoice.account_id,
        invoice.buyer.name,
        Money(outstanding, invoice.currency),
        invoice.buyer.email,
        invoice.seller.name,
    )
    return await _decide_by_hand(
        uow, clock, time_zone, found, EntryState.MATCHED, open_invoice, None, decided_by, note
    )


async def credit_entry(
    uow: UnitOfWork,
    clock: Clock,
    time_zone: str,
    entry_id: uuid.UUID,
    account_id: uuid.UUID,
    decided_by: str,
    note: str | None = None,
) -> BankEntry:
    """Finance keeps an unmatched receipt as a customer's credit (a prepayment, an unclear
    payment of a known payer); their open invoices use it, oldest first."""
    found = await _unmatched(uow, entry_id)
    if found.entry.direction is not Direction.CREDIT:
        raise ConflictError("only money received is a customer's credit", code="not_a_receipt")
    if await uow.accounts.get(account_id) is None:
        raise NotFoundError(f"account {account_id} not found", code="account_not_found")
    return await _decide_by_hand(
        uow, clock, time_zone, found, EntryState.CREDITED, None, account_id, decided_by, note
    )


async def ignore_entry(
    uow: UnitOfWork, clock: Clock, entry_id: uuid.UUID, decided_by: str, note: str
) -> BankEntry:
    """Finance says an entry is no customer payment (a bank fee, a transfer between the
    operator's accounts): it stays in suspense for the accountant, with the note why."""
    found = await _unmatched(uow, entry_id)
    reason = required_text(note, "note")
    if not await uow.bank.decide(
        found.id,
        EntryState.IGNORED,
        rule=MANUAL,
        invoice_id=None,
        account_id=None,
        decided_by=decided_by,
        decided_at=clock.now(),
        note=reason,
    ):
        raise _decided_meanwhile(found.id)
    return await _reloaded(uow, found.id)


async def _decide_by_hand(
    uow: UnitOfWork,
    clock: Clock,
    time_zone: str,
    found: BankEntry,
    state: EntryState,
    invoice: OpenInvoice | None,
    account_id: uuid.UUID | None,
    decided_by: str,
    note: str | None,
) -> BankEntry:
    now, on = clock.now(), today(clock, time_zone)
    booking = Booking()
    paid = found.entry.amount
    if invoice is not None:
        applied = settle_from(invoice, paid, found.id, now, on, decided_by, booking)
    else:
        assert account_id is not None
        applied = Applied(account_id, Money.zero(paid.currency.code), paid)
        booking.credited_accounts.add(account_id)
    if not await uow.bank.decide(
        found.id,
        state,
        rule=MANUAL,
        invoice_id=None if invoice is None else invoice.invoice_id,
        account_id=applied.account_id,
        decided_by=decided_by,
        decided_at=now,
        note=optional_text(note, "note", 500),
    ):
        raise _decided_meanwhile(found.id)
    for settlement in booking.settlements:
        if await uow.billing.add_settlement(settlement):
            await announce_payment(uow, clock, settlement)
    await uow.ledger.add(
        [suspense_allocated(found.id, on, applied, describe_entry(found.entry))], now
    )
    for credited in booking.credited_accounts:
        await apply_credit(uow, clock, time_zone, credited)
    return await _reloaded(uow, found.id)


def _decided_meanwhile(entry_id: uuid.UUID) -> ConflictError:
    return ConflictError(
        f"bank entry {entry_id} was decided meanwhile; nothing was booked",
        code="bank_entry_decided",
    )


async def _reloaded(uow: UnitOfWork, entry_id: uuid.UUID) -> BankEntry:
    found = await uow.bank.get(entry_id)
    assert found is not None
    return found
