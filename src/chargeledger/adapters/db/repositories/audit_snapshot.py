"""What ``audit verify`` reads (``services.audit.ports.AuditSnapshot``): one consistent,
read-only snapshot of the database that blocks no writer, streamed in large batches.

Consistency matters: a record committed between reading the chain and reading its table would
look inserted, and one sealed between reading the queue and the chain would look lost. So the
snapshot is one transaction that sees one moment: on PostgreSQL ``REPEATABLE READ READ ONLY``;
on SQLite a deferred ``BEGIN`` (in WAL mode a read transaction keeps the snapshot of its first
read and writers go on), instead of the ``BEGIN IMMEDIATE`` every unit of work takes.
"""

from __future__ import annotations

import asyncio
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
# The day as text in one fixed form (on PostgreSQL not left to the session's DateStyle).
_CHAIN_COLUMNS = "seq, record_type, record_id, content_hash, prev_hash, chain_hash"
CHAIN_ROWS = {
    "postgresql": text(
        f"SELECT {_CHAIN_COLUMNS}, to_char(day, 'YYYY-MM-DD') FROM audit_chain ORDER BY seq"
    ),
    "sqlite": text(f"SELECT {_CHAIN_COLUMNS}, day FROM audit_chain ORDER BY seq"),
}


class SqlAuditSnapshot:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def rows(self, statement: Any) -> AsyncIterator[Any]:
        """The rows of ``statement`` (no parameters) in batches of plain driver rows, read
        with the driver's own cursor in the snapshot's transaction: no SQLAlchemy row per
        row, one round trip per batch (aiosqlite's ``fetchmany`` in its thread, an asyncpg
        cursor). The next batch is asked for before this one is handed out, so the database
        (SQLite's thread, PostgreSQL's server) reads it while this one is hashed."""
        sql = str(statement)
        raw = await self._connection.get_raw_connection()
        driver: Any = raw.driver_connection
        postgres = self._connection.dialect.name == "postgresql"
        cursor = await (driver.cursor(sql) if postgres else driver.execute(sql))

        def fetch() -> Any:
            return cursor.fetch(BATCH) if postgres else cursor.fetchmany(BATCH)

        ahead = asyncio.ensure_future(fetch())
        try:
            while batch := await ahead:
                ahead = asyncio.ensure_future(fetch())
                yield batch
        finally:
            if not ahead.done():
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await ahead
            if not postgres:
                await cursor.close()

    async def counts(self) -> dict[str, int]:
        tables = {"chain": audit_chain, "pending": audit_pending}
        tables |= {record_type: source.head for record_type, source in SOURCES.items()}
        found = {}
        for name, table in tables.items():
            result = await self._connection.execute(select(func.count()).select_from(table))
            found[name] = int(result.scalar_one())
        return found

    async def chain(self) -> AsyncIterator[Sequence[tuple[int, str, str, str, str, str, str]]]:
        async for batch in self.rows(CHAIN_ROWS[self._connection.dialect.name]):
            yield batch

    async def queued(self) -> list[tuple[str, str, str | None]]:
        query = select(
            audit_pending.c.record_type, audit_pending.c.record_id, audit_pending.c.content_hash
        ).order_by(audit_pending.c.id)
        return [(row[0], row[1], row[2]) for row in await self._connection.execute(query)]

    async def digests(self, record_type: str) -> AsyncIterator[Sequence[Digest]]:
        source = SOURCES[record_type]
        digests = source.digests()
        dialect = self._connection.dialect.name
        async for batch in self.rows(source.select(by_ids=False, dialect=dialect)):
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
