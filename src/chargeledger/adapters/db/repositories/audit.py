"""The chain in the unit of work (``services.audit.ports.AuditRepository``), and the one way
the repositories that write chained records queue them: :func:`queue_for_chain`, called in the
writing transaction, so a record and its content hash are kept together or not at all."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.audit_records import Digest, hash_stored, hash_written
from chargeledger.adapters.db.audit_tables import audit_chain, audit_checkpoints, audit_pending
from chargeledger.adapters.db.repositories.bulk import BulkInsert
from chargeledger.domain.audit import ChainEntry, ChainHead, Checkpoint, QueuedRecord, RecordType
from chargeledger.services.paging import Page

_PENDING = BulkInsert(audit_pending, ("record_type", "record_id", "content_hash", "created_at"))
_CHAIN_LOCK = int.from_bytes(hashlib.sha256(b"audit/chain").digest()[:8], "big", signed=True)


async def queue_for_chain(connection: Any, record_type: RecordType, ids: Sequence[Any]) -> None:
    """Hash the records ``ids`` as the caller's transaction has just written them and queue
    them for the chain. Drafts (not yet subject to the chain) are left out."""
    if not ids:
        return
    await _queue(connection, record_type, await hash_stored(connection, record_type, ids))


async def queue_written(
    connection: Any,
    record_type: RecordType,
    heads: tuple[BulkInsert, Sequence[Sequence[Any]]],
    items: tuple[BulkInsert, Sequence[Sequence[Any]]] | None = None,
) -> None:
    """Queue for the chain the records the caller's transaction has just written in bulk
    (``heads`` and ``items``: each bulk insert with the rows it was handed, in the driver's
    form), hashed from those rows instead of read back (``hash_written``)."""
    head, head_rows = heads
    item, item_rows = items if items is not None else (None, ())
    digests = hash_written(
        record_type,
        head_rows,
        head.columns,
        item_rows,
        () if item is None else item.columns,
    )
    await _queue(connection, record_type, digests)


async def _queue(connection: Any, record_type: RecordType, digests: list[Digest]) -> None:
    now = datetime.now(UTC)
    rows = [(record_type.value, record_id, digest, now) for record_id, digest in digests if digest]
    await _PENDING.run(connection, rows)


def record_key(record_type: str, record_id: str) -> Any:
    """The stored id a record id names (a UUID, or a signed meter value's number)."""
    if record_type == RecordType.SIGNED_METER_VALUE:
        return int(record_id)
    return uuid.UUID(record_id)


def entry_of(row: RowMapping) -> ChainEntry:
    return ChainEntry(
        seq=row["seq"],
        record_type=row["record_type"],
        record_id=row["record_id"],
        content_hash=row["content_hash"],
        prev_hash=row["prev_hash"],
        chain_hash=row["chain_hash"],
        recorded_at=row["recorded_at"],
        day=row["day"],
    )


def checkpoint_of(row: RowMapping) -> Checkpoint:
    return Checkpoint(
        day=row["day"],
        first_seq=row["first_seq"],
        last_seq=row["last_seq"],
        count=row["count"],
        merkle_root=row["merkle_root"],
        key_id=row["key_id"],
        signature=row["signature"],
        created_at=row["created_at"],
    )


def _queued_of(row: RowMapping) -> QueuedRecord:
    return QueuedRecord(row["id"], row["record_type"], row["record_id"], row["content_hash"])


class SqlAuditRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def hold_chain(self) -> None:
        if self._connection.dialect.name == "postgresql":
            await self._connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK}
            )

    async def head(self) -> ChainHead | None:
        query = select(audit_chain.c.seq, audit_chain.c.chain_hash, audit_chain.c.day)
        last = query.order_by(audit_chain.c.seq.desc()).limit(1)
        row = (await self._connection.execute(last)).first()
        return None if row is None else ChainHead(row.seq, row.chain_hash, row.day)

    async def last_closed_day(self) -> date | None:
        result = await self._connection.execute(select(func.max(audit_checkpoints.c.day)))
        day: date | None = result.scalar_one()
        return day

    async def queued(self, limit: int) -> list[QueuedRecord]:
        query = select(audit_pending).order_by(audit_pending.c.id).limit(limit)
        return [_queued_of(row) for row in (await self._connection.execute(query)).mappings()]

    async def content_hashes(self, record_type: str, record_ids: Sequence[str]) -> dict[str, str]:
        keys = [record_key(record_type, record_id) for record_id in record_ids]
        found = await hash_stored(self._connection, RecordType(record_type), keys)
        return {record_id: digest for record_id, digest in found if digest is not None}

    async def append(self, entries: Sequence[ChainEntry], sealed: Sequence[int]) -> None:
        if entries:
            rows = [
                {
                    "seq": e.seq,
                    "record_type": e.record_type,
                    "record_id": e.record_id,
                    "content_hash": e.content_hash,
                    "prev_hash": e.prev_hash,
                    "chain_hash": e.chain_hash,
                    "recorded_at": e.recorded_at,
                    "day": e.day,
                }
                for e in entries
            ]
            for start in range(0, len(rows), 5000):
                await self._connection.execute(insert(audit_chain), rows[start : start + 5000])
        for start in range(0, len(sealed), 500):
            chunk = list(sealed[start : start + 500])
            done = delete(audit_pending).where(audit_pending.c.id.in_(chunk))
            await self._connection.execute(done)

    async def entries_of(self, day: date) -> list[ChainEntry]:
        query = select(audit_chain).where(audit_chain.c.day == day).order_by(audit_chain.c.seq)
        return [entry_of(row) for row in (await self._connection.execute(query)).mappings()]

    async def unclosed_days(self, before: date) -> list[date]:
        closed = select(audit_checkpoints.c.day)
        query = (
            select(audit_chain.c.day)
            .distinct()
            .where(audit_chain.c.day < before, audit_chain.c.day.not_in(closed))
            .order_by(audit_chain.c.day)
        )
        return list((await self._connection.execute(query)).scalars())

    async def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        await self._connection.execute(
            insert(audit_checkpoints).values(
                day=checkpoint.day,
                first_seq=checkpoint.first_seq,
                last_seq=checkpoint.last_seq,
                count=checkpoint.count,
                merkle_root=checkpoint.merkle_root,
                signature=checkpoint.signature,
                key_id=checkpoint.key_id,
                created_at=checkpoint.created_at,
            )
        )

    async def checkpoint(self, day: date) -> Checkpoint | None:
        query = select(audit_checkpoints).where(audit_checkpoints.c.day == day)
        row = (await self._connection.execute(query)).mappings().first()
        return None if row is None else checkpoint_of(row)

    async def checkpoints(self, *, limit: int, offset: int) -> Page[Checkpoint]:
        query = select(audit_checkpoints).order_by(audit_checkpoints.c.day.desc())
        rows = (await self._connection.execute(query.limit(limit + 1).offset(offset))).mappings()
        items = [checkpoint_of(row) for row in rows]
        more = len(items) > limit
        return Page(items=items[:limit], next_offset=offset + limit if more else None)

    async def entry(self, record_type: str, record_id: str) -> ChainEntry | None:
        query = select(audit_chain).where(
            audit_chain.c.record_type == record_type, audit_chain.c.record_id == record_id
        )
        row = (await self._connection.execute(query)).mappings().first()
        return None if row is None else entry_of(row)

    async def queued_record(self, record_type: str, record_id: str) -> QueuedRecord | None:
        query = select(audit_pending).where(
            audit_pending.c.record_type == record_type, audit_pending.c.record_id == record_id
        )
        row = (await self._connection.execute(query)).mappings().first()
        return None if row is None else _queued_of(row)
