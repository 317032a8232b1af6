"""Write a new migration from the difference between the tables and the newest revision.

Usage: ``python -m chargeledger.adapters.db.revision "what changed"``. It migrates a throwaway
SQLite database to head and lets Alembic autogenerate against it; review the file it writes.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import Connection

from chargeledger.adapters.db.engine import create_engine
from chargeledger.adapters.db.migrate import alembic_config, head_revision, upgrade_to_head


async def write_revision(message: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(folder) / 'scratch.sqlite3'}")
        try:
            await upgrade_to_head(engine)
            head = head_revision()
            next_id = f"{int(head or '0') + 1:04d}"

            def _autogenerate(connection: Connection) -> None:
                command.revision(
                    alembic_config(connection),
                    message=message,
                    autogenerate=True,
                    rev_id=next_id,
                )

            async with engine.begin() as connection:
                await connection.run_sync(_autogenerate)
        finally:
            await engine.dispose()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit('usage: python -m chargeledger.adapters.db.revision "what changed"')
    asyncio.run(write_revision(sys.argv[1]))
