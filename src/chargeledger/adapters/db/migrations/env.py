"""Alembic environment. Run from code (``migrate.py`` passes a connection) or from the
``alembic`` command line with ``CHARGELEDGER_DATABASE_URL`` set, e.g. to autogenerate."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection

from chargeledger.adapters.db.engine import create_engine
from chargeledger.adapters.db.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_url(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_from_url(os.environ["CHARGELEDGER_DATABASE_URL"]))
