"""The storage contracts need (issue 14): partners, contracts, versions, coverage, documents
and per-period billings, on the one unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from chargeledger.domain.billing import Charge
from chargeledger.domain.contract_milestones import CustomMilestone
from chargeledger.domain.contract_records import (
    AllowanceDraw,
    ContractBilling,
    ContractDocument,
    ContractRecord,
    Partner,
    StoredVersion,
)
from chargeledger.domain.contracts import ContractType
from chargeledger.services.paging import Page


class ContractRepository(Protocol):
    async def add_partner(self, partner: Partner) -> None: ...

    async def partner(self, partner_id: uuid.UUID) -> Partner | None: ...

    async def partners(self, *, limit: int, offset: int) -> Page[Partner]: ...

    async def add(self, record: ContractRecord) -> None:
        """Refuses a number already used (``DuplicateError``)."""
        ...

    async def get(self, contract_id: uuid.UUID) -> ContractRecord | None: ...

    async def get_by_number(self, number: str) -> ContractRecord | None: ...

    async def update(self, record: ContractRecord) -> None:
        """Signature and termination: the only changes a contract row takes."""
        ...

    async def search(
        self,
        *,
        account_id: uuid.UUID | None,
        partner_id: uuid.UUID | None,
        kind: ContractType | None,
        limit: int,
        offset: int,
    ) -> Page[ContractRecord]:
        """Contracts by number; ``account_id`` finds those with the account as counterparty
        or covering it."""
        ...

    async def add_version(self, version: StoredVersion) -> None:
        """Refuses a second version of the same number or day (``DuplicateError``)."""
        ...

    async def versions(self, contract_id: uuid.UUID) -> list[StoredVersion]: ...

    async def versions_by_id(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StoredVersion]: ...

    async def cover_accounts(
        self, contract_id: uuid.UUID, account_ids: Sequence[uuid.UUID], at: datetime
    ) -> None:
        """Idempotent: an account covered already stays covered once."""
        ...

    async def covered_accounts(self, contract_id: uuid.UUID) -> list[uuid.UUID]: ...

    async def covering(self, account_id: uuid.UUID) -> list[ContractRecord]:
        """The contracts that cover an account (as counterparty or member), any status."""
        ...

    async def cover_sites(
        self, contract_id: uuid.UUID, site_ids: Sequence[uuid.UUID], at: datetime
    ) -> None: ...

    async def covered_sites(self, contract_id: uuid.UUID) -> list[uuid.UUID]: ...

    async def add_document(self, document: ContractDocument, content: bytes) -> None:
        """The record, and the bytes once per content hash."""
        ...

    async def document_content(self, sha256: str) -> bytes | None: ...

    async def documents(self, contract_id: uuid.UUID) -> list[ContractDocument]: ...

    async def document(self, document_id: uuid.UUID) -> ContractDocument | None: ...

    async def add_milestone(
        self, contract_id: uuid.UUID, milestone: CustomMilestone, at: datetime, by: str
    ) -> None: ...

    async def custom_milestones(self, contract_id: uuid.UUID) -> list[CustomMilestone]: ...

    async def add_billing(self, billing: ContractBilling) -> None:
        """Refuses a second billing of the same kind and period (``DuplicateError``)."""
        ...

    async def billings(
        self, contract_id: uuid.UUID, kind: str | None = None
    ) -> list[ContractBilling]: ...

    async def add_draw(self, draw: AllowanceDraw) -> None:
        """Refuses a second draw for the same session (``DuplicateError``)."""
        ...

    async def drawn(self, contract_id: uuid.UUID) -> Decimal:
        """The allowance drawn so far, in its unit."""
        ...

    async def signed_between(self, first: date, last: date) -> list[ContractRecord]:
        """Signed contracts whose life touches ``first``..``last`` (their start on or before
        ``last``; not terminated before ``first``)."""
        ...

    # --- performance (issue 14) ---------------------------------------------------------

    async def charges_under(
        self, contract_id: uuid.UUID, started_from: datetime, started_before: datetime
    ) -> list[Charge]:
        """The charges of the sessions priced under one of the contract's versions (frozen
        at their start) that started in ``[started_from, started_before)``."""
        ...

    async def charges_at_sites(
        self, contract_id: uuid.UUID, started_from: datetime, started_before: datetime
    ) -> list[Charge]:
        """The charges of sessions at the contract's sites (a site host's) started then."""
        ...

    async def billings_between(
        self, contract_id: uuid.UUID, kind: str, first: date, before: date
    ) -> list[ContractBilling]:
        """What the contract billed once per period (``kind``: ``revenue_share``, ...) for
        the periods starting in ``[first, before)``; none is an empty list."""
        ...
