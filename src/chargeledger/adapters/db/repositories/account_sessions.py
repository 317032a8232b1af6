"""The session repository's page of one account's sessions that changed in a window: a roaming
partner's sessions (OCPI 2.2.1 §9.2.1, the sender interface), read a page at a time since they
grow without end (the ``ix_sessions_account_id_started_at_id`` index finds the account's rows
in the page's order).

A session last changed at the latest of its start, its latest reading and its end
(``domain.ocpi_sessions.last_change``). That moment is at or after ``changed_from`` when any of
the three is, and before ``changed_before`` when all of those it has are: the window is two
plain conditions on stored columns, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.tables import sessions
from chargeledger.domain.charging import Session


class _SessionRows(Protocol):
    """What the mixin needs of the repository it is part of."""

    _connection: AsyncConnection

    def from_row(self, row: RowMapping) -> Session: ...


class AccountSessions:
    """Part of ``SqlSessionRepository`` (kept apart so each module stays small)."""

    async def changed_of_account(
        self: _SessionRows,
        account_id: uuid.UUID,
        changed_from: datetime | None,
        changed_before: datetime | None,
        *,
        limit: int,
        offset: int,
    ) -> tuple[list[Session], int]:
        s = sessions.c
        where: list[ColumnElement[Any]] = [s.account_id == account_id]
        if changed_from is not None:
            where.append(
                or_(
                    s.started_at >= changed_from,
                    s.last_sample_at >= changed_from,
                    s.stopped_at >= changed_from,
                )
            )
        if changed_before is not None:
            where.append(
                and_(
                    s.started_at < changed_before,
                    or_(s.last_sample_at.is_(None), s.last_sample_at < changed_before),
                    or_(s.stopped_at.is_(None), s.stopped_at < changed_before),
                )
            )
        counted = select(func.count()).select_from(sessions).where(*where)
        total = (await self._connection.execute(counted)).scalar_one()
        query = (
            select(sessions).where(*where).order_by(s.started_at, s.id).limit(limit).offset(offset)
        )
        rows = (await self._connection.execute(query)).mappings()
        return [self.from_row(row) for row in rows], int(total)
