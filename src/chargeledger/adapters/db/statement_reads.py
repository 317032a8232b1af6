"""Reads of one statement with the fewest trips to the driver (issue 17: the REST lists).

A read-only unit of work reads like this when it has no connection open yet
(``LazyConnection.read``): the repository hands over a plain function of a synchronous
connection that runs one SELECT and makes its answer of the rows. One statement reads one
committed state on both databases, so no transaction is needed around it:

- a SQLite file: the function runs in one call to a small pool of threads of our own, on
  plain ``sqlite3`` connections that cannot write (``PRAGMA query_only``) and begin no
  transaction, as the read-only units of work's own connections do. Through aiosqlite every
  statement costs four trips to its connection's thread (cursor, execute, fetch, close), each
  of which waits for the event loop and for the GIL under load; here the whole read is one.
- PostgreSQL: the statement runs in autocommit on the units of work's pool, so asyncpg sends
  it alone: no ``BEGIN READ ONLY`` and no ``ROLLBACK`` round trips around it. (What makes it
  read-only is that the repository's function runs a SELECT; nothing else is sent.) At most
  ``POSTGRES_READERS`` run at a time, fewer than the pool keeps open: under 32 concurrent
  list requests the reads otherwise took the pool's overflow connections, which are opened
  and closed again for each read.
- an in-memory SQLite database (tests): no such reads; the unit of work's connection is used.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import AsyncEngine

from chargeledger.adapters.db.engine import (
    POSTGRES_POOL_SIZE,
    sqlite_file,
    sqlite_reader_pragmas,
)

T = TypeVar("T")

# Threads (and connections) of the SQLite reads: SQLite lets the GIL go while it reads the
# file, so a few overlap; more would only queue for the GIL.
SQLITE_READERS = min(4, os.cpu_count() or 1)
# One-statement reads on PostgreSQL at a time: half the connections the pool keeps open, so
# the writers always find one too.
POSTGRES_READERS = POSTGRES_POOL_SIZE // 2


class StatementReads:
    """Runs ``fn(connection)`` for one-statement reads; ``None`` from ``for_engine`` when the
    database has no cheaper way than the unit of work's own connection."""

    def __init__(
        self,
        *,
        sync_engine: Engine | None = None,
        async_engine: AsyncEngine | None = None,
    ) -> None:
        self._sync_engine = sync_engine
        self._async_engine = async_engine
        self._slots = asyncio.Semaphore(POSTGRES_READERS)
        # Made on first use and again after ``aclose``: a runtime closed at the end of one
        # app lifespan may serve the next (as its engine, which ``dispose`` leaves usable).
        self._threads: ThreadPoolExecutor | None = None

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> StatementReads | None:
        if engine.dialect.name == "postgresql":
            return cls(async_engine=engine.execution_options(isolation_level="AUTOCOMMIT"))
        url = engine.url.render_as_string(hide_password=False)
        if engine.dialect.name != "sqlite" or sqlite_file(url) is None:
            return None
        sync_url = engine.url.set(drivername="sqlite+pysqlite")
        sync_engine = create_sync_engine(
            sync_url, pool_size=SQLITE_READERS, max_overflow=0, pool_reset_on_return=None
        )
        event.listen(sync_engine, "connect", sqlite_reader_pragmas)
        return cls(sync_engine=sync_engine)

    async def run(self, fn: Callable[[Connection], T]) -> T:
        if self._sync_engine is not None:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(SQLITE_READERS, thread_name_prefix="sqlite-read")
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._threads, _in_thread, self._sync_engine, fn)
        assert self._async_engine is not None
        async with self._slots, self._async_engine.connect() as connection:
            result: T = await connection.run_sync(fn)
            return result

    async def aclose(self) -> None:
        """Close the SQLite readers' connections and threads (PostgreSQL's pool is the units
        of work's, closed with their engine)."""
        threads, self._threads = self._threads, None
        self._slots = asyncio.Semaphore(POSTGRES_READERS)  # the next lifespan's event loop
        if threads is not None:
            threads.shutdown(wait=True)
        if self._sync_engine is not None:
            self._sync_engine.dispose()


def _in_thread(engine: Engine, fn: Callable[[Connection], Any]) -> Any:
    with engine.connect() as connection:
        return fn(connection)
