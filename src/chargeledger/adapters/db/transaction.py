"""A connection that opens on first use and closes at commit or rollback.

On SQLite the process's units of work take turns on one asyncio lock per *transaction*: SQLite
has one writer at a time, and letting transactions collide inside SQLite makes its busy handler
sleep in growing steps (up to 100 ms), which under load costs far more than queueing here
(``busy_timeout`` still covers other processes, e.g. the CLI next to ``serve``). Holding the
lock only while a transaction is open keeps a request that waits on something else (a
station's answer) from blocking everyone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

if TYPE_CHECKING:
    from chargeledger.adapters.db.statement_reads import StatementReads

T = TypeVar("T")


class LazyConnection:
    """What repositories hold: ``execute`` and ``begin_nested`` open the transaction."""

    def __init__(
        self,
        engine: AsyncEngine,
        write_lock: asyncio.Lock | None,
        reads: StatementReads | None = None,
    ) -> None:
        self._engine = engine
        self._write_lock = write_lock
        self._reads = reads
        self._connection: AsyncConnection | None = None
        self._holds_lock = False
        self._before_statement: Callable[[Any], Awaitable[None]] | None = None

    def before_each_statement(self, hook: Callable[[Any], Awaitable[None]] | None) -> None:
        """Run ``hook(statement)`` before each statement sent from now on (a raw SQL string or
        a ``read`` function for those), until set to None: the session repository's deferred
        updates are written before any statement that may read them
        (``SqlSessionRepository.defer_updates``)."""
        self._before_statement = hook

    @property
    def dialect(self) -> Dialect:
        return self._engine.dialect

    async def open(self) -> AsyncConnection:
        if self._connection is None:
            if self._write_lock is not None:
                await self._write_lock.acquire()
                self._holds_lock = True
            try:
                self._connection = await self._engine.connect()
            except BaseException:
                self._release()
                raise
        return self._connection

    async def _open_for(self, statement: Any) -> AsyncConnection:
        """The hook of ``before_each_statement`` for ``statement``, then the connection."""
        if self._before_statement is not None:
            await self._before_statement(statement)
        return await self.open()

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        connection = await self._open_for(statement)
        return await connection.execute(statement, *args, **kwargs)

    async def exec_driver_sql(self, statement: str, parameters: Any) -> Any:
        """SQL in the driver's own form (``repositories.bulk``: many rows, converted once)."""
        connection = await self._open_for(statement)
        return await connection.exec_driver_sql(statement, parameters)

    async def driver_connection(self, statement: Any) -> Any:
        """The driver's own connection, inside this unit of work's transaction, for what
        ``statement`` stands for when the driver runs it itself (``repositories.bulk``:
        PostgreSQL's COPY of an INSERT's rows)."""
        connection = await self._open_for(statement)
        raw = await connection.get_raw_connection()
        return raw.driver_connection

    async def read(self, fn: Callable[[Connection], T], *, rows: int = 1) -> T:
        """``fn`` runs one SELECT on a synchronous connection and makes its answer of the rows.
        A read-only unit of work with no connection open runs it through its one-statement
        reads (``statement_reads.py``: one trip to the driver, none for a small read on
        SQLite, at most ``rows`` rows); otherwise it runs on this unit of work's connection,
        inside its transaction."""
        if self._reads is not None and self._connection is None:
            return await self._reads.run(fn, rows=rows)
        connection = await self._open_for(fn)
        result: T = await connection.run_sync(fn)
        return result

    def begin_nested(self) -> _Savepoint:
        return _Savepoint(self)

    async def run_sync(self, fn: Any, *args: Any) -> Any:
        connection = await self._open_for(fn)
        return await connection.run_sync(fn, *args)

    @property
    def is_open(self) -> bool:
        return self._connection is not None

    async def commit(self) -> None:
        await self._end(commit=True)

    async def rollback(self) -> None:
        await self._end(commit=False)

    async def _end(self, *, commit: bool) -> None:
        self._before_statement = None
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if connection.in_transaction():
                await (connection.commit() if commit else connection.rollback())
        finally:
            await connection.close()
            self._release()

    def _release(self) -> None:
        if self._holds_lock and self._write_lock is not None:
            self._holds_lock = False
            self._write_lock.release()


class _Savepoint:
    def __init__(self, lazy: LazyConnection) -> None:
        self._lazy = lazy
        self._inner: Any = None

    async def __aenter__(self) -> Any:
        connection = await self._lazy.open()
        self._inner = connection.begin_nested()
        return await self._inner.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)
