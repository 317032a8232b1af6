"""The storage port of re-pricings (issue 15, ``domain.repricing``): the records, which of their
corrections wait for an invoice, and which document billed a charge. Implemented by
``adapters/db/repositories/repricings.py``."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Protocol

from chargeledger.domain.repricing import Repricing


class RepricingRepository(Protocol):
    async def add(self, repricing: Repricing) -> None:
        """Keep a re-pricing. Another one of the same session and sequence, or of the same
        request key, kept meanwhile: ``ConflictError`` ``repricing_in_progress``, nothing kept."""
        ...

    async def of_session(self, session_id: uuid.UUID) -> list[Repricing]:
        """The session's re-pricings, first to last."""
        ...

    async def by_request_key(self, key: str) -> Repricing | None: ...

    async def with_ids(self, ids: Collection[uuid.UUID]) -> list[Repricing]:
        """The re-pricings of ``ids`` that exist, in no particular order."""
        ...

    async def unbilled(self, account_ids: Sequence[uuid.UUID] | None) -> list[Repricing]:
        """The corrections (``next_invoice``) of these accounts (None: of all) on no invoice
        yet, oldest first."""
        ...

    async def billed_on(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        """For the corrections of ``ids`` that are billed: the document billing each."""
        ...

    async def billing_document(self, charge_id: uuid.UUID) -> uuid.UUID | None:
        """The invoice or receipt that billed the charge (credit notes aside), if any."""
        ...
