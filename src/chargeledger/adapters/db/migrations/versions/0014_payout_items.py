"""what each PSP payout settled: our payout_items and the sandbox PSP's sandbox_payout_items

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-12 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chargeledger.adapters.db.types import ExactDecimal, UtcDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payout_items",
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=255), nullable=False),
        sa.Column("payout_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("provider_ref", sa.String(length=255), nullable=True),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", ExactDecimal(precision=18, scale=4), nullable=False),
        sa.Column("fee", ExactDecimal(precision=18, scale=4), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("booked_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("gateway", "item_id"),
    )
    op.create_index(
        "ix_payout_items_gateway_payout_id",
        "payout_items",
        ["gateway", "payout_id"],
        unique=False,
    )
    op.create_table(
        "sandbox_payout_items",
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("payout_id", sa.String(length=40), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("provider_ref", sa.String(length=40), nullable=True),
        sa.Column("reference", sa.String(length=255), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", ExactDecimal(precision=18, scale=4), nullable=False),
        sa.Column("fee", ExactDecimal(precision=18, scale=4), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["payout_id"], ["sandbox_payouts.payout_id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("item_id"),
    )
    op.create_index(
        "ix_sandbox_payout_items_payout_id",
        "sandbox_payout_items",
        ["payout_id"],
        unique=False,
    )
    op.create_index(
        "ix_sandbox_payout_items_currency_pending",
        "sandbox_payout_items",
        ["currency", "payout_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_sandbox_payout_items_currency_pending", table_name="sandbox_payout_items")
    op.drop_index("ix_sandbox_payout_items_payout_id", table_name="sandbox_payout_items")
    op.drop_table("sandbox_payout_items")
    op.drop_index("ix_payout_items_gateway_payout_id", table_name="payout_items")
    op.drop_table("payout_items")
