"""Payments and their event logs, stored cards, wallet rules, webhook receipts and REST
idempotency records (issue 6). Payments and events are only ever inserted."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.integrity import translate_integrity_error
from chargeledger.adapters.db.payment_tables import (
    idempotency_records,
    payment_events,
    payments,
    rejected_webhooks,
    stored_cards,
    webhook_receipts,
)
from chargeledger.adapters.db.repositories.audit import queue_for_chain
from chargeledger.adapters.db.repositories.upsert import insert_ignoring_duplicates
from chargeledger.adapters.db.repositories.wallet_rows import WalletRows
from chargeledger.domain.audit import RecordType
from chargeledger.domain.ids import new_id
from chargeledger.domain.payments import (
    EventKind,
    Payment,
    PaymentEvent,
    PaymentPurpose,
    StoredCard,
)
from chargeledger.money import Currency
from chargeledger.services.paging import Page
from chargeledger.services.payments.ports import IdempotencyRecord, PaymentFilter


def _payment(row: RowMapping) -> Payment:
    return Payment(
        id=row["id"],
        purpose=row["purpose"],
        method=row["method"],
        gateway=row["gateway"],
        currency=Currency.of(row["currency"]),
        account_id=row["account_id"],
        session_id=row["session_id"],
        invoice_id=row["invoice_id"],
        id_tag=row["id_tag"],
        method_token=row["method_token"],
        evse=row["evse"],
        created_at=row["created_at"],
    )


def _event(row: RowMapping) -> PaymentEvent:
    return PaymentEvent(
        id=row["id"],
        payment_id=row["payment_id"],
        kind=EventKind(row["kind"]),
        fact=row["fact"],
        amount=row["amount"],
        operation=row["operation"],
        provider_ref=row["provider_ref"],
        detail=row["detail"],
        at=row["at"],
    )


def _reference(reference: str) -> Any:
    """The payment whose id, idTag or PSP id (``provider_ref`` of any event) is ``reference``."""
    by_psp = select(payment_events.c.payment_id).where(payment_events.c.provider_ref == reference)
    found = [payments.c.id_tag == reference, payments.c.id.in_(by_psp)]
    with contextlib.suppress(ValueError):  # not an id: an idTag or a PSP id only
        found.append(payments.c.id == uuid.UUID(reference))
    return or_(*found)


def _card(row: RowMapping) -> StoredCard:
    return StoredCard(**{name: row[name] for name in row.keys()})  # noqa: SIM118


class SqlPaymentRepository(WalletRows):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def _write(self, statement: Any) -> Any:
        try:
            async with self._connection.begin_nested():
                return await self._connection.execute(statement)
        except IntegrityError as exc:
            raise translate_integrity_error(exc) from exc

    # --- payments and events ------------------------------------------------------------

    async def add(self, payment: Payment, created_at: datetime) -> None:
        row = {
            "id": payment.id,
            "purpose": payment.purpose.value,
            "method": payment.method.value,
            "gateway": payment.gateway,
            "currency": payment.currency.code,
            "account_id": payment.account_id,
            "session_id": payment.session_id,
            "invoice_id": payment.invoice_id,
            "id_tag": payment.id_tag,
            "method_token": payment.method_token,
            "evse": payment.evse,
            "created_at": payment.created_at or created_at,
        }
        await self._write(insert(payments).values(row))

    async def get(self, payment_id: uuid.UUID) -> Payment | None:
        row = (
            (await self._connection.execute(select(payments).where(payments.c.id == payment_id)))
            .mappings()
            .first()
        )
        return None if row is None else _payment(row)

    async def by_provider_ref(self, gateway: str, provider_ref: str) -> Payment | None:
        known = select(payment_events.c.payment_id).where(
            payment_events.c.provider_ref == provider_ref
        )
        query = select(payments).where(payments.c.gateway == gateway, payments.c.id.in_(known))
        row = (await self._connection.execute(query.limit(1))).mappings().first()
        return None if row is None else _payment(row)

    async def by_id_tag(self, id_tag: str) -> Payment | None:
        query = select(payments).where(payments.c.id_tag == id_tag)
        row = (await self._connection.execute(query)).mappings().first()
        return None if row is None else _payment(row)

    async def for_session(self, session_id: uuid.UUID) -> list[Payment]:
        query = (
            select(payments)
            .where(payments.c.session_id == session_id)
            .order_by(payments.c.created_at)
        )
        return [_payment(r) for r in (await self._connection.execute(query)).mappings()]

    async def for_invoice(self, invoice_id: uuid.UUID) -> list[Payment]:
        query = select(payments).where(payments.c.invoice_id == invoice_id)
        return [_payment(r) for r in (await self._connection.execute(query)).mappings()]

    async def for_invoices(
        self, invoice_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[Payment]]:
        """``for_invoice`` of many invoices (a page of the invoice list) in one query."""
        found: dict[uuid.UUID, list[Payment]] = {invoice_id: [] for invoice_id in invoice_ids}
        if invoice_ids:
            query = select(payments).where(payments.c.invoice_id.in_(list(invoice_ids)))
            for row in (await self._connection.execute(query)).mappings():
                found[row["invoice_id"]].append(_payment(row))
        return found

    async def record(self, event: PaymentEvent) -> bool:
        """Keep a fact (queued for the audit chain in the same transaction); False when this
        fact of the payment is already known."""
        row = {
            "id": event.id,
            "payment_id": event.payment_id,
            "kind": event.kind.value,
            "fact": event.fact,
            "amount": event.amount,
            "operation": event.operation,
            "provider_ref": event.provider_ref,
            "detail": event.detail,
            "at": event.at,
        }
        if await insert_ignoring_duplicates(self._connection, payment_events, [row]) != 1:
            return False
        await queue_for_chain(self._connection, RecordType.PAYMENT_EVENT, [event.id])
        return True

    async def events(self, payment_id: uuid.UUID) -> list[PaymentEvent]:
        query = (
            select(payment_events)
            .where(payment_events.c.payment_id == payment_id)
            .order_by(payment_events.c.at, payment_events.c.kind)
        )
        return [_event(r) for r in (await self._connection.execute(query)).mappings()]

    async def events_of(
        self, payment_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[PaymentEvent]]:
        found: dict[uuid.UUID, list[PaymentEvent]] = {pid: [] for pid in payment_ids}
        for start in range(0, len(payment_ids), 500):
            chunk = list(payment_ids[start : start + 500])
            query = select(payment_events).where(payment_events.c.payment_id.in_(chunk))
            for row in (await self._connection.execute(query)).mappings():
                found[row["payment_id"]].append(_event(row))
        return found

    async def search(self, criteria: PaymentFilter, *, limit: int, offset: int) -> Page[Payment]:
        query = select(payments).order_by(payments.c.created_at.desc(), payments.c.id)
        if criteria.account_id is not None:
            query = query.where(payments.c.account_id == criteria.account_id)
        if criteria.session_id is not None:
            query = query.where(payments.c.session_id == criteria.session_id)
        if criteria.purpose is not None:
            query = query.where(payments.c.purpose == criteria.purpose.value)
        if criteria.method is not None:
            query = query.where(payments.c.method == criteria.method.value)
        if criteria.gateway is not None:
            query = query.where(payments.c.gateway == criteria.gateway)
        if criteria.created_from is not None:
            query = query.where(payments.c.created_at >= criteria.created_from)
        if criteria.created_before is not None:
            query = query.where(payments.c.created_at < criteria.created_before)
        if criteria.reference is not None:
            query = query.where(_reference(criteria.reference))
        rows = (await self._connection.execute(query.limit(limit + 1).offset(offset))).mappings()
        items = [_payment(r) for r in rows]
        more = len(items) > limit
        return Page(items=items[:limit], next_offset=offset + limit if more else None)

    async def with_event_since(
        self, kinds: Sequence[EventKind], since: datetime | None = None
    ) -> list[uuid.UUID]:
        """Payments that have an event of one of ``kinds`` (the janitor's work list)."""
        query = select(payment_events.c.payment_id).distinct()
        query = query.where(payment_events.c.kind.in_([k.value for k in kinds]))
        if since is not None:
            query = query.where(payment_events.c.at >= since)
        return [r[0] for r in await self._connection.execute(query)]

    async def of_purpose(self, purpose: PaymentPurpose) -> list[Payment]:
        query = select(payments).where(payments.c.purpose == purpose.value)
        return [_payment(r) for r in (await self._connection.execute(query)).mappings()]

    async def all(self) -> list[Payment]:
        query = select(payments).order_by(payments.c.created_at)
        return [_payment(r) for r in (await self._connection.execute(query)).mappings()]

    # --- stored cards ---------------------------------------------------------------------

    async def add_card(self, card: StoredCard, created_at: datetime) -> None:
        if card.is_default:
            await self._write(
                update(stored_cards)
                .where(stored_cards.c.account_id == card.account_id)
                .values(is_default=False)
            )
        row = {
            "id": card.id,
            "account_id": card.account_id,
            "gateway": card.gateway,
            "token": card.token,
            "brand": card.brand,
            "last4": card.last4,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "is_default": card.is_default,
            "active": card.active,
            "created_at": card.created_at or created_at,
        }
        await self._write(insert(stored_cards).values(row))

    async def cards(self, account_id: uuid.UUID) -> list[StoredCard]:
        query = (
            select(stored_cards)
            .where(and_(stored_cards.c.account_id == account_id, stored_cards.c.active))
            .order_by(stored_cards.c.created_at)
        )
        return [_card(r) for r in (await self._connection.execute(query)).mappings()]

    async def get_card(self, card_id: uuid.UUID) -> StoredCard | None:
        query = select(stored_cards).where(stored_cards.c.id == card_id)
        row = (await self._connection.execute(query)).mappings().first()
        return None if row is None else _card(row)

    async def remove_card(self, card_id: uuid.UUID) -> None:
        """Cards are deactivated, not deleted: past payments still name them."""
        await self._write(
            update(stored_cards)
            .where(stored_cards.c.id == card_id)
            .values(active=False, is_default=False)
        )

    # --- webhooks -----------------------------------------------------------------------

    async def first_webhook(
        self, gateway: str, event_id: str, kind: str, provider_ref: str | None, at: datetime
    ) -> bool:
        """True the first time this provider event id is seen."""
        row = {
            "gateway": gateway,
            "event_id": event_id,
            "kind": kind,
            "provider_ref": provider_ref,
            "received_at": at,
        }
        return await insert_ignoring_duplicates(self._connection, webhook_receipts, [row]) == 1

    async def reject_webhook(self, gateway: str, code: str, body: str, at: datetime) -> None:
        row = {
            "id": new_id(),
            "gateway": gateway,
            "code": code,
            "body": body,
            "received_at": at,
        }
        await self._write(insert(rejected_webhooks).values(row))

    # --- REST idempotency ---------------------------------------------------------------

    async def claim_key(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Store a new key (without answer yet); the existing record when it is taken."""
        row = {
            "scope": record.scope,
            "key": record.key,
            "request_hash": record.request_hash,
            "status_code": None,
            "body": None,
            "content_type": None,
            "created_at": record.created_at,
        }
        if await insert_ignoring_duplicates(self._connection, idempotency_records, [row]) == 1:
            return None
        return await self.idempotency_record(record.scope, record.key)

    async def idempotency_record(self, scope: str, key: str) -> IdempotencyRecord | None:
        query = select(idempotency_records).where(
            and_(idempotency_records.c.scope == scope, idempotency_records.c.key == key)
        )
        row = (await self._connection.execute(query)).mappings().first()
        if row is None:
            return None
        return IdempotencyRecord(
            scope=row["scope"],
            key=row["key"],
            request_hash=row["request_hash"],
            created_at=row["created_at"],
            status_code=row["status_code"],
            body=row["body"],
            content_type=row["content_type"],
        )

    async def store_answer(
        self, scope: str, key: str, status_code: int, body: bytes, content_type: str
    ) -> None:
        await self._write(
            update(idempotency_records)
            .where(and_(idempotency_records.c.scope == scope, idempotency_records.c.key == key))
            .values(status_code=status_code, body=body, content_type=content_type)
        )

    async def forget_key(self, scope: str, key: str) -> None:
        await self._write(
            delete(idempotency_records).where(
                and_(idempotency_records.c.scope == scope, idempotency_records.c.key == key)
            )
        )

    async def expire_keys(self, before: datetime) -> int:
        result = await self._write(
            delete(idempotency_records).where(idempotency_records.c.created_at < before)
        )
        return int(result.rowcount or 0)
