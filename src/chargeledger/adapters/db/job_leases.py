"""Which process runs a periodic job (issue 18: every job on exactly one node at a time).

Each ``serve`` process keeps its periodic jobs (dunning, the outbox, the stale-session sweep,
the payment janitor, payout reconciliation, the audit chain, …) and, before each run, asks for
the job's *lease*; a process that does not get it skips that round and asks again at its next
one. Every job is already safe to repeat (each sends, books or seals what is due once), so the
lease is about not doing the same work twice at the same moment, and about a job a node was
in the middle of when it died: the lease dies with it, and the next node to ask finishes it.

* **PostgreSQL** (N nodes on one server): a session-level advisory lock per job, keyed as the
  named locks are (``PostgresLocks.key``: the schema and ``job:<name>``), all of a process's on
  **one** connection of their own, in autocommit. One connection, not one per job: the named
  locks of money operations draw from a budget of ``MAX_CONNECTIONS`` per process, which ten
  jobs must not use up, and a cluster of nodes must stay within the server's connections.
  The server drops the locks with the session, so a node killed with SIGKILL frees its jobs;
  should this connection be lost while a job runs, the lease is gone with it and another node
  may start the job meanwhile (which the jobs tolerate, as above), and the next lease opens a
  new connection.
* **SQLite** (one node): the named locks of the file (``SqliteLocks``, a byte-range lock the
  kernel drops with the process), tried once; two ``serve`` processes on one file are not a
  supported set-up, but they would not run a job at once either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from chargeledger.adapters.db.engine import normalise_url
from chargeledger.adapters.db.locks import PostgresLocks, SqliteLocks
from chargeledger.services.ports import LockBusyError

log = logging.getLogger(__name__)


def lease_name(job: str) -> str:
    return f"job:{job}"


class PostgresJobLeases:
    """Advisory locks of the jobs, on one connection of this process's."""

    def __init__(self, url: str, locks: PostgresLocks) -> None:
        self._engine: AsyncEngine = create_async_engine(
            normalise_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        self._keys = locks.key
        self._connection: AsyncConnection | None = None
        self._turn = asyncio.Lock()  # one statement at a time on the connection
        # Held here: a session's advisory locks count, so a second try would succeed.
        self._held: set[int] = set()

    @contextlib.asynccontextmanager
    async def lease(self, job: str) -> AsyncIterator[bool]:
        """True inside the block when this process holds ``job``'s lease (until the block
        ends), False when another process holds it."""
        key = self._keys(lease_name(job))
        held_on = None if key in self._held else await self._try(key)
        if held_on is None:
            yield False
            return
        self._held.add(key)
        try:
            yield True
        finally:
            self._held.discard(key)
            await self._give_back(held_on, key)

    async def _try(self, key: int) -> AsyncConnection | None:
        """The connection the lease was taken on, or None when another process has it."""
        async with self._turn:
            connection = await self._open()
            try:
                found = await connection.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": key}
                )
            except Exception:
                await self._drop(connection)
                raise
            return connection if found.scalar() else None

    async def _give_back(self, connection: AsyncConnection, key: int) -> None:
        async with self._turn:
            if connection is not self._connection:
                return  # lost meanwhile: the server dropped the lease with that session
            try:
                await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            except Exception:
                log.warning("a job's lease could not be given back; closing its connection")
                await self._drop(connection)

    async def _open(self) -> AsyncConnection:
        if self._connection is None or self._connection.closed:
            self._connection = await self._engine.connect()
        return self._connection

    async def _drop(self, connection: AsyncConnection) -> None:
        """Close a connection that failed: every lease on it ends with its session."""
        if connection is self._connection:
            self._connection = None
        with contextlib.suppress(Exception):
            await connection.close()

    async def aclose(self) -> None:
        async with self._turn:
            if self._connection is not None:
                await self._drop(self._connection)
        await self._engine.dispose()


class SqliteJobLeases:
    """The file's named locks, tried once."""

    def __init__(self, locks: SqliteLocks) -> None:
        self._locks = locks

    @contextlib.asynccontextmanager
    async def lease(self, job: str) -> AsyncIterator[bool]:
        async with contextlib.AsyncExitStack() as held:
            try:
                await held.enter_async_context(self._locks.hold(lease_name(job), 0))
            except LockBusyError:
                yield False
                return
            yield True

    async def aclose(self) -> None:
        """Nothing of its own: the named locks are closed with the runtime."""


def job_leases(url: str, locks: PostgresLocks | SqliteLocks) -> PostgresJobLeases | SqliteJobLeases:
    """The leases for the database the named ``locks`` are of."""
    if isinstance(locks, PostgresLocks):
        return PostgresJobLeases(url, locks)
    return SqliteJobLeases(locks)
