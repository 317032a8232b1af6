"""The tamper-evident chain of money records (issue 15), on the shared ``metadata``.

New tables only: the chained records stay where they are (no column is added to ``invoices``
or ``journal_entries``), so nothing here rewrites a table on SQLite.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from chargeledger.adapters.db.metadata import metadata
from chargeledger.adapters.db.types import UtcDateTime

_POSITION = BigInteger().with_variant(Integer, "sqlite")  # SQLite: the rowid itself

# Records written and hashed in their own transaction, waiting for the sealer to chain them:
# money transactions never wait for the one chain head (issue 15). ``content_hash`` is NULL
# only for records that existed before the chain (queued by the migration, hashed when sealed).
audit_pending = Table(
    "audit_pending",
    metadata,
    Column("id", _POSITION, primary_key=True, autoincrement=True),
    Column("record_type", String(32), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("content_hash", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("record_type", "record_id"),
)

# The chain: position ``seq`` holds one record's content hash, the chain hash of the position
# before it and its own (domain.audit.chain_hash). ``day``: the UTC day it was sealed on.
audit_chain = Table(
    "audit_chain",
    metadata,
    Column("seq", _POSITION, primary_key=True, autoincrement=False),
    Column("record_type", String(32), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("chain_hash", String(64), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("day", Date, nullable=False),
    UniqueConstraint("record_type", "record_id"),
    Index("ix_audit_chain_day", "day"),
)

# A closed day: the Merkle root of its chain entries, signed (Ed25519) by the installation.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("day", Date, primary_key=True),
    Column("first_seq", BigInteger),
    Column("last_seq", BigInteger),
    Column("count", BigInteger, nullable=False),
    Column("merkle_root", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
