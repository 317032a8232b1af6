"""The storage port of imported bank statements and their entries (issue 13). Implemented
by ``adapters/db/repositories/bank.py``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from chargeledger.domain.bank_entries import BankEntry, EntryState
from chargeledger.domain.bank_matching import BookedPayout
from chargeledger.domain.bank_statements import Statement
from chargeledger.services.paging import Page


@dataclass(frozen=True, slots=True)
class StoredStatement:
    """An imported statement as kept: which account and days it covers, who brought it in
    from which file (the entries are kept apart, each once)."""

    id: uuid.UUID
    account_iban: str
    statement_id: str
    currency: str
    from_date: date | None
    to_date: date | None
    created_at: datetime | None
    imported_at: datetime
    imported_by: str | None
    filename: str | None


class BankRepository(Protocol):
    """Imported bank statements and their entries (issue 13)."""

    async def add_statement(
        self,
        statement: Statement,
        imported_at: datetime,
        imported_by: str | None,
        filename: str | None,
    ) -> uuid.UUID: ...

    async def known_refs(self, account_iban: str, refs: Sequence[str]) -> set[str]: ...

    async def add_entries(self, records: Sequence[BankEntry]) -> None: ...

    async def get(self, entry_id: uuid.UUID) -> BankEntry | None: ...

    async def entries(
        self,
        state: EntryState | None,
        *,
        limit: int,
        offset: int,
        statement_row: uuid.UUID | None = None,
    ) -> Page[BankEntry]: ...

    async def statements(self, *, limit: int, offset: int) -> Page[StoredStatement]:
        """Imported statements, the newest import first."""
        ...

    async def statement(self, statement_row: uuid.UUID) -> StoredStatement | None: ...

    async def decide(
        self,
        entry_id: uuid.UUID,
        state: EntryState,
        *,
        rule: str,
        invoice_id: uuid.UUID | None,
        account_id: uuid.UUID | None,
        decided_by: str,
        decided_at: datetime,
        note: str | None,
    ) -> bool: ...

    async def known_ibans(self) -> dict[str, set[uuid.UUID]]: ...

    async def paid_by(self, end_to_end_ids: Sequence[str]) -> dict[str, BankEntry]: ...

    async def open_payouts(self) -> list[BookedPayout]: ...
