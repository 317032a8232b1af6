"""Dispute cases, their events and attachments; payment events found by the PSP's ref
(a chargeback names only that) (issue 15).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 21:31:16.079447
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chargeledger.adapters.db.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "amount",
            chargeledger.adapters.db.types.ExactDecimal(precision=18, scale=4),
            nullable=True,
        ),
        sa.Column("opened_by", sa.String(length=200), nullable=False),
        sa.Column(
            "opened_at", chargeledger.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "respond_by", chargeledger.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column(
            "resolved_at", chargeledger.adapters.db.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("outcome_ref", sa.String(length=80), nullable=True),
        sa.Column("psp_dispute_id", sa.String(length=100), nullable=True),
        sa.Column("psp_gateway", sa.String(length=32), nullable=True),
        sa.Column("psp_status", sa.String(length=40), nullable=True),
        sa.Column("psp_reason", sa.String(length=100), nullable=True),
        sa.Column(
            "psp_fee",
            chargeledger.adapters.db.types.ExactDecimal(precision=18, scale=4),
            nullable=True,
        ),
        sa.Column(
            "evidence_due_by",
            chargeledger.adapters.db.types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_disputes_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_disputes_invoice_id_invoices"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_disputes_payment_id_payments"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
        sa.UniqueConstraint("number", name=op.f("uq_disputes_number")),
        sa.UniqueConstraint("psp_dispute_id", name=op.f("uq_disputes_psp_dispute_id")),
    )
    op.create_index("ix_disputes_account_id", "disputes", ["account_id"], unique=False)
    op.create_index("ix_disputes_session_id", "disputes", ["session_id"], unique=False)
    op.create_index(
        "ix_disputes_state_respond_by", "disputes", ["state", "respond_by"], unique=False
    )

    op.create_table(
        "dispute_attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dispute_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column(
            "added_at", chargeledger.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.id"],
            name=op.f("fk_dispute_attachments_dispute_id_disputes"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_attachments")),
    )
    op.create_index(
        "ix_dispute_attachments_dispute_id", "dispute_attachments", ["dispute_id"], unique=False
    )

    op.create_table(
        "dispute_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dispute_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("at", chargeledger.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("event_key", sa.String(length=160), nullable=True),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.id"],
            name=op.f("fk_dispute_events_dispute_id_disputes"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_events")),
        sa.UniqueConstraint("event_key", name=op.f("uq_dispute_events_event_key")),
    )
    op.create_index(
        "ix_dispute_events_dispute_id_at", "dispute_events", ["dispute_id", "at"], unique=False
    )

    op.create_index(
        "ix_payment_events_provider_ref", "payment_events", ["provider_ref"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_payment_events_provider_ref", table_name="payment_events")

    op.drop_index("ix_dispute_events_dispute_id_at", table_name="dispute_events")

    op.drop_table("dispute_events")
    op.drop_index("ix_dispute_attachments_dispute_id", table_name="dispute_attachments")

    op.drop_table("dispute_attachments")
    op.drop_index("ix_disputes_state_respond_by", table_name="disputes")
    op.drop_index("ix_disputes_session_id", table_name="disputes")
    op.drop_index("ix_disputes_account_id", table_name="disputes")

    op.drop_table("disputes")
