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
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chargeledger.adapters.db.audit_records import SOURCES, Digest, hash_stored
from chargeledger.adapters.db.audit_tables import audit_chain, audit_checkpoints, audit_pending
from chargeledger.adapters.db.engine import READ_SNAPSHOT
from chargeledger.adapters.db.repositories.audit import checkpoint_of, record_key
from chargeledger.domain.audit import Checkpoint, RecordType

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
    """``records``: a second connection in the same snapshot (PostgreSQL) on which the
    records are read ahead while the chain is walked on the first (the server hashes them
    meanwhile, :mod:`audit_sql`); None: everything is read in turn on one connection."""

    def __init__(self, connection: AsyncConnection, records: AsyncConnection | None = None) -> None:
        self._connection = connection
        self._ahead: _ReadAhead | None = None
        if records is not None:
            self._ahead = _ReadAhead(SqlAuditSnapshot(records))

    async def close(self) -> None:
        if self._ahead is not None:
            await self._ahead.close()

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
        """Hashed by the server where it can (``RecordSource.rendered_select``: one row per
        record), the records it cannot write plainly then by the writers, as are an
        invoice's rows. With a second connection, read ahead on it (ask in
        ``RecordType`` order, as the service does)."""
        if self._ahead is not None:
            async for batch in self._ahead.digests(record_type):
                yield batch
            return
        source = SOURCES[record_type]
        dialect = self._connection.dialect.name
        hashed = source.rendered_select(dialect)
        if hashed is None:
            digests = source.digests()
            async for batch in self.rows(source.select(by_ids=False, dialect=dialect)):
                yield digests.feed(batch)
            yield digests.flush()
            return
        unplain: list[Any] = []
        async for batch in self.rows(hashed):  # (id, SHA-256 hex or NULL)
            yield [row for row in batch if row[1] is not None]
            unplain += [record_key(record_type, row[0]) for row in batch if row[1] is None]
        for start in range(0, len(unplain), 500):
            yield await hash_stored(self._connection, record_type, unplain[start : start + 500])

    async def rehash(self, record_type: str, record_ids: Sequence[str]) -> list[Digest]:
        keys = [record_key(record_type, record_id) for record_id in record_ids]
        return await hash_stored(self._connection, record_type, keys)

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


AHEAD = 64  # batches of a record type read ahead while the chain is walked (~1.3M records)


class _ReadAhead:
    """Reads every record type's digests, in ``RecordType`` order, on a connection of its
    own from the moment the snapshot opens, into one bounded queue per type."""

    def __init__(self, reader: SqlAuditSnapshot) -> None:
        self._queues: dict[str, asyncio.Queue[Sequence[Digest] | None]] = {
            record_type: asyncio.Queue(maxsize=AHEAD) for record_type in RecordType
        }
        self._task = asyncio.ensure_future(self._read(reader))

    async def _read(self, reader: SqlAuditSnapshot) -> None:
        for record_type, queue in self._queues.items():
            async for batch in reader.digests(record_type):
                await queue.put(batch)
            await queue.put(None)

    async def digests(self, record_type: str) -> AsyncIterator[Sequence[Digest]]:
        queue = self._queues[record_type]
        while (batch := await self._next(queue)) is not None:
            yield batch

    async def _next(self, queue: asyncio.Queue[Sequence[Digest] | None]) -> Sequence[Digest] | None:
        """The next batch, or the reader's error (never a wait on a reader that failed)."""
        getter = asyncio.ensure_future(queue.get())
        try:
            await asyncio.wait((getter, self._task), return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                self._task.result()  # raises the reader's error; else the queue ends in None
            return await getter
        finally:
            getter.cancel()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


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
                if connection.dialect.name != "postgresql":
                    yield SqlAuditSnapshot(connection)
                    return
                await connection.execute(text(_REPEATABLE_READ))
                async with self._joined(connection) as records:
                    snapshot = SqlAuditSnapshot(connection, records)
                    try:
                        yield snapshot
                    finally:
                        await snapshot.close()

    @contextlib.asynccontextmanager
    async def _joined(self, connection: AsyncConnection) -> AsyncIterator[AsyncConnection]:
        """A second connection that sees the first one's snapshot (PostgreSQL 15 manual,
        "Snapshot Synchronization Functions" and ``SET TRANSACTION SNAPSHOT``)."""
        exported = (await connection.execute(text("SELECT pg_export_snapshot()"))).scalar_one()
        if not _SNAPSHOT_ID.fullmatch(str(exported)):
            raise RuntimeError(f"unexpected snapshot id {exported!r}")
        async with self._engine.connect() as records:
            await records.execution_options(**{READ_SNAPSHOT: True})
            async with records.begin():
                await records.execute(text(_REPEATABLE_READ))
                await records.execute(text(f"SET TRANSACTION SNAPSHOT '{exported}'"))
                yield records


_REPEATABLE_READ = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+(-[0-9A-F]+)+")
