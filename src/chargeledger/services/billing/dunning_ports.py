"""What dunning needs from storage and from the document renderer (issue 13). Apart from
``services/ports.py`` so that module only gains the one property that names it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from chargeledger.domain.dunning import DunningEvent
from chargeledger.domain.invoicing import Invoice


class DunningRepository(Protocol):
    async def add(self, event: DunningEvent) -> bool:
        """Keep an event; False when its key exists (a level already sent)."""
        ...

    async def get(self, event_id: uuid.UUID) -> DunningEvent | None: ...

    async def history(
        self, invoice_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[DunningEvent]]:
        """Every event of each invoice, oldest first."""
        ...

    async def blocking(self, account_id: uuid.UUID) -> dict[uuid.UUID, list[DunningEvent]]:
        """The history of each invoice of the account that had a notice blocking tokens."""
        ...


class ReminderDocuments(Protocol):
    """A dunning notice as a PDF (``adapters/documents``); reproducible like the invoices."""

    def pdf(self, notice: DunningEvent, invoice: Invoice) -> bytes: ...
