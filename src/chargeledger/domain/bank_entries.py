"""A statement entry as kept after import, and what became of it (issue 13).

States: ``matched`` (booked to an invoice at import, or by finance), ``credited`` (kept as a
customer's credit), ``returned`` (a returned payment that reopened an invoice),
``unmatched`` (waiting in suspense for finance), ``ignored`` (finance said it is no customer
payment: it stays in suspense for the accountant, with their note), ``pending`` (not booked by
the bank yet: nothing is booked). Only ``unmatched`` ever changes, once, to a decision.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from chargeledger.domain.bank_statements import StatementEntry
from chargeledger.domain.ids import new_id


class EntryState(StrEnum):
    MATCHED = "matched"
    CREDITED = "credited"
    RETURNED = "returned"
    UNMATCHED = "unmatched"
    IGNORED = "ignored"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class BankEntry:
    entry: StatementEntry
    account_iban: str
    state: EntryState
    imported_at: datetime
    statement_row: uuid.UUID | None = None
    rule: str | None = None  # domain.bank_matching.MatchRule, or "manual"
    confidence: Decimal | None = None
    invoice_id: uuid.UUID | None = None  # the invoice paid, reopened, or the best guess
    account_id: uuid.UUID | None = None  # the customer it was set against
    payout_id: str | None = None  # the PSP payout this bank line brought in
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None
    id: uuid.UUID = field(default_factory=new_id)
