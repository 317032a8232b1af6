"""Reads of one statement with the fewest trips to the driver (issue 17: the REST lists).

A read-only unit of work reads like this when it has no connection open yet
(``LazyConnection.read``): the repository hands over a plain function of a synchronous
connection that runs one SELECT and makes its answer of the rows. One statement reads one
committed state on both databases, so no transaction is needed around it:

- a SQLite file, a small read (at most ``INLINE_ROWS`` rows: a page of 10 sessions, an API
  key): the function runs on the event loop itself, on a plain ``sqlite3`` connection that
  cannot write (``PRAGMA query_only``) and begins no transaction, with a budget of SQLite's
  own work (``INLINE_BUDGET`` virtual-machine steps, counted through SQLite's progress
  handler) and no wait for a lock. A trip to a thread cost such a read more than the read
  itself: under 32 concurrent 10-row list requests on 2 cores, the hand-over and the two
  threads taking turns at the GIL were 330 of the read's 545 us of CPU (``bench/rest.py``:
  880 → 1,440 requests a second, p99 47 → 28 ms). A read that outgrows the budget or finds
  the file locked is stopped and run again, whole, as a larger one is:
- a SQLite file, any other read: in one call to a small pool of threads of our own, on
  connections like it (SQLite lets the GIL go while it reads, so the loop goes on
  meanwhile). Making 100 rows into objects takes about 1.5 ms; on the loop that held up the
  writes of the other requests' answers for whole turns of the loop (100-row pages: p99
  360 ms there against 133 ms from a thread). Through aiosqlite every statement costs four
  trips to a thread (cursor, execute, fetch, close); here the read is one.
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
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from chargeledger.adapters.db.engine import (
    POSTGRES_POOL_SIZE,
    sqlite_file,
    sqlite_reader_pragmas,
)

T = TypeVar("T")

# Threads (and connections) of the SQLite reads: SQLite lets the GIL go while it reads the
# file, so a few overlap; more would only queue for the GIL.
SQLITE_READERS = min(4, os.cpu_count() or 1)
# SQLite virtual-machine steps a read may take on the event loop before it is stopped and run
# in a thread instead. A page of 10 sessions along an index takes about 2,000, one of 100
# about 4,000, one of 10 after an offset of 9,000 about 27,000 (230 us); 50,000 steps are
# about half a millisecond of SQLite's work on the 2-core bench machine.
INLINE_BUDGET = 50_000
# The most rows a read run on the event loop may make objects of (see above).
INLINE_ROWS = 25
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
        self._inline = None if sync_engine is None else _InlineReader(sync_engine)
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

    async def run(self, fn: Callable[[Connection], T], *, rows: int = 1) -> T:
        """``rows``: at most how many rows ``fn`` reads (and makes objects of)."""
        if self._sync_engine is not None:
            return await self._run_on_sqlite(self._sync_engine, fn, inline=rows <= INLINE_ROWS)
        assert self._async_engine is not None
        async with self._slots, self._async_engine.connect() as connection:
            result: T = await connection.run_sync(fn)
            return result

    async def _run_on_sqlite(
        self, threads_engine: Engine, fn: Callable[[Connection], T], *, inline: bool
    ) -> T:
        assert self._inline is not None
        if inline:
            try:
                answer = self._inline.run(fn)
            except OperationalError as exc:
                if not _stopped_or_locked(exc):
                    raise
            else:
                # The other requests' turn before this one goes on: a request that never
                # waited ran from its headers to its answer in one go, and under 32 concurrent
                # 10-row list requests 1 in 100 then waited 4 times the median (p99 136 ms,
                # p50 29 ms; with this turn 34 and 24 ms, and more requests a second).
                await asyncio.sleep(0)
                return answer
        if self._threads is None:
            self._threads = ThreadPoolExecutor(SQLITE_READERS, thread_name_prefix="sqlite-read")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, _read_on, threads_engine, fn)

    async def aclose(self) -> None:
        """Close the SQLite readers' connections and threads (PostgreSQL's pool is the units
        of work's, closed with their engine)."""
        threads, self._threads = self._threads, None
        self._slots = asyncio.Semaphore(POSTGRES_READERS)  # the next lifespan's event loop
        if threads is not None:
            threads.shutdown(wait=True)
        if self._sync_engine is not None:
            self._sync_engine.dispose()
        if self._inline is not None:
            self._inline.close()


def _read_on(engine: Engine, fn: Callable[[Connection], Any]) -> Any:
    with engine.connect() as connection:
        return fn(connection)


class _InlineReader:
    """The event loop's own reader: a connection like the threads' (``sqlite_reader_pragmas``)
    which never waits for a lock and stops a statement past ``INLINE_BUDGET`` steps.

    Each thread that runs an event loop (one in ``serve``; a test client has its own) keeps
    its connection open from its first read on: taking one from a pool for each read cost
    about 25 us of a 10-row page's 220. Between reads it holds no snapshot, as every read
    function reads its statement's rows to the end (the cursor is closed and SQLite's
    statement reset) and the driver begins no transaction (``_sqlite_pragmas``)."""

    def __init__(self, threads_engine: Engine) -> None:
        self.engine = create_sync_engine(
            threads_engine.url,
            poolclass=NullPool,  # each thread's connection is kept here instead
            # Connecting does not wait for a lock either; ``close`` may close another thread's.
            connect_args={"timeout": 0, "check_same_thread": False},
        )
        event.listen(self.engine, "connect", _bounded)
        self._own = threading.local()
        self._opened: list[Connection] = []
        self._opening = threading.Lock()

    def run(self, fn: Callable[[Connection], T]) -> T:
        connection: Connection | None = getattr(self._own, "connection", None)
        if connection is None or connection.closed or connection.invalidated:
            connection = self._own.connection = self.engine.connect()
            with self._opening:
                self._opened.append(connection)
        _budget_of(connection).spent = 0
        return fn(connection)

    def close(self) -> None:
        with self._opening:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._own = threading.local()
        self.engine.dispose()


class _Budget:
    """SQLite calls the progress handler every ``_STEPS_PER_TICK`` steps of a statement,
    counted over every run of the prepared statement (and ``sqlite3`` keeps its statements
    prepared), so a read's own share is counted here, from zero at its start."""

    def __init__(self) -> None:
        self.spent = 0

    def tick(self) -> bool:
        """A true answer interrupts the statement, which then fails with "interrupted"."""
        self.spent += 1
        return self.spent > INLINE_BUDGET // _STEPS_PER_TICK


def _bounded(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    sqlite_reader_pragmas(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()
    budget = record.info["budget"] = _Budget()
    dbapi_connection.set_progress_handler(budget.tick, _STEPS_PER_TICK)


def _budget_of(connection: Connection) -> _Budget:
    budget: _Budget = connection.info["budget"]
    return budget


_STEPS_PER_TICK = 1_000


def _stopped_or_locked(exc: OperationalError) -> bool:
    """Whether an inline read failed only for being inline: past its budget, or on a lock
    (another process's exclusive one, or a WAL checkpoint's) it may not wait for there."""
    original = exc.orig
    if not isinstance(original, sqlite3.OperationalError):
        return False
    return original.sqlite_errorcode & 0xFF in _INLINE_ONLY  # the primary code of an extended one


_INLINE_ONLY = {sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
