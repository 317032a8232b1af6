"""contracts (issue 14): partners, contracts and their versions of terms, the accounts and
sites they cover, signed documents, custom milestones, what was billed under them per period,
allowance draws, and the contract version each session started under

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 23:02:40.596075
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chargeledger.adapters.db.types import ExactDecimal, UtcDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Columns of existing tables: nullable, unindexed and unconstrained, so both back ends add and
# drop them in place.
_ADDED = (
    ("invoices", sa.Column("purchase_order", sa.String(length=64), nullable=True)),
    ("invoices", sa.Column("contract_reference", sa.String(length=40), nullable=True)),
    ("invoices", sa.Column("annex", sa.String(length=16), nullable=True)),
    ("invoice_lines", sa.Column("cost_centre", sa.String(length=64), nullable=True)),
    ("invoice_lines", sa.Column("driver", sa.String(length=64), nullable=True)),
    ("sessions", sa.Column("contract_version_id", sa.Uuid(), nullable=True)),
)


def upgrade() -> None:
    op.create_table(
        "document_files",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_document_files")),
    )
    op.create_table(
        "partners",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("vat_id", sa.String(length=20), nullable=True),
        sa.Column("iban", sa.String(length=34), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
    )
    op.create_table(
        "contracts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("partner_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("end_on", sa.Date(), nullable=True),
        sa.Column("renewal_term_months", sa.Integer(), nullable=True),
        sa.Column("notice_days", sa.Integer(), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("reminder_days", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("termination_given_on", sa.Date(), nullable=True),
        sa.Column("termination_last_day", sa.Date(), nullable=True),
        sa.Column("termination_reason", sa.Text(), nullable=True),
        sa.Column("termination_immediate", sa.Boolean(), nullable=True),
        sa.Column("terminated_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "(account_id IS NULL) <> (partner_id IS NULL)",
            name=op.f("ck_contracts_one_counterparty"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_contracts_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_contracts_partner_id_partners"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("number", name=op.f("uq_contracts_number")),
    )
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.create_index("ix_contracts_account_id", ["account_id"], unique=False)
        batch_op.create_index("ix_contracts_partner_id", ["partner_id"], unique=False)

    op.create_table(
        "contract_accounts",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_contract_accounts_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_accounts_contract_id_contracts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("contract_id", "account_id", name=op.f("pk_contract_accounts")),
    )
    with op.batch_alter_table("contract_accounts", schema=None) as batch_op:
        batch_op.create_index("ix_contract_accounts_account_id", ["account_id"], unique=False)

    op.create_table(
        "contract_billings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
        sa.Column("amount", ExactDecimal(precision=18, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_billings_contract_id_contracts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_contract_billings_invoice_id_invoices"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_billings")),
        sa.UniqueConstraint(
            "contract_id",
            "kind",
            "period_start",
            name=op.f("uq_contract_billings_contract_id_kind_period_start"),
        ),
    )
    op.create_table(
        "contract_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_documents_contract_id_contracts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_documents")),
        sa.UniqueConstraint(
            "contract_id",
            "version_number",
            "sha256",
            name=op.f("uq_contract_documents_contract_id_version_number_sha256"),
        ),
    )
    op.create_table(
        "contract_milestones",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_milestones_contract_id_contracts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_milestones")),
    )
    with op.batch_alter_table("contract_milestones", schema=None) as batch_op:
        batch_op.create_index("ix_contract_milestones_contract_id", ["contract_id"], unique=False)

    op.create_table(
        "contract_sites",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_sites_contract_id_contracts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_contract_sites_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("contract_id", "site_id", name=op.f("pk_contract_sites")),
    )
    with op.batch_alter_table("contract_sites", schema=None) as batch_op:
        batch_op.create_index("ix_contract_sites_site_id", ["site_id"], unique=False)

    op.create_table(
        "contract_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_versions_contract_id_contracts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_versions")),
        sa.UniqueConstraint(
            "contract_id", "number", name=op.f("uq_contract_versions_contract_id_number")
        ),
        sa.UniqueConstraint(
            "contract_id", "valid_from", name=op.f("uq_contract_versions_contract_id_valid_from")
        ),
    )
    op.create_table(
        "allowance_draws",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("amount", ExactDecimal(precision=18, scale=4), nullable=False),
        sa.Column("net", ExactDecimal(precision=18, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("drawn_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_allowance_draws_contract_id_contracts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_allowance_draws_session_id_sessions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allowance_draws")),
        sa.UniqueConstraint("session_id", name=op.f("uq_allowance_draws_session_id")),
    )
    with op.batch_alter_table("allowance_draws", schema=None) as batch_op:
        batch_op.create_index("ix_allowance_draws_contract_id", ["contract_id"], unique=False)

    # Columns are added and dropped in place (ALTER TABLE), never by SQLite's copy-and-move:
    # dropping the old ``sessions`` table would delete every meter sample (its foreign key
    # cascades) and fail on the charges and invoices that reference it.
    for table, column in _ADDED:
        op.add_column(table, column)


def downgrade() -> None:
    for table, column in reversed(_ADDED):
        op.drop_column(table, column.name)

    with op.batch_alter_table("allowance_draws", schema=None) as batch_op:
        batch_op.drop_index("ix_allowance_draws_contract_id")

    op.drop_table("allowance_draws")
    op.drop_table("contract_versions")
    with op.batch_alter_table("contract_sites", schema=None) as batch_op:
        batch_op.drop_index("ix_contract_sites_site_id")

    op.drop_table("contract_sites")
    with op.batch_alter_table("contract_milestones", schema=None) as batch_op:
        batch_op.drop_index("ix_contract_milestones_contract_id")

    op.drop_table("contract_milestones")
    op.drop_table("contract_documents")
    op.drop_table("contract_billings")
    with op.batch_alter_table("contract_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_contract_accounts_account_id")

    op.drop_table("contract_accounts")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_index("ix_contracts_partner_id")
        batch_op.drop_index("ix_contracts_account_id")

    op.drop_table("contracts")
    op.drop_table("partners")
    op.drop_table("document_files")
