"""What ``audit verify`` reads (``services.audit.ports.AuditSnapshot``): one consistent,
read-only snapshot of the database that blocks no writer, streamed in large batches.

Consistency matters: a record committed between reading the chain and reading its table would
look inserted, and one sealed between reading the queue and the chain would look lost. So the
snapshot is one transaction that sees one moment: on PostgreSQL ``REPEATABLE READ READ ONLY``;
on SQLite a deferred ``BEGIN`` (in WAL mode a read transaction keeps the snapshot of its first
read and writers go on), instead of the ``BEGIN IMMEDIATE`` every unit of work takes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chargeledger.adapters.db.audit_records import SOURCES, Digest
from chargeledger.adapters.db.audit_tables import audit_chain, audit_checkpoints, audit_pending
from chargeledger.adapters.db.engine import READ_SNAPSHOT
from chargeledger.adapters.db.repositories.audit import checkpoint_of
from chargeledger.domain.audit import Checkpoint

BATCH = 20_000  # rows per fetch: few round trips, bounded memory
_CHAIN = text(
    "SELECT seq, record_type, record_id, content_hash, prev_hash, chain_hash, "
    "CAST(day AS VARCHAR(10)) FROM audit_chain ORDER BY seq"
)


class SqlAuditSnapshot:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def _stream(self, statement: Any) -> AsyncIterator[Sequence[Any]]:
        result = await self._connection.stream(statement.execution_options(yield_per=BATCH))
        async for batch in result.partitions(BATCH):
            yield batch

    async def counts(self) -> dict[str, int]:
        tables = {"chain": audit_chain, "pending": audit_pending}
        tables |= {record_type: source.head for record_type, source in SOURCES.items()}
        found = {}
        for name, table in tables.items():
            result = await self._connection.execute(select(func.count()).select_from(table))
            found[name] = int(result.scalar_one())
        return found

    async def chain(self) -> AsyncIterator[Sequence[tuple[int, str, str, str, str, str, str]]]:
        async for batch in self._stream(_CHAIN):
            yield batch

    async def queued(self) -> list[tuple[str, str, str | None]]:
        query = select(
            audit_pending.c.record_type, audit_pending.c.record_id, audit_pending.c.content_hash
        ).order_by(audit_pending.c.id)
        return [(row[0], row[1], row[2]) for row in await self._connection.execute(query)]

    async def digests(self, record_type: str) -> AsyncIterator[Sequence[Digest]]:
        source = SOURCES[record_type]
        digests = source.digests()
        async for batch in self._stream(source.select(by_ids=False)):
            yield digests.feed(batch)
        yield digests.flush()

    async def checkpoints(self) -> list[Checkpoint]:
        query = select(audit_checkpoints).order_by(audit_checkpoints.c.day)
        return [checkpoint_of(row) for row in (await self._connection.execute(query)).mappings()]

    async def locate(self, chain_hashes: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        wanted = sorted(set(chain_hashes))
        for start in range(0, len(wanted), 500):
            query = select(audit_chain.c.chain_hash, audit_chain.c.seq).where(
                audit_chain.c.chain_hash.in_(wanted[start : start + 500])
            )
            found |= {row[0]: row[1] for row in await self._connection.execute(query)}
        return found


class SqlAuditSnapshots:
    """Opens snapshots on the runtime's engine (a connection of their own, not a unit of
    work: verification writes nothing and must not queue behind writers)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[SqlAuditSnapshot]:
        async with self._engine.connect() as connection:
            await connection.execution_options(**{READ_SNAPSHOT: True})
            async with connection.begin():
                if connection.dialect.name == "postgresql":
                    await connection.execute(
                        text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    )
                yield SqlAuditSnapshot(connection)
