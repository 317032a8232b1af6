"""Creating the async engine for SQLite (WAL, embedded default) or PostgreSQL (production)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from chargeledger.adapters.files import private_sqlite_file


def normalise_url(url: str) -> str:
    """Pick the asyncio driver for a plain URL (``postgresql://`` → asyncpg)."""
    parsed = make_url(url)
    driver = {
        "postgresql": "postgresql+asyncpg",
        "postgres": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
    }.get(parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False) if driver else url


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory ones."""
    parsed = make_url(url)
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or not database or database == ":memory:":
        return None
    if database.startswith("file:") or parsed.query.get("mode") == "memory":
        return None  # URI filenames: left to SQLite
    return Path(database)


def _unicode_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    """WAL lets readers work while one writer commits; foreign keys are off unless asked.

    The driver's own implicit transactions are switched off so that ``_sqlite_begin`` decides
    how a transaction starts (and DDL in migrations is transactional too).
    """
    dbapi_connection.isolation_level = None
    # SQLite's own lower() folds ASCII only; PostgreSQL folds all of Unicode ("MÜLLER").
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# An execution option of a connection that only reads one consistent snapshot (``audit
# verify``): its transaction begins deferred, takes no write lock and blocks no writer.
READ_SNAPSHOT = "chargeledger_read_snapshot"


def _sqlite_begin(connection: Any) -> None:
    """BEGIN IMMEDIATE takes the write lock up front, so two concurrent units of work queue on
    ``busy_timeout`` instead of failing with "database is locked" when a reader upgrades. A
    read-only snapshot begins deferred: in WAL mode it reads the state of its first read."""
    if connection.get_execution_options().get(READ_SNAPSHOT):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, *, schema: str | None = None, echo: bool = False) -> AsyncEngine:
    """An engine for ``url``; ``schema`` sets PostgreSQL's search_path (used to isolate tests)."""
    url = normalise_url(url)
    database_file = sqlite_file(url)
    if database_file is not None:
        private_sqlite_file(database_file)
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("postgresql"):
        # No pre-ping (a round trip per transaction): a connection the server dropped fails
        # once, SQLAlchemy invalidates the pool, and the next unit of work reconnects.
        if schema:
            kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
    else:
        # Every unit of work ends its transaction itself (transaction.py); skipping the pool's
        # own rollback on return saves a round trip to SQLite's worker thread per transaction.
        kwargs["pool_reset_on_return"] = None
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine
