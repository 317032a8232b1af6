"""billing cycles, charges, invoices, numbering and the ledger

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chargeledger.adapters.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source_type", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", chargeledger.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint(
            "kind",
            "source_type",
            "source_id",
            name=op.f("uq_journal_entries_kind_source_type_source_id"),
        ),
    )
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.create_index("ix_journal_entries_booked_on", ["booked_on"], unique=False)

    op.create_table(
        "number_series",
        sa.Column("series", sa.String(length=16), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("series", name=op.f("pk_number_series")),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("series", sa.String(length=16), nullable=True),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("seller", sa.JSON(), nullable=False),
        sa.Column("buyer", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("layout", sa.String(length=16), nullable=False),
        sa.Column("payment_terms_days", sa.Integer(), nullable=False),
        sa.Column("vat_note", sa.Text(), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("original_id", sa.Uuid(), nullable=True),
        sa.Column("original_number", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("run_key", sa.String(length=200), nullable=True),
        sa.Column("tax_overrides", sa.JSON(), nullable=False),
        sa.Column(
            "net_total",
            chargeledger.adapters.db.types.ExactDecimal(precision=18, scale=4),
            nullable=False,
        ),
        sa.Column(
            "tax_total",
            chargeledger.adapters.db.types.ExactDecimal(precision=18, scale=4),
            nullable=False,
        ),
        sa.Column(
            "gross_total",
            chargeledger.adapters.db.types.ExactDecimal(precision=18, scale=4),
            nullable=False,
        ),
        sa.Column(
            "created_at", chargeledger.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "issued_at", chargeledger.adapters.db.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_invoices_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["original_id"],
            ["invoices.id"],
            name=op.f("fk_invoices_original_id_invoices"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
        sa.UniqueConstraint("run_key", name=op.f("uq_invoices_run_key")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invoices_account_id_issue_date", ["account_id", "issue_date"], unique=False
        )
        batch_op.create_index("ix_invoices_original_id", ["original_id"], unique=False)

    op.create_table(
        "postings",
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_postings_entry_id_journal_entries"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("entry_id", "line", name=op.f("pk_postings")),
    )
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.create_index("ix_postings_account_currency", ["account", "currency"], unique=False)

    op.create_table(
        "charges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("ad_hoc", sa.Boolean(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("site_name", sa.String(length=200), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("station_name", sa.String(length=64), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "started_at", chargeledger.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "stopped_at", chargeledger.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "energy_kwh",
            chargeledger.adapters.db.types.ExactDecimal(precision=20, scale=6),
            nullable=False,
        ),
        sa.Column(
            "charging_hours",
            chargeledger.adapters.db.types.ExactDecimal(precision=20, scale=6),
            nullable=False,
        ),
        sa.Column(
            "idle_hours",
            chargeledger.adapters.db.types.ExactDecimal(precision=20, scale=6),
            nullable=False,
        ),
        sa.Column(
            "energy_net",
            chargeledger.adapters.db.types.ExactDecimal(precision=18, scale=4),
            nullable=False,
        ),
        sa.Column(
            "time_net",
            chargeledger.adapters.db.types.ExactDecimal(precision=18, scale=4),
            nullable=False,
        ),
        sa.Column(
            "parking_net",
            chargeledger.adapters.db.types.ExactDecimal(precision=18, scale=4),
            nullable=False,
        ),
        sa.Column(
            "fixed_net",
            chargeledger.adapters.db.types.ExactDecimal(precision=18, scale=4),
            nullable=False,
        ),
        sa.Column(
            "reservation_net",
            chargeledger.adapters.db.types.ExactDecimal(precision=18, scale=4),
            nullable=False,
        ),
        sa.Column("vat_category", sa.String(length=2), nullable=False),
        sa.Column(
            "vat_percent",
            chargeledger.adapters.db.types.ExactDecimal(precision=7, scale=3),
            nullable=False,
        ),
        sa.Column("vat_note", sa.Text(), nullable=True),
        sa.Column("tariff_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at", chargeledger.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_charges_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_charges_session_id_sessions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tariff_id"],
            ["tariffs.id"],
            name=op.f("fk_charges_tariff_id_tariffs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charges")),
        sa.UniqueConstraint("session_id", name=op.f("uq_charges_session_id")),
    )
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.create_index(
            "ix_charges_account_id_started_at", ["account_id", "started_at"], unique=False
        )

    op.create_table(
        "billed_charges",
        sa.Column("charge_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_id"],
            ["charges.id"],
            name=op.f("fk_billed_charges_charge_id_charges"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_billed_charges_invoice_id_invoices"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("charge_id", name=op.f("pk_billed_charges")),
    )
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "net",
            chargeledger.adapters.db.types.ExactDecimal(precision=18, scale=4),
            nullable=False,
        ),
        sa.Column("vat_category", sa.String(length=2), nullable=False),
        sa.Column(
            "vat_percent",
            chargeledger.adapters.db.types.ExactDecimal(precision=7, scale=3),
            nullable=False,
        ),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("charge_id", sa.Uuid(), nullable=True),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("site_name", sa.String(length=200), nullable=False),
        sa.Column("station_name", sa.String(length=64), nullable=False),
        sa.Column("local_start", sa.String(length=40), nullable=True),
        sa.Column(
            "energy_kwh",
            chargeledger.adapters.db.types.ExactDecimal(precision=20, scale=6),
            nullable=False,
        ),
        sa.Column(
            "charging_hours",
            chargeledger.adapters.db.types.ExactDecimal(precision=20, scale=6),
            nullable=False,
        ),
        sa.Column(
            "idle_hours",
            chargeledger.adapters.db.types.ExactDecimal(precision=20, scale=6),
            nullable=False,
        ),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_id"],
            ["charges.id"],
            name=op.f("fk_invoice_lines_charge_id_charges"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_lines_invoice_id_invoices"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("invoice_id", "position", name=op.f("pk_invoice_lines")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "billing_cycle", sa.String(length=16), server_default="monthly", nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("billing_cycle")

    op.drop_table("invoice_lines")
    op.drop_table("billed_charges")
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.drop_index("ix_charges_account_id_started_at")

    op.drop_table("charges")
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.drop_index("ix_postings_account_currency")

    op.drop_table("postings")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_original_id")
        batch_op.drop_index("ix_invoices_account_id_issue_date")

    op.drop_table("invoices")
    op.drop_table("number_series")
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_journal_entries_booked_on")

    op.drop_table("journal_entries")
