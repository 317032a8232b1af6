"""Alembic migrations, run from code: ``chargeledger migrate`` and ``serve`` on start."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
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
    """Bring the database to the newest revision; returns (revision before, revision after).

    Processes started together on one database (issue 18) migrate one after another, and
    the next finds the database at head. On PostgreSQL an advisory lock is held until the
    migrating transaction ends. On SQLite a file lock beside the database is held instead,
    waited for without a deadline: the file's own write lock would give up after its busy
    timeout, which a migration from an empty file outlasts on a busy machine."""

    def _upgrade(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), "head")

    async with _sqlite_turn(engine):
        before = await current_revision(engine)
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(_ONE_MIGRATION_AT_A_TIME)
            await connection.run_sync(_upgrade)
        return before, await current_revision(engine)


@contextlib.asynccontextmanager
async def _sqlite_turn(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold ``<database file>.migrate-lock`` (``flock``, released when the file is closed,
    also by a process that dies); nothing for other databases or an in-memory one."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    descriptor = os.open(f"{path}.migrate-lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
