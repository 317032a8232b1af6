"""The storage port of payments (issue 6), beside ``ports.py`` to keep both small."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from chargeledger.domain.payments import (
    EventKind,
    Payment,
    PaymentEvent,
    PaymentMethodKind,
    PaymentPurpose,
    PaymentStatus,
    StoredCard,
)
from chargeledger.domain.wallets import StopReason, StopRequest, WalletSettings
from chargeledger.services.paging import Page


@dataclass(frozen=True, slots=True)
class PaymentFilter:
    """Which payments a list shows. ``reference``: the payment's id, its idTag or the PSP's
    id of it (as a support call names it); ``created_from`` inclusive, ``created_before``
    exclusive. ``status`` and ``refunded`` (only those with a refund) are states folded from
    the events, so the service applies them (``views.list_payments``), not the storage."""

    account_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    purpose: PaymentPurpose | None = None
    method: PaymentMethodKind | None = None
    gateway: str | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None
    reference: str | None = None
    status: PaymentStatus | None = None
    refunded: bool = False

    @property
    def by_state(self) -> bool:
        return self.status is not None or self.refunded


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """A REST ``Idempotency-Key`` of one caller (``scope``): the hash of the request that
    first used it and, once answered, the answer (DESIGN §2: kept at least 7 days)."""

    scope: str
    key: str
    request_hash: str
    created_at: datetime
    status_code: int | None = None
    body: bytes | None = None
    content_type: str | None = None


class PaymentRepository(Protocol):
    async def add(self, payment: Payment, created_at: datetime) -> None: ...

    async def get(self, payment_id: uuid.UUID) -> Payment | None: ...

    async def by_id_tag(self, id_tag: str) -> Payment | None: ...

    async def by_provider_ref(self, gateway: str, provider_ref: str) -> Payment | None:
        """The payment the PSP knows as ``provider_ref`` (a chargeback names only that)."""
        ...

    async def for_session(self, session_id: uuid.UUID) -> list[Payment]: ...

    async def for_invoice(self, invoice_id: uuid.UUID) -> list[Payment]: ...

    async def for_invoices(
        self, invoice_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[Payment]]: ...

    async def record(self, event: PaymentEvent) -> bool: ...

    async def events(self, payment_id: uuid.UUID) -> list[PaymentEvent]: ...

    async def events_of(
        self, payment_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[PaymentEvent]]: ...

    async def search(
        self, criteria: PaymentFilter, *, limit: int, offset: int
    ) -> Page[Payment]: ...

    async def with_event_since(
        self, kinds: Sequence[EventKind], since: datetime | None = None
    ) -> list[uuid.UUID]: ...

    async def of_purpose(self, purpose: PaymentPurpose) -> list[Payment]: ...

    async def all(self) -> list[Payment]: ...

    async def add_card(self, card: StoredCard, created_at: datetime) -> None: ...

    async def cards(self, account_id: uuid.UUID) -> list[StoredCard]: ...

    async def get_card(self, card_id: uuid.UUID) -> StoredCard | None: ...

    async def remove_card(self, card_id: uuid.UUID) -> None: ...

    async def save_wallet(self, wallet: WalletSettings, at: datetime) -> None: ...

    async def wallet(self, account_id: uuid.UUID) -> WalletSettings | None: ...

    async def claim_stop(
        self,
        session_id: uuid.UUID,
        reason: StopReason,
        detail: str,
        cost: Decimal,
        at: datetime,
        retry_before: datetime,
    ) -> int | None: ...

    async def answer_stop(
        self, session_id: uuid.UUID, attempt: int, answer: str, at: datetime
    ) -> None: ...

    async def stop_request(self, session_id: uuid.UUID) -> StopRequest | None: ...

    async def first_webhook(
        self, gateway: str, event_id: str, kind: str, provider_ref: str | None, at: datetime
    ) -> bool: ...

    async def reject_webhook(self, gateway: str, code: str, body: str, at: datetime) -> None: ...

    async def claim_key(self, record: IdempotencyRecord) -> IdempotencyRecord | None: ...

    async def idempotency_record(self, scope: str, key: str) -> IdempotencyRecord | None: ...

    async def store_answer(
        self, scope: str, key: str, status_code: int, body: bytes, content_type: str
    ) -> None: ...

    async def forget_key(self, scope: str, key: str) -> None: ...

    async def expire_keys(self, before: datetime) -> int: ...
