"""The storage port of dispute cases (``adapters/db/repositories/disputes.py``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chargeledger.domain.disputes import Dispute, DisputeEvent, DisputeReason, DisputeState


@dataclass(frozen=True, slots=True)
class DisputeFilter:
    state: DisputeState | None = None
    account_ids: frozenset[uuid.UUID] | None = None  # None: every account (staff)
    session_id: uuid.UUID | None = None
    invoice_id: uuid.UUID | None = None
    open_only: bool = False
    reason: DisputeReason | None = None  # the kind of case (energy, price, chargeback, ...)
    respond_by_before: datetime | None = None  # due before (the office's "due by" filter)


@dataclass(frozen=True, slots=True)
class StoredAttachment:
    id: uuid.UUID
    dispute_id: uuid.UUID
    name: str
    media_type: str
    sha256: str
    size: int
    added_by: str
    added_at: datetime


class DisputeRepository(Protocol):
    async def add(self, dispute: Dispute) -> None: ...

    async def update(self, dispute: Dispute) -> None:
        """Store the state a case's newest event led to (its events stay as they were)."""
        ...

    async def get(self, dispute_id: uuid.UUID) -> Dispute | None: ...

    async def by_number(self, number: str) -> Dispute | None: ...

    async def by_psp_dispute(self, psp_dispute_id: str) -> Dispute | None: ...

    async def last_number(self) -> int:
        """The highest sequence of ``DSP-n`` numbers so far (0 when none)."""
        ...

    async def search(self, criteria: DisputeFilter, limit: int, offset: int) -> list[Dispute]: ...

    async def add_event(self, event: DisputeEvent) -> bool:
        """Keep an event; False when its key was kept already (the same fact twice)."""
        ...

    async def events(self, dispute_id: uuid.UUID) -> list[DisputeEvent]: ...

    async def add_attachment(self, attachment: StoredAttachment, content: bytes) -> None: ...

    async def attachments(self, dispute_id: uuid.UUID) -> list[StoredAttachment]: ...

    async def attachment_content(self, attachment_id: uuid.UUID) -> bytes | None: ...
