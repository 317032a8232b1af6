"""Which statements write a session repository's deferred updates first (``deferred_updates.py``,
issue 17): any that names the sessions table, however it does, and any whose tables cannot be
known (raw SQL). Missing one would let a read see a session without its deferred update."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, exists, func, insert, select, text

from chargeledger.adapters.db.billing_tables import charges
from chargeledger.adapters.db.repositories.deferred_updates import involves_sessions
from chargeledger.adapters.db.tables import meter_samples, sessions

NAMING_SESSIONS: dict[str, Any] = {
    "select": select(sessions),
    "alias": select(sessions.alias("s").c.id),
    "count": select(func.count()).select_from(sessions),
    "exists": select(meter_samples).where(exists().where(sessions.c.id == meter_samples.c.id)),
    "subquery": select(charges).where(
        charges.c.session_id.in_(select(sessions.c.id).scalar_subquery())
    ),
    "join": select(meter_samples).join(sessions, sessions.c.id == meter_samples.c.session_id),
    "cte": select(sessions.c.id).cte().select(),
    "insert": insert(sessions),
    "delete": delete(sessions),
    "raw SQL": text("SELECT 1"),
    "raw SQL with columns": text("SELECT 1 AS one").columns(),
    "driver SQL": "SELECT 1",
}


@pytest.mark.parametrize("statement", NAMING_SESSIONS.values(), ids=NAMING_SESSIONS.keys())
def test_a_statement_that_may_touch_sessions_counts(statement: Any) -> None:
    assert involves_sessions(statement)


@pytest.mark.parametrize(
    "statement",
    [select(charges), insert(meter_samples), select(meter_samples.c.session_id)],
    ids=["other table", "meter samples", "a column named session_id"],
)
def test_a_statement_on_other_tables_does_not(statement: Any) -> None:
    assert not involves_sessions(statement)
