"""re-pricings of charged sessions (issue 15), and the invoice line that bills a re-pricing's
correction

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-10 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chargeledger.adapters.db.types import ExactDecimal, UtcDateTime

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _foreign_key(column: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{table}.id"],
        name=op.f(f"fk_repricings_{column}_{table}"),
        ondelete="RESTRICT",
    )


def upgrade() -> None:
    op.create_table(
        "repricings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("charge_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=300), nullable=True),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("vat_category", sa.String(length=2), nullable=False),
        sa.Column("vat_percent", ExactDecimal(precision=7, scale=3), nullable=False),
        sa.Column("vat_note", sa.Text(), nullable=True),
        sa.Column("before_tariff_id", sa.Uuid(), nullable=True),
        sa.Column("before_meter_start_wh", ExactDecimal(precision=15, scale=3), nullable=False),
        sa.Column("before_meter_stop_wh", ExactDecimal(precision=15, scale=3), nullable=False),
        sa.Column("before_energy_kwh", ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("before_components", sa.JSON(), nullable=False),
        sa.Column("tariff_id", sa.Uuid(), nullable=True),
        sa.Column("meter_start_wh", ExactDecimal(precision=15, scale=3), nullable=False),
        sa.Column("meter_stop_wh", ExactDecimal(precision=15, scale=3), nullable=False),
        sa.Column("energy_kwh", ExactDecimal(precision=20, scale=6), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("amount", ExactDecimal(precision=18, scale=4), nullable=False),
        sa.Column("owed_after", ExactDecimal(precision=18, scale=4), nullable=False),
        sa.Column("credit_note_id", sa.Uuid(), nullable=True),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        _foreign_key("account_id", "accounts"),
        _foreign_key("charge_id", "charges"),
        _foreign_key("credit_note_id", "invoices"),
        _foreign_key("session_id", "sessions"),
        _foreign_key("tariff_id", "tariffs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repricings")),
        sa.UniqueConstraint("request_key", name=op.f("uq_repricings_request_key")),
        sa.UniqueConstraint(
            "session_id", "sequence", name=op.f("uq_repricings_session_id_sequence")
        ),
    )
    # Added in place (ALTER TABLE) on both back ends, like 0016's columns: no foreign key, and a
    # unique index (not a constraint, which SQLite could only add by copying the table).
    op.add_column("invoice_lines", sa.Column("repricing_id", sa.Uuid(), nullable=True))
    op.create_index("ux_invoice_lines_repricing_id", "invoice_lines", ["repricing_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_invoice_lines_repricing_id", table_name="invoice_lines")
    op.drop_column("invoice_lines", "repricing_id")
    op.drop_table("repricings")
