"""The storage port of the journal (DESIGN §5). Implemented by
``adapters/db/repositories/ledger.py``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from chargeledger.domain.ledger import Balance, EntryKind, JournalEntry, Posting


class LedgerRepository(Protocol):
    """The journal (DESIGN §5): insert-only entries, balances and statements."""

    async def add(self, entries: Sequence[JournalEntry], created_at: datetime) -> None: ...

    async def hold_account(self, account: str) -> None:
        """Until this transaction ends, no other transaction holds ``account``: whoever
        spends its balance (a customer's credit) reads it and books against it as one step."""
        ...

    async def hold_accounts(self, accounts: Sequence[str]) -> None:
        """``hold_account`` of each of ``accounts``, in one round trip and in one order
        (an invoice run holds the unbilled charges of a whole batch of accounts)."""
        ...

    async def find(
        self, kind: EntryKind, source_type: str, source_id: str
    ) -> JournalEntry | None: ...

    async def entries(
        self,
        start: date | None = None,
        end: date | None = None,
        ids: Sequence[uuid.UUID] | None = None,
    ) -> list[JournalEntry]: ...

    async def balances(
        self, prefix: str | None = None, until: date | None = None
    ) -> list[Balance]: ...

    async def statement(
        self, account: str, start: date | None, end: date | None
    ) -> list[tuple[JournalEntry, Posting]]: ...

    async def unbalanced(self) -> list[tuple[uuid.UUID, str, Decimal]]: ...

    async def count(self) -> tuple[int, int]: ...

    async def sources(self, kind: EntryKind, source_type: str) -> set[str]: ...
