"""The storage contracts need (issue 14): partners, contracts, versions, coverage, documents
and per-period billings, on the one unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from chargeledger.domain.contract_milestones import CustomMilestone
from chargeledger.domain.contract_records import (
    ContractDocument,
    ContractRecord,
    Partner,
    StoredVersion,
)
from chargeledger.domain.contracts import ContractType
from chargeledger.money import Currency
from chargeledger.services.paging import Page


@dataclass(frozen=True, slots=True)
class ContractBilling:
    """What a contract billed once for a period (``kind``: ``revenue_share`` for a site
    host's self-billed share, say): the document it made and its net amount. The key
    (contract, kind, period start) is unique, so a rerun of the period bills nothing twice
    (DESIGN §2 exactly-once)."""

    contract_id: uuid.UUID
    kind: str
    period_start: date
    period_end: date
    invoice_id: uuid.UUID | None
    amount: Decimal
    currency: Currency
    created_at: datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)


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

    async def signed_between(self, first: date, last: date) -> list[ContractRecord]:
        """Signed contracts whose life touches ``first``..``last`` (their start on or before
        ``last``; not terminated before ``first``)."""
        ...

    async def add_billing(self, billing: ContractBilling) -> None:
        """Refuses a second billing of the same contract, kind and period start
        (``DuplicateError``)."""
        ...

    async def billings(
        self, contract_id: uuid.UUID, kind: str | None = None
    ) -> list[ContractBilling]:
        """The contract's billings (of ``kind``), oldest period first."""
        ...
