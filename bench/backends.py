"""Running one benchmark on SQLite and on PostgreSQL, each on a fresh database: a new SQLite
file in a temporary folder, and a schema of its own on the PostgreSQL server (``--postgres
URL``), dropped afterwards. ``--no-sqlite`` skips SQLite."""

from __future__ import annotations

import argparse
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text

from chargeledger.adapters.db.engine import create_engine
from chargeledger.config import sqlite_url

# (label, database URL, PostgreSQL schema or None, a folder of its own) -> the run
Bench = Callable[[str, str, str | None, Path], Awaitable[None]]


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server's URL")
    parser.add_argument("--no-sqlite", action="store_true")


async def on_each_backend(args: argparse.Namespace, bench: Bench, name: str) -> None:
    folder = Path(tempfile.mkdtemp(prefix=f"chargeledger-bench-{name}-"))
    if not args.no_sqlite:
        await bench("SQLite", sqlite_url(folder / "bench.sqlite3"), None, folder)
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres)
        async with admin.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            await bench("PostgreSQL", args.postgres, schema, folder)
        finally:
            async with admin.begin() as connection:
                await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            await admin.dispose()


@asynccontextmanager
async def scratch_database(server_url: str, prefix: str) -> AsyncIterator[str]:
    """A PostgreSQL database of its own on ``server_url``'s server (for a bench whose server
    runs as a process of its own, which a schema cannot be handed to), dropped afterwards even
    while connections to it are still open. Yields its URL."""
    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
