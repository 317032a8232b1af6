"""Bank statement imports and entries as the API shows them (issue 13)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from chargeledger.api.schemas.common import Input
from chargeledger.domain.bank_entries import BankEntry
from chargeledger.services.billing.bank_reconciliation import ImportReport


class ImportOut(BaseModel):
    statements: int
    new: int = Field(description="entries not seen before")
    duplicates: int = Field(description="entries an earlier import already had")
    matched: int = Field(description="booked to an invoice or a customer's credit")
    unmatched: int = Field(description="waiting for finance")
    states: dict[str, int]
    rules: dict[str, int] = Field(description="automatic matches by rule")
    balance_gaps: list[str] = Field(description="statements whose balances disagree")
    payout_differences: list[str] = Field(
        description="PSP payouts whose bank line brought another amount than reported"
    )

    @classmethod
    def of(cls, report: ImportReport) -> ImportOut:
        return cls(
            statements=report.statements,
            new=report.new,
            duplicates=report.duplicates,
            matched=report.matched,
            unmatched=report.unmatched,
            states={state.value: count for state, count in report.states.items()},
            rules=dict(report.by_rule),
            balance_gaps=report.balance_gaps,
            payout_differences=report.payout_differences,
        )


class BankEntryOut(BaseModel):
    id: uuid.UUID
    account_iban: str
    entry_ref: str
    booking_date: date | None
    amount: Decimal
    currency: str
    direction: str
    state: str
    rule: str | None = Field(description="how it was matched, or the best guess when unmatched")
    confidence: Decimal | None
    invoice_id: uuid.UUID | None
    account_id: uuid.UUID | None
    payout_id: str | None
    counterparty_name: str | None
    counterparty_iban: str | None
    remittance: str | None
    creditor_reference: str | None
    return_reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    note: str | None

    @classmethod
    def of(cls, record: BankEntry) -> BankEntryOut:
        entry = record.entry
        return cls(
            id=record.id,
            account_iban=record.account_iban,
            entry_ref=entry.entry_ref,
            booking_date=entry.booking_date,
            amount=entry.amount.amount,
            currency=entry.amount.currency.code,
            direction=entry.direction.value,
            state=record.state.value,
            rule=record.rule,
            confidence=record.confidence,
            invoice_id=record.invoice_id,
            account_id=record.account_id,
            payout_id=record.payout_id,
            counterparty_name=entry.counterparty_name,
            counterparty_iban=entry.counterparty_iban,
            remittance=entry.remittance_unstructured,
            creditor_reference=entry.creditor_reference,
            return_reason=entry.return_reason,
            decided_by=record.decided_by,
            decided_at=record.decided_at,
            note=record.note,
        )


class MatchIn(Input):
    invoice: str = Field(min_length=1, max_length=64, description="invoice number or id")
    note: str | None = Field(None, max_length=500)


class CreditIn(Input):
    account_id: uuid.UUID
    note: str | None = Field(None, max_length=500)


class IgnoreIn(Input):
    note: str = Field(min_length=1, max_length=500, description="why it is no customer payment")
