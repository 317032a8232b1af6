"""Creating the async engine for SQLite (WAL, embedded default) or PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from chargeledger.adapters.db import sqlite_driver
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


def sqlite_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine on a SQLite file whose statements each take one trip to the driver's thread
    (``sqlite_driver.py``), connected with what SQLAlchemy's dialect would connect with."""
    arguments, options = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
    creator = sqlite_driver.connector(*arguments, **options)
    return create_async_engine(url, async_creator=creator, **kwargs)


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


def sqlite_reader_pragmas(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    """A connection that reads only (``PRAGMA query_only``): the read-only units of work's and
    the one-statement reads' (``statement_reads.py``)."""
    _sqlite_pragmas(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


# An execution option of a connection that only reads one consistent snapshot (``audit
# verify``, read-only units of work): its transaction begins deferred, takes no write lock and
# blocks no writer.
READ_SNAPSHOT = "chargeledger_read_snapshot"


def read_only_options(engine: AsyncEngine) -> dict[str, Any]:
    """The execution options of a read-only transaction on ``engine``'s database: on SQLite a
    deferred BEGIN (WAL readers work next to the one writer and never wait for it); on
    PostgreSQL ``BEGIN READ ONLY``, so a write in it fails at once instead of being lost at the
    rollback (the flag rides on asyncpg's BEGIN: no extra round trip)."""
    if engine.dialect.name == "postgresql":
        return {"postgresql_readonly": True}
    return {READ_SNAPSHOT: True}


def create_read_engine(engine: AsyncEngine) -> AsyncEngine:
    """The engine of read-only units of work (issue 17).

    On a SQLite file: a pool of its own whose connections are ``PRAGMA query_only`` (a write
    fails with "attempt to write a readonly database") and begin no transaction, so each
    statement reads what was committed when it ran — PostgreSQL's READ COMMITTED, which every
    unit of work has there. Not beginning saves three of the eight trips to the driver's
    thread of a one-query read, and those trips, not the query, are what a read costs under
    load; a separate pool keeps readers from taking the writers' connections. A reader that
    needs one snapshot over several queries (``audit verify``) uses ``READ_SNAPSHOT``.
    Elsewhere (PostgreSQL, in-memory SQLite): the same engine with ``read_only_options``.
    """
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name != "sqlite" or sqlite_file(url) is None:
        return engine.execution_options(**read_only_options(engine))
    reader = sqlite_engine(url, pool_reset_on_return=None)
    event.listen(reader.sync_engine, "connect", sqlite_reader_pragmas)
    dialect = reader.sync_engine.dialect  # this engine's own: the writers' is untouched
    dialect.do_rollback = _rollback_when_begun(dialect.do_rollback)  # type: ignore[method-assign,assignment]
    return reader


def _rollback_when_begun(rollback: Callable[[Any], None]) -> Callable[[Any], None]:
    """A reader's unit of work ends with a rollback of a transaction SQLite never began; asking
    the driver's thread to do nothing is one more trip to it per read (issue 17)."""

    def rollback_when_begun(dbapi_connection: Any) -> None:
        if dbapi_connection.driver_connection.in_transaction:
            rollback(dbapi_connection)

    return rollback_when_begun


def _sqlite_begin(connection: Any) -> None:
    """BEGIN IMMEDIATE takes the write lock up front, so two concurrent units of work queue on
    ``busy_timeout`` instead of failing with "database is locked" when a reader upgrades. A
    read-only snapshot begins deferred: in WAL mode it reads the state of its first read."""
    if connection.get_execution_options().get(READ_SNAPSHOT):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


POSTGRES_POOL_SIZE = 20  # connections kept open per process
POSTGRES_POOL_OVERFLOW = 10  # more opened when all are busy, closed when returned


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
        # A pool of 20 (+10 when busy), not SQLAlchemy's 5 (+10): under 32 concurrent API
        # requests the default pool made requests queue for a connection for seconds (wrk
        # timeouts and a p99 over 1 s on the sessions list, bench/rest.py; none with this).
        kwargs["pool_size"], kwargs["max_overflow"] = POSTGRES_POOL_SIZE, POSTGRES_POOL_OVERFLOW
        if schema:
            kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
    else:
        # Every unit of work ends its transaction itself (transaction.py); skipping the pool's
        # own rollback on return saves a round trip to SQLite's worker thread per transaction.
        kwargs["pool_reset_on_return"] = None
    engine = sqlite_engine(url, **kwargs) if database_file else create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine
