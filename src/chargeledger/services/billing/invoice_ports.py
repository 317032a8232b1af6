"""The storage port of charges, invoices, receipts, credit notes and their settlements
(issue 5; issue 13: the open-item sub-ledger), and the criteria of the invoice list.
Implemented by ``adapters/db/repositories/billing.py``."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from chargeledger.domain.bank_matching import OpenInvoice
from chargeledger.domain.billing import Charge
from chargeledger.domain.invoicing import DocumentKind, DocumentStatus, Invoice, InvoiceAddressee
from chargeledger.domain.ocpi_cdrs import CdrEntry
from chargeledger.domain.receivables import PaymentStatus, Settlement
from chargeledger.domain.tariffs.assignment import StoredTariff
from chargeledger.services.billing.charging_ports import CapturedBatch
from chargeledger.services.paging import Page


@dataclass(frozen=True, slots=True)
class InvoiceFilter:
    account_id: uuid.UUID | None = None
    kind: DocumentKind | None = None
    status: DocumentStatus | None = None
    issued_from: date | None = None
    issued_before: date | None = None
    # The derived status (``domain.receivables.payment_status``) on the day ``on``.
    payment_status: PaymentStatus | None = None
    on: date | None = None


class BillingRepository(Protocol):
    """Charges, invoices, receipts, credit notes and their gap-free numbers (issue 5)."""

    async def add_charges(self, new: Sequence[Charge], created_at: datetime) -> None: ...

    async def charge_for_session(self, session_id: uuid.UUID) -> Charge | None: ...

    async def captured_batch(
        self, session_ids: Sequence[uuid.UUID], known_tariffs: Mapping[uuid.UUID, StoredTariff]
    ) -> CapturedBatch:
        """The sessions of ``session_ids`` and what pricing them reads, in set queries
        (issue 17); ``known_tariffs`` are not read again."""
        ...

    async def accounts_under_contract(self, account_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        """Those of ``account_ids`` a contract names (holder or member), in set queries."""
        ...

    async def unbilled_counts(self) -> dict[uuid.UUID, int]:
        """Per account, how many of its charges no document bills yet."""
        ...

    async def sessions_to_charge(
        self, limit: int, after: uuid.UUID | None = None
    ) -> list[uuid.UUID]: ...

    async def unbilled_charges(
        self,
        started_from: datetime,
        started_before: datetime,
        account_ids: Sequence[uuid.UUID] | None = None,
        ad_hoc: bool = False,
    ) -> list[Charge]: ...

    async def charges_between(
        self, started_from: datetime, started_before: datetime
    ) -> list[Charge]: ...

    async def charge_ids(self) -> set[str]: ...

    async def charges_of_account(
        self,
        account_id: uuid.UUID,
        booked_from: datetime | None,
        booked_before: datetime | None,
        *,
        limit: int,
        offset: int,
    ) -> tuple[list[Charge], int]:
        """A page of the account's charges booked (``created_at``) in [``booked_from``,
        ``booked_before``), in the order they were booked then by id, and how many there are
        in all: a roaming partner's CDRs (OCPI 2.2.1 §10.2.1, paged as §4.1.5 says)."""
        ...

    async def cdrs_of_account(
        self,
        account_id: uuid.UUID,
        issued_from: datetime | None,
        issued_before: datetime | None,
        *,
        limit: int,
        offset: int,
    ) -> tuple[list[CdrEntry], int]:
        """A page of the account's CDRs issued in [``issued_from``, ``issued_before``): its
        charges' and its re-pricings' credit and new CDRs (OCPI 2.2.1 §10.1.1), in the order
        they were issued, and how many there are in all."""
        ...

    async def charges_with_ids(self, ids: Collection[uuid.UUID]) -> list[Charge]:
        """The charges of ``ids`` that exist, in no particular order."""
        ...

    async def add_invoices(self, documents: Sequence[Invoice], created_at: datetime) -> None: ...

    async def mark_issued(self, invoice: Invoice) -> None: ...

    async def get_invoice(self, invoice_id: uuid.UUID) -> Invoice | None: ...

    async def addressees(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, InvoiceAddressee]:
        """Number, seller and buyer's e-mail of the documents of ``ids`` that exist, by id,
        read in batches without their lines."""
        ...

    async def invoice_by_number(self, number: str) -> Invoice | None: ...

    async def invoice_by_run_key(self, run_key: str) -> Invoice | None: ...

    async def run_keys(self, keys: Sequence[str]) -> set[str]: ...

    async def list_invoices(
        self, criteria: InvoiceFilter, *, limit: int, offset: int
    ) -> Page[Invoice]: ...

    async def credit_notes_of(self, original_id: uuid.UUID) -> list[Invoice]: ...

    async def credited_total(self, original_id: uuid.UUID) -> Decimal: ...

    async def credited_totals(
        self, original_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Decimal]: ...

    async def numbers(self, series: str) -> list[str]: ...

    async def series(self) -> dict[str, int]: ...

    async def document_of_charge(self, charge_id: uuid.UUID) -> uuid.UUID | None:
        """The invoice or receipt that billed the charge (credit notes do not count)."""
        ...

    async def next_numbers(self, series: str, count: int = 1) -> range: ...

    async def add_settlement(self, settlement: Settlement) -> bool:
        """Keep a settlement; False when its source was settled already (exactly once)."""
        ...

    async def add_settlements(self, settlements: Sequence[Settlement]) -> None:
        """Keep many at once (a statement's); those whose source was settled are skipped."""
        ...

    async def settlements_of(
        self, invoice_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[Settlement]]: ...

    async def open_invoices(self, account_id: uuid.UUID | None = None) -> list[OpenInvoice]:
        """Every issued invoice (of ``account_id``) with something still to pay, oldest
        first, with that amount."""
        ...
