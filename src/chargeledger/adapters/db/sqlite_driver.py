"""aiosqlite with one trip to its thread per statement (issue 17).

aiosqlite runs every call on its connection's own thread and answers through the event loop.
Through SQLAlchemy's aiosqlite dialect a statement is four such trips: make a cursor, execute,
fetch the rows, close the cursor. Each trip waits for that thread and then for the event loop
(and for the GIL between them), and under load those waits, not SQLite, were most of what an
OCPP group commit took: the server's CPU sat idle while 100 stations waited (``bench/
ocpp_ingest.py --py-spy``).

Here the connection is aiosqlite's own (its thread, its queue, its commit, rollback and close),
and only its cursors differ: one trip executes the statement and fetches the first
``FIRST_ROWS`` rows, and closes the SQLite cursor when they are all. A longer result keeps its
cursor open and is fetched on in batches of ``FIRST_ROWS``, one trip each, so a streamed read
(``AsyncConnection.stream``) still holds one batch at a time, as it did.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")
FIRST_ROWS = 256  # rows fetched with the statement; more come in batches of as many

_Description = tuple[tuple[Any, ...], ...] | None


class OneTripCursor:
    """The cursor SQLAlchemy's aiosqlite adapter uses (``AsyncAdapt_dbapi_cursor``): the calls
    it makes, with the statement, its rows, ``rowcount`` and ``lastrowid`` got in one trip."""

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self._open: sqlite3.Cursor | None = None  # the SQLite cursor of a longer result
        self._rows: list[Any] = []
        self.description: _Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        await self._discard()
        run = _run(sql, () if parameters is None else parameters, many=False)
        self._take(await self._connection.run_in_thread(run))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneTripCursor:
        await self._discard()
        self._take(await self._connection.run_in_thread(_run(sql, parameters, many=True)))
        return self

    async def fetchone(self) -> Any:
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        wanted = self.arraysize if size is None else size
        while len(self._rows) < wanted and self._open is not None:
            await self._fetch_more()
        rows, self._rows = self._rows[:wanted], self._rows[wanted:]
        return rows

    async def fetchall(self) -> list[Any]:
        while self._open is not None:
            await self._fetch_more()
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        await self._discard()

    def _take(
        self, outcome: tuple[sqlite3.Cursor | None, list[Any], _Description, int, Any]
    ) -> None:
        self._open, self._rows, self.description, self.rowcount, self.lastrowid = outcome

    async def _fetch_more(self) -> None:
        cursor = self._open
        assert cursor is not None
        rows, done = await self._connection.run_in_thread(lambda _: _batch(cursor))
        self._rows.extend(rows)
        if done:
            self._open = None

    async def _discard(self) -> None:
        """Close the SQLite cursor of a result not read to its end."""
        cursor, self._open, self._rows = self._open, None, []
        if cursor is not None:
            await self._connection.run_in_thread(lambda _: cursor.close())


def _run(
    sql: str, parameters: Any, *, many: bool
) -> Callable[
    [sqlite3.Connection], tuple[sqlite3.Cursor | None, list[Any], _Description, int, Any]
]:
    """The work of one trip, on the connection's thread: execute, then the first rows."""

    def run(connection: sqlite3.Connection) -> Any:
        cursor = connection.cursor()
        try:
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
            description = cursor.description
            rows: list[Any] = []
            done = True
            if description is not None:
                rows, done = _batch(cursor)
        except BaseException:
            cursor.close()
            raise
        outcome = (None if done else cursor, rows, description, cursor.rowcount, cursor.lastrowid)
        if done:
            cursor.close()
        return outcome

    return run


def _batch(cursor: sqlite3.Cursor) -> tuple[list[Any], bool]:
    """The next rows, and whether they were the last (the cursor is then closed)."""
    rows = cursor.fetchmany(FIRST_ROWS)
    done = len(rows) < FIRST_ROWS
    if done:
        cursor.close()
    return rows, done


class OneTripConnection(aiosqlite.Connection):
    """aiosqlite's connection with :class:`OneTripCursor` cursors."""

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    async def run_in_thread(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work(sqlite3 connection)`` on the connection's thread: one trip."""
        # aiosqlite's queue to its thread (``_execute``), as SQLAlchemy's dialect uses it.
        result: T = await self._execute(lambda: work(self._conn))  # type: ignore[no-untyped-call]
        return result


def connector(database: str, **options: Any) -> Callable[[], Awaitable[OneTripConnection]]:
    """SQLAlchemy's ``async_creator`` for ``database``; ``options`` are what its dialect would
    pass to ``sqlite3.connect`` (``create_connect_args``)."""

    async def connect() -> OneTripConnection:
        connection = OneTripConnection(lambda: sqlite3.connect(database, **options), 64)
        connection._thread.daemon = True  # as SQLAlchemy makes aiosqlite's: exit never waits
        await connection
        return connection

    return connect
