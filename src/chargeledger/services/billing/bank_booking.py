"""What one bank statement import books (``bank_reconciliation``), and the settling of an
invoice out of money that came in, shared with finance's manual matches
(``bank_decisions``): a transfer settles what the invoice still asks, the rest becomes the
customer's credit (``domain.bank_matching.allocate``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from chargeledger.domain.bank_entries import BankEntry
from chargeledger.domain.bank_matching import OpenInvoice, OpenPayouts, allocate
from chargeledger.domain.bank_postings import Applied
from chargeledger.domain.bank_statements import StatementEntry
from chargeledger.domain.invoicing import InvoiceAddressee
from chargeledger.domain.ledger import JournalEntry
from chargeledger.domain.receivables import Settlement, SettlementKind
from chargeledger.money import Money


@dataclass
class Booking:
    """What one import writes, gathered so that it goes to storage in batches."""

    payouts: OpenPayouts = field(default_factory=lambda: OpenPayouts(()))
    payout_differences: list[str] = field(default_factory=list)
    records: list[BankEntry] = field(default_factory=list)
    settlements: list[Settlement] = field(default_factory=list)
    journal: list[JournalEntry] = field(default_factory=list)
    credited_accounts: set[uuid.UUID] = field(default_factory=set)
    addressees: dict[uuid.UUID, InvoiceAddressee] = field(default_factory=dict)  # to confirm
    seen: set[tuple[str, str]] = field(default_factory=set)  # (account, entry ref) this import


def settle_from(
    invoice: OpenInvoice,
    paid: Money,
    record_id: uuid.UUID,
    now: datetime,
    on: date,
    decided_by: str | None,
    booking: Booking,
) -> Applied:
    """Settle what ``invoice`` asks out of ``paid``; the rest becomes its customer's credit."""
    assert invoice.account_id is not None
    allocation = allocate(paid, invoice.outstanding)
    if not allocation.settles.is_zero:
        booking.addressees[invoice.invoice_id] = invoice.addressee
        booking.settlements.append(
            Settlement(
                invoice_id=invoice.invoice_id,
                account_id=invoice.account_id,
                kind=SettlementKind.BANK_TRANSFER,
                amount=allocation.settles,
                source=f"bank_entry:{record_id}",
                booked_at=now,
                booked_on=on,
                booked_by=decided_by,
            )
        )
    if not allocation.credit.is_zero:
        booking.credited_accounts.add(invoice.account_id)
    return Applied(invoice.account_id, allocation.settles, allocation.credit)


def describe_entry(entry: StatementEntry) -> str:
    who = entry.counterparty_name or entry.counterparty_iban or "unknown payer"
    what = entry.creditor_reference or " ".join((entry.remittance_unstructured or "").split())
    return f"{who}: {what}" if what else who
