"""the tamper-evident chain (issue 15): records queued for the chain, the chain itself and the
signed checkpoints of closed days; records that exist already are queued to be chained

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chargeledger.adapters.db.types import UtcDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# A UUID column as the chain names it (lower-case with hyphens): SQLite stores 32 hex digits.
_UUID_TEXT = {
    "postgresql": "CAST({column} AS TEXT)",
    "sqlite": (
        "lower(substr({column}, 1, 8) || '-' || substr({column}, 9, 4) || '-' || "
        "substr({column}, 13, 4) || '-' || substr({column}, 17, 4) || '-' || "
        "substr({column}, 21, 12))"
    ),
}
# Records written before the chain existed: queued without a hash, in the order they were
# written; the sealer hashes each as it is then (nothing vouched for them before).
_EXISTING = (
    ("journal_entry", "journal_entries", "id", "created_at", "", "created_at, id"),
    (
        "invoice",
        "invoices",
        "id",
        "COALESCE(issued_at, created_at)",
        "WHERE status <> 'draft'",
        "COALESCE(issued_at, created_at), id",
    ),
    ("payment_event", "payment_events", "id", '"at"', "", '"at", id'),
    ("signed_meter_value", "signed_meter_values", None, '"timestamp"', "", "id"),
)


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("id", _POSITION, autoincrement=True, nullable=False),
        sa.Column("record_type", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_pending")),
        sa.UniqueConstraint(
            "record_type", "record_id", name=op.f("uq_audit_pending_record_type_record_id")
        ),
    )
    op.create_table(
        "audit_chain",
        sa.Column("seq", _POSITION, autoincrement=False, nullable=False),
        sa.Column("record_type", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_chain")),
        sa.UniqueConstraint(
            "record_type", "record_id", name=op.f("uq_audit_chain_record_type_record_id")
        ),
    )
    op.create_index("ix_audit_chain_day", "audit_chain", ["day"], unique=False)
    op.create_table(
        "audit_checkpoints",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("merkle_root", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_audit_checkpoints")),
    )
    dialect = op.get_bind().dialect.name
    for record_type, table, uuid_column, written, where, order in _EXISTING:
        record_id = (
            _UUID_TEXT[dialect].format(column=uuid_column) if uuid_column else "CAST(id AS TEXT)"
        )
        op.execute(
            "INSERT INTO audit_pending (record_type, record_id, content_hash, created_at) "
            f"SELECT '{record_type}', {record_id}, NULL, {written} FROM {table} {where} "
            f"ORDER BY {order}"
        )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_index("ix_audit_chain_day", table_name="audit_chain")
    op.drop_table("audit_chain")
    op.drop_table("audit_pending")
