"""INSERT ... ON CONFLICT for both back ends (SQLite ≥ 3.24 and PostgreSQL share the syntax)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def _insert(connection: AsyncConnection, table: Table) -> Any:
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def insert_ignoring_duplicates(
    connection: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Insert rows, skipping those whose unique key exists; returns how many were new.

    Used where a replayed OCPP message may carry samples we already have (exactly once).
    """
    if not rows:
        return 0
    statement = _insert(connection, table).values(list(rows)).on_conflict_do_nothing()
    result = await connection.execute(statement)
    return int(result.rowcount or 0)


async def upsert(
    connection: AsyncConnection,
    table: Table,
    row: Mapping[str, Any],
    key: Sequence[str],
) -> None:
    statement = _insert(connection, table).values(dict(row))
    changes = {name: statement.excluded[name] for name in row if name not in key}
    await connection.execute(
        statement.on_conflict_do_update(index_elements=list(key), set_=changes)
    )
