"""Which processes may serve a database (issue 18), beside the composition root: any number
of nodes on PostgreSQL, one ``chargeledger serve`` per SQLite file
(``adapters/db/one_node.py``)."""

from __future__ import annotations

from pathlib import Path

from chargeledger.adapters.db.engine import sqlite_file
from chargeledger.adapters.db.one_node import claim_sqlite_node
from chargeledger.config import Settings


def served_elsewhere(settings: Settings) -> Path | None:
    """On SQLite, make this process the database's one node, or give the file another process
    serves already; None on PostgreSQL (and once this process has the claim)."""
    database = sqlite_file(settings.database_url)
    if database is None or claim_sqlite_node(database):
        return None
    return database
