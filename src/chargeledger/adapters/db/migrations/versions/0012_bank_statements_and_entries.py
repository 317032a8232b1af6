"""bank statements and their entries, imported once and matched to invoices

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 17:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chargeledger.adapters.db.types import ExactDecimal, UtcDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_statements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_iban", sa.String(length=34), nullable=False),
        sa.Column("statement_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=True),
        sa.Column("to_date", sa.Date(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("imported_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_iban", "statement_id"),
    )
    op.create_table(
        "bank_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("statement_id", sa.Uuid(), nullable=True),
        sa.Column("account_iban", sa.String(length=34), nullable=False),
        sa.Column("entry_ref", sa.String(length=64), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("amount", ExactDecimal(precision=18, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("entry_status", sa.String(length=4), nullable=False),
        sa.Column("reversal", sa.Boolean(), nullable=False),
        sa.Column("return_reason", sa.String(length=8), nullable=True),
        sa.Column("end_to_end_id", sa.String(length=64), nullable=True),
        sa.Column("counterparty_name", sa.String(length=140), nullable=True),
        sa.Column("counterparty_iban", sa.String(length=34), nullable=True),
        sa.Column("counterparty_bic", sa.String(length=11), nullable=True),
        sa.Column("remittance", sa.Text(), nullable=True),
        sa.Column("creditor_reference", sa.String(length=64), nullable=True),
        sa.Column("batch_ref", sa.String(length=64), nullable=True),
        sa.Column("bank_code", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=True),
        sa.Column("confidence", ExactDecimal(precision=5, scale=2), nullable=True),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("payout_id", sa.String(length=64), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("imported_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["statement_id"], ["bank_statements.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_iban", "entry_ref"),
    )
    op.create_index("ix_bank_entries_state", "bank_entries", ["state"], unique=False)
    op.create_index(
        "ix_bank_entries_end_to_end_id", "bank_entries", ["end_to_end_id"], unique=False
    )
    op.create_index("ix_bank_entries_payout_id", "bank_entries", ["payout_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bank_entries_payout_id", table_name="bank_entries")
    op.drop_index("ix_bank_entries_end_to_end_id", table_name="bank_entries")
    op.drop_index("ix_bank_entries_state", table_name="bank_entries")
    op.drop_table("bank_entries")
    op.drop_table("bank_statements")
