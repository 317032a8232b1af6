"""Contracts (issue 14) on the shared ``metadata``: partners, contracts, their versions of
terms, the accounts and sites they cover, signed documents, custom milestones, and what was
billed under them once per period."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from chargeledger.adapters.db.metadata import metadata
from chargeledger.adapters.db.types import ExactDecimal, UtcDateTime

partners = Table(
    "partners",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=False),
    Column("street", String(200), nullable=False),
    Column("postal_code", String(20), nullable=False),
    Column("city", String(100), nullable=False),
    Column("country", String(2), nullable=False),
    Column("vat_id", String(20)),
    Column("iban", String(34)),
    Column("created_at", UtcDateTime, nullable=False),
)

# One row per contract; its life (dates, renewal, termination) is ``domain.contracts.Contract``
# and its status is derived from it, never stored. A termination is the one change made to a
# row (the contract's terms never change: they are versions).
contracts = Table(
    "contracts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("number", String(40), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("title", String(200), nullable=False),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT")),
    Column("partner_id", Uuid, ForeignKey("partners.id", ondelete="RESTRICT")),
    Column("currency", String(3), nullable=False),
    Column("start_on", Date, nullable=False),
    Column("end_on", Date),
    Column("renewal_term_months", Integer),
    Column("notice_days", Integer),
    Column("signed_on", Date),
    Column("reminder_days", Integer, nullable=False),
    Column("contacts", JSON, nullable=False),
    Column("termination_given_on", Date),
    Column("termination_last_day", Date),
    Column("termination_reason", Text),
    Column("termination_immediate", Boolean),
    Column("terminated_by", String(200)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    UniqueConstraint("number"),
    CheckConstraint("(account_id IS NULL) <> (partner_id IS NULL)", name="one_counterparty"),
    Index("ix_contracts_account_id", "account_id"),
    Index("ix_contracts_partner_id", "partner_id"),
)

# Append-only: an amendment is a new version valid from a day (DESIGN §2).
contract_versions = Table(
    "contract_versions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("contract_id", Uuid, ForeignKey("contracts.id", ondelete="RESTRICT"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("summary", Text, nullable=False),
    Column("terms", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    UniqueConstraint("contract_id", "number"),
    UniqueConstraint("contract_id", "valid_from"),
)

# The customer accounts a contract prices and bills (a fleet's own account; an OEM bundle's
# drivers), and the sites it concerns (a site host's).
contract_accounts = Table(
    "contract_accounts",
    metadata,
    Column("contract_id", Uuid, ForeignKey("contracts.id", ondelete="RESTRICT"), primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT"), primary_key=True),
    Column("added_at", UtcDateTime, nullable=False),
    Index("ix_contract_accounts_account_id", "account_id"),
)

contract_sites = Table(
    "contract_sites",
    metadata,
    Column("contract_id", Uuid, ForeignKey("contracts.id", ondelete="RESTRICT"), primary_key=True),
    Column("site_id", Uuid, ForeignKey("sites.id", ondelete="RESTRICT"), primary_key=True),
    Column("added_at", UtcDateTime, nullable=False),
    Index("ix_contract_sites_site_id", "site_id"),
)

# The bytes of uploaded documents, once per content (SHA-256): in the database, so every node
# of a cluster serves them and an upload commits with its record.
document_files = Table(
    "document_files",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("content", LargeBinary, nullable=False),
    Column("stored_at", UtcDateTime, nullable=False),
)

# Signed PDFs per version; their bytes are in ``document_files``.
contract_documents = Table(
    "contract_documents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("contract_id", Uuid, ForeignKey("contracts.id", ondelete="RESTRICT"), nullable=False),
    Column("version_number", Integer, nullable=False),
    Column("filename", String(120), nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("uploaded_at", UtcDateTime, nullable=False),
    Column("uploaded_by", String(200), nullable=False),
    UniqueConstraint("contract_id", "version_number", "sha256"),
)

# Milestones finance adds by hand (price and commitment reviews, custom); the renewal, notice
# deadline and end milestones are derived from the contract.
contract_milestones = Table(
    "contract_milestones",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("contract_id", Uuid, ForeignKey("contracts.id", ondelete="RESTRICT"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("title", String(200), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Index("ix_contract_milestones_contract_id", "contract_id"),
)

# What a contract billed once per period (a commitment shortfall, fees, a revenue share's
# self-billed document, an allowance sold): the unique key makes a rerun bill nothing twice.
contract_billings = Table(
    "contract_billings",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("contract_id", Uuid, ForeignKey("contracts.id", ondelete="RESTRICT"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("invoice_id", Uuid, ForeignKey("invoices.id", ondelete="RESTRICT")),
    Column("amount", ExactDecimal(18, 4), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("contract_id", "kind", "period_start"),
)

# The OEM allowance a session drew: once per session, in the allowance's unit.
allowance_draws = Table(
    "allowance_draws",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("contract_id", Uuid, ForeignKey("contracts.id", ondelete="RESTRICT"), nullable=False),
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="RESTRICT"), nullable=False),
    Column("unit", String(8), nullable=False),
    Column("amount", ExactDecimal(18, 4), nullable=False),
    Column("net", ExactDecimal(18, 4), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("drawn_at", UtcDateTime, nullable=False),
    UniqueConstraint("session_id"),
    Index("ix_allowance_draws_contract_id", "contract_id"),
)
