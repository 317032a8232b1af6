"""Alembic migrations, run from code: ``chargeledger migrate`` and ``serve`` on start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# A transaction's advisory lock per schema (the tests' schemas share one server).
_ONE_MIGRATION_AT_A_TIME = text(
    "SELECT pg_advisory_xact_lock(hashtext('chargeledger migrations ' || current_schema()))"
)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    def _read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(_read)


async def upgrade_to_head(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """Bring the database to the newest revision; returns (revision before, revision after)."""
    before = await current_revision(engine)

    def _upgrade(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), "head")

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Nodes started together (issue 18) migrate one after another: the lock is held
            # until this transaction ends, and the next finds the database at head.
            await connection.execute(_ONE_MIGRATION_AT_A_TIME)
        await connection.run_sync(_upgrade)
    return before, await current_revision(engine)
