"""Deferred conditional updates of sessions (issue 17): the updates of a group of OCPP CALLs
written in one batch instead of one statement per CALL.

``SqlSessionRepository.defer_updates`` switches them on for a unit of work. Each
``update_if_unchanged`` is then held here and answered as if written. The held updates are
written before the next statement that involves the sessions table (from any repository:
``involves_sessions``), before a savepoint and at commit, in two statements: one reads the
rows' versions (locking them on PostgreSQL, in id order; on SQLite the transaction holds the
one write lock already), one batch (``executemany``) updates them. If any row changed since it
was read, ``SessionsChangedError`` is raised instead, and every later write of that unit of
work fails too, its commit included, even if the code that met the error went on: the group of
CALLs is rolled back and applied again with immediate updates (``stations/group_commit.py``).
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from sqlalchemy import Update, bindparam, select
from sqlalchemy.sql.elements import ClauseElement, TextClause
from sqlalchemy.sql.selectable import TextualSelect
from sqlalchemy.sql.util import find_tables

from chargeledger.adapters.db.tables import sessions
from chargeledger.errors import SessionsChangedError

_VERSIONS_FOR_UPDATE = (
    select(sessions.c.id, sessions.c.version)
    .where(sessions.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(sessions.c.id)
    .with_for_update()
)


def involves_sessions(statement: Any) -> bool:
    """Whether ``statement`` may read or write the sessions table: a Core statement naming it
    anywhere (a join, a subquery, the table of an INSERT or UPDATE); raw SQL and functions run
    on the connection may do anything, so they count too."""
    if not isinstance(statement, ClauseElement) or isinstance(
        statement, TextClause | TextualSelect
    ):
        return True
    return _names_sessions(statement)


@functools.lru_cache(maxsize=512)
def _names_sessions(statement: ClauseElement) -> bool:
    return any(
        table is sessions for table in find_tables(statement, include_crud=True, include_joins=True)
    )


class DeferredSessionUpdates:
    """The held updates of one unit of work; ``connection`` is its ``LazyConnection``."""

    def __init__(self, connection: Any, update: Update) -> None:
        self._connection = connection
        self._update = update  # the repository's unconditional update of a session
        self.on = False
        self._rows: dict[uuid.UUID, dict[str, Any]] = {}  # by session: one update per row
        self._failed = False

    async def hold(self, session_id: uuid.UUID, row: dict[str, Any]) -> None:
        """Hold ``row`` (an update's values with its ``held_version``) until written."""
        if session_id in self._rows:
            await self.write()
        self._rows[session_id] = row
        self._connection.before_each_statement(self._write_before)

    async def write(self) -> None:
        """Write the held updates if every row is still at the version read, else raise
        ``SessionsChangedError``; raise it again after any failed batch."""
        if self._failed:
            raise SessionsChangedError("a batch of deferred session updates failed")
        if not self._rows:
            return
        held = {session_id: row.pop("held_version") for session_id, row in self._rows.items()}
        rows = list(self._rows.values())
        self._rows = {}
        self._connection.before_each_statement(None)
        self._failed = True
        found = await self._connection.execute(_VERSIONS_FOR_UPDATE, {"ids": list(held)})
        changed = len(held) - sum(held.get(row.id) == row.version for row in found)
        if changed:
            raise SessionsChangedError(
                f"{changed} of {len(held)} sessions changed since they were read"
            )
        await self._connection.execute(self._update, rows)
        self._failed = False

    def drop(self) -> None:
        """The transaction was rolled back: nothing held is written."""
        self._failed = False
        if self._rows:
            self._rows = {}
            self._connection.before_each_statement(None)

    async def _write_before(self, statement: Any) -> None:
        if involves_sessions(statement):
            await self.write()
