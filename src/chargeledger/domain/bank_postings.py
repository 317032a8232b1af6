"""How bank statement entries are booked (issue 13; DESIGN §5 Bank / Receivable).

Every booked entry of an imported statement is booked once (source: the stored entry), so the
ledger's ``Assets:Bank`` moves exactly as the bank account did. What is not yet explained waits
in ``Liabilities:Suspense:Bank`` until finance matches it; what a payer sent beyond their
invoices is owed back to them as ``Liabilities:CustomerCredit:C<account>`` until their next
invoice uses it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from chargeledger.domain.ledger import (
    BANK,
    BANK_SUSPENSE,
    EntryKind,
    JournalEntry,
    Posting,
    customer_credit,
    receivable,
)
from chargeledger.money import Money

SOURCE = "bank_entry"


@dataclass(frozen=True, slots=True)
class Applied:
    """Part of a movement set against a customer: ``settles`` their receivable (invoices),
    ``credit`` is kept for them."""

    account_id: uuid.UUID
    settles: Money
    credit: Money


def _counter_postings(total: Money, applied: Applied | None) -> list[Posting]:
    """Credits the receivable and customer credit of ``applied``; the rest to suspense."""
    postings: list[Posting] = []
    left = total
    if applied is not None:
        postings += [
            Posting(receivable(applied.account_id), -applied.settles),
            Posting(customer_credit(applied.account_id), -applied.credit),
        ]
        left = left - applied.settles - applied.credit
    postings.append(Posting(BANK_SUSPENSE, -left))
    return postings


def bank_receipt(
    entry_id: uuid.UUID, on: date, amount: Money, applied: Applied | None, text: str
) -> JournalEntry:
    """Money in: to the payer's receivable and credit as far as matched, else suspense."""
    return JournalEntry(
        kind=EntryKind.BANK_RECEIPT,
        booked_on=on,
        description=f"bank receipt: {text}"[:200],
        postings=(Posting(BANK, amount), *_counter_postings(amount, applied)),
        source_type=SOURCE,
        source_id=str(entry_id),
    )


def bank_debit(
    entry_id: uuid.UUID, on: date, amount: Money, reopened: uuid.UUID | None, text: str
) -> JournalEntry:
    """Money out: a returned transfer or direct debit puts the amount back on the payer's
    receivable (``reopened``); any other debit waits in suspense for finance."""
    side = receivable(reopened) if reopened is not None else BANK_SUSPENSE
    return JournalEntry(
        kind=EntryKind.BANK_DEBIT,
        booked_on=on,
        description=f"bank debit: {text}"[:200],
        postings=(Posting(BANK, -amount), Posting(side, amount)),
        source_type=SOURCE,
        source_id=str(entry_id),
    )


def suspense_allocated(entry_id: uuid.UUID, on: date, applied: Applied, text: str) -> JournalEntry:
    """Finance matched money that waited in suspense: it moves to the customer."""
    total = applied.settles + applied.credit
    return JournalEntry(
        kind=EntryKind.BANK_ALLOCATION,
        booked_on=on,
        description=f"bank receipt matched: {text}"[:200],
        postings=(Posting(BANK_SUSPENSE, total), *_counter_postings(total, applied)),
        source_type=SOURCE,
        source_id=str(entry_id),
    )


def credit_applied(
    settlement_id: uuid.UUID, on: date, account_id: uuid.UUID, amount: Money, number: str
) -> JournalEntry:
    """A customer's credit pays (part of) their invoice ``number``."""
    return JournalEntry(
        kind=EntryKind.CREDIT_APPLIED,
        booked_on=on,
        description=f"credit applied to {number}",
        postings=(
            Posting(customer_credit(account_id), amount),
            Posting(receivable(account_id), -amount),
        ),
        source_type="settlement",
        source_id=str(settlement_id),
    )
