"""A cheap query that tells whether the database answers.

It runs in a read-only transaction (``engine.read_only_options``): on SQLite a ``BEGIN
IMMEDIATE`` here would queue ``/healthz`` behind every writer, so that a busy server looked
dead to its load balancer (issue 17).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from chargeledger.adapters.db.engine import read_only_options


async def database_answers(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as connection:
            await connection.execution_options(**read_only_options(engine))
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        return False
    return True
