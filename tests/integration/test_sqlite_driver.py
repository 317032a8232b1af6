"""The SQLite driver's one-trip cursors (issue 17, ``adapters/db/sqlite_driver.py``), on a real
SQLite file through the engine the application uses: every result read whole, in batches and
streamed; row counts, inserted ids and errors as SQLAlchemy reports them with aiosqlite's own
cursors; and a result abandoned half-read leaves the connection usable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from chargeledger.adapters.db.engine import create_engine
from chargeledger.adapters.db.sqlite_driver import FIRST_ROWS, OneTripConnection
from chargeledger.config import sqlite_url

MANY = FIRST_ROWS * 3 + 7  # more than one batch, not a whole number of them


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url(tmp_path / "driver.sqlite3"))
    async with engine.begin() as connection:
        await connection.execute(
            text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
        )
        await connection.execute(
            text("INSERT INTO item (name) VALUES (:name)"),
            [{"name": f"n{i:05d}"} for i in range(MANY)],
        )
    yield engine
    await engine.dispose()


async def test_the_engine_uses_the_one_trip_driver(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.driver_connection, OneTripConnection)


@pytest.mark.parametrize("limit", [0, 1, FIRST_ROWS - 1, FIRST_ROWS, FIRST_ROWS + 1, MANY])
async def test_every_row_is_read_whatever_the_size(engine: AsyncEngine, limit: int) -> None:
    async with engine.connect() as connection:
        result = await connection.execute(
            text("SELECT name FROM item ORDER BY id LIMIT :n"), {"n": limit}
        )
        names = result.scalars().all()
    assert names == [f"n{i:05d}" for i in range(limit)]


async def test_a_streamed_result_comes_in_order_in_parts(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        result = await connection.stream(text("SELECT id FROM item ORDER BY id"))
        parts = [len(part) async for part in result.partitions(100)]
    assert sum(parts) == MANY
    assert set(parts[:-1]) == {100}


async def test_a_result_left_half_read_leaves_the_connection_usable(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        result = await connection.stream(text("SELECT id FROM item ORDER BY id"))
        first = await result.fetchmany(3)
        await result.close()
        assert [row.id for row in first] == [1, 2, 3]
        count = await connection.scalar(text("SELECT count(*) FROM item"))
    assert count == MANY


async def test_row_counts_and_inserted_ids_are_reported(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO item (name) VALUES ('new')"))
        assert inserted.lastrowid == MANY + 1
        changed = await connection.execute(
            text("UPDATE item SET name = name || '!' WHERE id <= :n"), {"n": 10}
        )
        assert changed.rowcount == 10
        many = await connection.execute(
            text("UPDATE item SET name = :name WHERE id = :id"),
            [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 10**9, "name": "c"}],
        )
        assert many.rowcount == 2


async def test_errors_are_sqlalchemys_and_undo_nothing_else(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        with pytest.raises(IntegrityError):
            await connection.execute(text("INSERT INTO item (name) VALUES ('n00000')"))
        await connection.rollback()
        with pytest.raises(OperationalError):
            await connection.execute(text("SELECT nothing FROM nowhere"))
        await connection.rollback()
        assert await connection.scalar(text("SELECT count(*) FROM item")) == MANY
