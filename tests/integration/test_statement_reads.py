"""One-statement reads on a SQLite file (issue 17, ``adapters/db/statement_reads.py``): a small
read within its budget of SQLite's work runs on the event loop's own thread, the budget counted
per read even though SQLite counts per prepared statement; a longer read, or one that finds the
file locked, is stopped and read again whole in a reader thread, with the same answer; a read of
many rows goes to a thread at once."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from chargeledger.adapters.db.engine import create_engine
from chargeledger.adapters.db.statement_reads import INLINE_BUDGET, INLINE_ROWS, StatementReads
from chargeledger.config import sqlite_url

ROWS = 200


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[Path, AsyncEngine]]:
    path = tmp_path / "reads.sqlite3"
    engine = create_engine(sqlite_url(path))
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)"))
        await connection.execute(
            text("INSERT INTO item (id, name) VALUES (:id, :name)"),
            [{"id": n, "name": f"item {n}"} for n in range(ROWS)],
        )
    yield path, engine
    await engine.dispose()


@pytest.fixture
async def reads(database: tuple[Path, AsyncEngine]) -> AsyncIterator[StatementReads]:
    reads = StatementReads.for_engine(database[1])
    assert reads is not None
    yield reads
    await reads.aclose()


def page_and_thread(connection: Connection) -> tuple[list[str], int]:
    rows = connection.execute(text("SELECT name FROM item ORDER BY id DESC LIMIT 10"))
    return [row[0] for row in rows], threading.get_ident()


def count_and_thread(connection: Connection) -> tuple[int, int]:
    """Far more than the budget of SQLite's steps: a count up to ten times the budget."""
    counted = connection.execute(
        text(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :top)"
            " SELECT count(*) FROM n"
        ),
        {"top": INLINE_BUDGET * 10},
    ).scalar_one()
    return counted, threading.get_ident()


async def test_a_small_read_runs_on_the_loop_every_time(reads: StatementReads) -> None:
    """The same prepared statement read many times over: SQLite's count of its steps grows past
    the budget, each read's own count does not."""
    loop_thread = threading.get_ident()
    expected = [f"item {n}" for n in range(ROWS - 1, ROWS - 11, -1)]
    for _ in range(3 * INLINE_BUDGET // 1_000):
        names, thread = await reads.run(page_and_thread)
        assert names == expected
        assert thread == loop_thread


async def test_each_event_loops_thread_reads_on_its_own_connection(
    reads: StatementReads,
) -> None:
    """``serve`` has one event loop; a test client runs the app's in a thread of its own. Each
    reads on its own thread, on a connection kept for it, closed with the reads and opened
    again by the next read."""

    def read_in_another_loop() -> tuple[list[str], int]:
        return asyncio.run(reads.run(page_and_thread))

    expected = [f"item {n}" for n in range(ROWS - 1, ROWS - 11, -1)]
    for _ in range(2):
        names, thread = await asyncio.to_thread(read_in_another_loop)
        assert names == expected
        assert thread not in {threading.get_ident(), None}
        assert (await reads.run(page_and_thread)) == (expected, threading.get_ident())
        await reads.aclose()


async def test_a_read_past_the_budget_is_read_again_in_a_thread(reads: StatementReads) -> None:
    loop_thread = threading.get_ident()
    counted, thread = await reads.run(count_and_thread)
    assert counted == INLINE_BUDGET * 10
    assert thread != loop_thread
    _, thread = await reads.run(page_and_thread)  # the loop's own reader still works
    assert thread == loop_thread


async def test_a_read_of_many_rows_runs_in_a_thread(reads: StatementReads) -> None:
    loop_thread = threading.get_ident()
    names, thread = await reads.run(page_and_thread, rows=INLINE_ROWS + 1)
    assert len(names) == 10
    assert thread != loop_thread
    _, thread = await reads.run(page_and_thread, rows=INLINE_ROWS)
    assert thread == loop_thread


async def test_a_read_that_finds_the_file_locked_waits_in_a_thread(
    database: tuple[Path, AsyncEngine], reads: StatementReads
) -> None:
    """Another process holding the file (a WAL database in exclusive locking mode): the loop's
    reader may not wait, so a thread does, until the lock is let go."""
    await database[1].dispose()  # exclusive mode needs the file's only open connection
    holder = sqlite3.connect(database[0], isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE item SET name = 'renamed' WHERE id = :id", {"id": ROWS - 1})
    holder.execute("COMMIT")  # the exclusive lock stays until the connection closes
    loop_thread = threading.get_ident()
    read = asyncio.ensure_future(reads.run(page_and_thread))
    await asyncio.sleep(0)  # the read has tried the loop's reader and gone to a thread
    assert not read.done()
    holder.close()
    names, thread = await asyncio.wait_for(read, timeout=60)
    assert names[0] == "renamed"
    assert thread != loop_thread
