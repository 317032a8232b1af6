"""The outbox table: announcements, deliveries and their conditional state changes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.outbox_tables import outbox_messages as table
from chargeledger.adapters.db.repositories.upsert import insert_ignoring_duplicates
from chargeledger.domain.outbox import (
    Attachment,
    Channel,
    MessageState,
    Notice,
    OutboxMessage,
)
from chargeledger.services.paging import Page


def _notice_json(notice: Notice) -> dict[str, Any]:
    return {
        "key": notice.key,
        "subject": notice.subject,
        "text": notice.text,
        "data": dict(notice.data),
        "recipient": notice.recipient,
        "attachments": [{"kind": a.kind.value, "ref": str(a.ref)} for a in notice.attachments],
    }


def _notice_of(topic: str, stored: dict[str, Any]) -> Notice:
    return Notice(
        topic=topic,
        key=stored["key"],
        subject=stored["subject"],
        text=stored["text"],
        data=stored["data"],
        recipient=stored.get("recipient"),
        attachments=tuple(
            Attachment(item["kind"], uuid.UUID(item["ref"])) for item in stored["attachments"]
        ),
    )


def message_row(message: OutboxMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "event_id": message.event_id,
        "dedupe_key": message.dedupe_key,
        "topic": message.notice.topic,
        "channel": message.channel.value,
        "destination": message.destination,
        "notice": _notice_json(message.notice),
        "state": message.state.value,
        "attempts": message.attempts,
        "next_attempt_at": message.next_attempt_at,
        "claimed_until": message.claimed_until,
        "last_error": message.last_error,
        "created_at": message.created_at,
        "updated_at": message.created_at,
        "delivered_at": message.delivered_at,
        "retried_by": message.retried_by,
    }


def message_of(row: Any) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        event_id=row.event_id,
        notice=_notice_of(row.topic, row.notice),
        channel=Channel(row.channel),
        destination=row.destination,
        created_at=row.created_at,
        state=MessageState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        claimed_until=row.claimed_until,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        retried_by=row.retried_by,
    )


class SqlOutboxRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, messages: Sequence[OutboxMessage]) -> int:
        added = 0
        for message in messages:  # one by one: the count of new rows is exact
            added += await insert_ignoring_duplicates(
                self._connection, table, [message_row(message)]
            )
        return added

    async def add_many(self, messages: Sequence[OutboxMessage]) -> None:
        rows = [message_row(message) for message in messages]
        for start in range(0, len(rows), 500):
            await insert_ignoring_duplicates(self._connection, table, rows[start : start + 500])

    async def get(self, message_id: uuid.UUID) -> OutboxMessage | None:
        result = await self._connection.execute(select(table).where(table.c.id == message_id))
        row = result.first()
        return None if row is None else message_of(row)

    def _due(self, now: datetime) -> Any:
        pending = and_(table.c.state == MessageState.PENDING.value, table.c.next_attempt_at <= now)
        abandoned = and_(table.c.state == MessageState.SENDING.value, table.c.claimed_until < now)
        return or_(pending, abandoned)

    async def due(
        self, channels: Sequence[Channel], now: datetime, limit: int
    ) -> list[OutboxMessage]:
        query = (
            select(table)
            .where(table.c.channel.in_([c.value for c in channels]), self._due(now))
            .order_by(table.c.next_attempt_at, table.c.created_at, table.c.id)
            .limit(limit)
        )
        return [message_of(row) for row in await self._connection.execute(query)]

    async def _changed(self, statement: Any) -> bool:
        result = await self._connection.execute(statement)
        return int(result.rowcount or 0) == 1

    async def mark_fanned_out(self, message_id: uuid.UUID, now: datetime) -> bool:
        return await self._changed(
            update(table)
            .where(
                table.c.id == message_id,
                table.c.channel == Channel.EVENT.value,
                table.c.state == MessageState.PENDING.value,
            )
            .values(state=MessageState.DELIVERED.value, delivered_at=now, updated_at=now)
        )

    async def claim(
        self, message_id: uuid.UUID, attempts: int, now: datetime, lease_until: datetime
    ) -> bool:
        return await self._changed(
            update(table)
            .where(table.c.id == message_id, table.c.attempts == attempts, self._due(now))
            .values(
                state=MessageState.SENDING.value,
                attempts=attempts + 1,
                claimed_until=lease_until,
                updated_at=now,
            )
        )

    async def settle(
        self,
        message_id: uuid.UUID,
        attempt: int,
        state: MessageState,
        now: datetime,
        next_attempt_at: datetime | None,
        error: str | None,
    ) -> bool:
        delivered = state is MessageState.DELIVERED
        return await self._changed(
            update(table)
            .where(
                table.c.id == message_id,
                table.c.attempts == attempt,
                table.c.state == MessageState.SENDING.value,
            )
            .values(
                state=state.value,
                next_attempt_at=next_attempt_at,
                claimed_until=None,
                last_error=None if delivered else error,
                delivered_at=now if delivered else None,
                updated_at=now,
            )
        )

    async def list(
        self, state: MessageState | None, *, limit: int, offset: int
    ) -> Page[OutboxMessage]:
        query = select(table).where(table.c.channel != Channel.EVENT.value)
        if state is not None:
            query = query.where(table.c.state == state.value)
        query = query.order_by(table.c.created_at, table.c.id).limit(limit + 1).offset(offset)
        rows = list(await self._connection.execute(query))
        items = [message_of(row) for row in rows[:limit]]
        return Page(items=items, next_offset=offset + limit if len(rows) > limit else None)

    async def retry(self, message_id: uuid.UUID, now: datetime, by: str) -> bool:
        return await self._changed(
            update(table)
            .where(table.c.id == message_id, table.c.state == MessageState.DEAD.value)
            .values(
                state=MessageState.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                claimed_until=None,
                retried_by=by,
                updated_at=now,
            )
        )
