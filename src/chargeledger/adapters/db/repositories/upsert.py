"""INSERT ... ON CONFLICT for both back ends (SQLite ≥ 3.24 and PostgreSQL share the syntax)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def _insert(connection: AsyncConnection, table: Table) -> Any:
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def on_conflict_do_nothing(connection: AsyncConnection, table: Table) -> Any:
    """An INSERT of ``table`` that skips a row whose unique key exists (add ``.values()``,
    and ``.returning()`` to learn whether it was new)."""
    return _insert(connection, table).on_conflict_do_nothing()


@functools.cache
def _insert_ignoring(dialect: str, table: Table) -> Any:
    """Built once per table: the hot path only binds parameters to a cached statement."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing()


async def insert_ignoring_duplicates(
    connection: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Insert rows, skipping those whose unique key exists; returns how many were new
    (exact for a single row; several rows go in one batch whose count drivers may not tell).

    Used where a replayed OCPP message may carry samples we already have (exactly once).
    """
    if not rows:
        return 0
    statement = _insert_ignoring(connection.dialect.name, table)
    parameters: Any = dict(rows[0]) if len(rows) == 1 else [dict(row) for row in rows]
    result = await connection.execute(statement, parameters)
    return max(int(result.rowcount or 0), 0)


@functools.cache
def _upsert(dialect: str, table: Table, columns: tuple[str, ...], key: tuple[str, ...]) -> Any:
    """Built once per table and set of columns (issue 17): every station's heartbeat saves
    its state with an upsert, and building the statement (its ``excluded`` columns, then a new
    cache key) took a quarter of the server's time with 10,000 stations connected
    (``bench/ocpp_scale.py --py-spy``)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    changes = {name: statement.excluded[name] for name in columns if name not in key}
    return statement.on_conflict_do_update(index_elements=list(key), set_=changes)


async def upsert(
    connection: AsyncConnection,
    table: Table,
    row: Mapping[str, Any],
    key: Sequence[str],
) -> None:
    """Insert ``row``, or update the row with the same ``key`` to its other values."""
    statement = _upsert(connection.dialect.name, table, tuple(row), tuple(key))
    await connection.execute(statement, dict(row))
