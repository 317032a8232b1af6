"""The tables of billing, invoicing and the ledger (issue 5), on the shared ``metadata``."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from chargeledger.adapters.db.metadata import metadata
from chargeledger.adapters.db.types import ExactDecimal, UtcDateTime

# --- billing, invoicing and the ledger (issue 5) --------------------------------------------

# A priced session as billed (domain.billing.Charge): append-only, one per session.
charges = Table(
    "charges",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="RESTRICT"), nullable=False),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT")),
    Column("ad_hoc", Boolean, nullable=False),
    Column("site_id", Uuid, nullable=False),
    Column("site_name", String(200), nullable=False),
    Column("station_id", Uuid, nullable=False),
    Column("station_name", String(64), nullable=False),
    Column("evse_id", Integer, nullable=False),
    Column("country", String(2), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("stopped_at", UtcDateTime, nullable=False),
    Column("energy_kwh", ExactDecimal(20, 6), nullable=False),
    Column("charging_hours", ExactDecimal(20, 6), nullable=False),
    Column("idle_hours", ExactDecimal(20, 6), nullable=False),
    Column("energy_net", ExactDecimal(18, 4), nullable=False),
    Column("time_net", ExactDecimal(18, 4), nullable=False),
    Column("parking_net", ExactDecimal(18, 4), nullable=False),
    Column("fixed_net", ExactDecimal(18, 4), nullable=False),
    Column("reservation_net", ExactDecimal(18, 4), nullable=False),
    Column("vat_category", String(2), nullable=False),
    Column("vat_percent", ExactDecimal(7, 3), nullable=False),
    Column("vat_note", Text),
    Column("tariff_id", Uuid, ForeignKey("tariffs.id", ondelete="RESTRICT")),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("session_id"),
    Index("ix_charges_account_id_started_at", "account_id", "started_at"),
)

# Invoices, receipts and credit notes. Issued documents are never updated (DESIGN §2).
invoices = Table(
    "invoices",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("series", String(16)),
    Column("number", String(32)),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT")),
    Column("seller", JSON, nullable=False),
    Column("buyer", JSON, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("layout", String(16), nullable=False),
    Column("payment_terms_days", Integer, nullable=False),
    Column("vat_note", Text),
    Column("issue_date", Date),
    Column("due_date", Date),
    Column("original_id", Uuid, ForeignKey("invoices.id", ondelete="RESTRICT")),
    Column("original_number", String(32)),
    Column("reason", Text),
    Column("run_key", String(200)),
    Column("tax_overrides", JSON, nullable=False),
    Column("purchase_order", String(64)),  # EN 16931 BT-13 (issue 14)
    Column("contract_reference", String(40)),  # EN 16931 BT-12 (issue 14)
    Column("annex", String(16)),  # a contract's annex grouping (issue 14)
    Column("net_total", ExactDecimal(18, 4), nullable=False),
    Column("tax_total", ExactDecimal(18, 4), nullable=False),
    Column("gross_total", ExactDecimal(18, 4), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("issued_at", UtcDateTime),
    UniqueConstraint("number"),
    UniqueConstraint("run_key"),
    Index("ix_invoices_account_id_issue_date", "account_id", "issue_date"),
    Index("ix_invoices_original_id", "original_id"),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("invoice_id", Uuid, ForeignKey("invoices.id", ondelete="RESTRICT"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("description", Text, nullable=False),
    Column("net", ExactDecimal(18, 4), nullable=False),
    Column("vat_category", String(2), nullable=False),
    Column("vat_percent", ExactDecimal(7, 3), nullable=False),
    Column("country", String(2)),
    Column("charge_id", Uuid, ForeignKey("charges.id", ondelete="RESTRICT")),
    Column("session_id", Uuid),
    Column("site_name", String(200), nullable=False),
    Column("station_name", String(64), nullable=False),
    Column("local_start", String(40)),
    Column("energy_kwh", ExactDecimal(20, 6), nullable=False),
    Column("charging_hours", ExactDecimal(20, 6), nullable=False),
    Column("idle_hours", ExactDecimal(20, 6), nullable=False),
    Column("components", JSON, nullable=False),
    Column("cost_centre", String(64)),  # EN 16931 BT-133 (issue 14)
    Column("driver", String(64)),  # the card that charged, for a contract's annex (issue 14)
    # The re-pricing whose correction the line bills (issue 15): billed once, on one document
    # (credit notes do not carry it). No foreign key: added in place on both back ends.
    Column("repricing_id", Uuid),
    Index("ux_invoice_lines_repricing_id", "repricing_id", unique=True),
)

# A charge is billed once: on one invoice or receipt (credit notes do not count).
billed_charges = Table(
    "billed_charges",
    metadata,
    Column("charge_id", Uuid, ForeignKey("charges.id", ondelete="RESTRICT"), primary_key=True),
    Column("invoice_id", Uuid, ForeignKey("invoices.id", ondelete="RESTRICT"), nullable=False),
)

# A charged session re-priced (issue 15, domain.repricing.Repricing): append-only, numbered per
# session (two re-pricings can never both start from the same price), once per request key.
# ``before_*`` is what the session stood at, the rest its new price; components are nets.
repricings = Table(
    "repricings",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="RESTRICT"), nullable=False),
    Column("charge_id", Uuid, ForeignKey("charges.id", ondelete="RESTRICT"), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("request_key", String(300)),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT")),
    Column("currency", String(3), nullable=False),
    Column("country", String(2), nullable=False),
    Column("vat_category", String(2), nullable=False),
    Column("vat_percent", ExactDecimal(7, 3), nullable=False),
    Column("vat_note", Text),
    Column("before_tariff_id", Uuid),
    Column("before_meter_start_wh", ExactDecimal(15, 3), nullable=False),
    Column("before_meter_stop_wh", ExactDecimal(15, 3), nullable=False),
    Column("before_energy_kwh", ExactDecimal(20, 6), nullable=False),
    Column("before_components", JSON, nullable=False),
    Column("tariff_id", Uuid, ForeignKey("tariffs.id", ondelete="RESTRICT")),
    Column("meter_start_wh", ExactDecimal(15, 3), nullable=False),
    Column("meter_stop_wh", ExactDecimal(15, 3), nullable=False),
    Column("energy_kwh", ExactDecimal(20, 6), nullable=False),
    Column("components", JSON, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("amount", ExactDecimal(18, 4), nullable=False),
    Column("owed_after", ExactDecimal(18, 4), nullable=False),
    Column("credit_note_id", Uuid, ForeignKey("invoices.id", ondelete="RESTRICT")),
    Column("payment_id", Uuid),
    Column("reason", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("booked_on", Date, nullable=False),
    UniqueConstraint("session_id", "sequence"),
    UniqueConstraint("request_key"),
)

# Gap-free numbering: the counter row of a series is incremented in the issuing transaction,
# so a rollback gives the number back and concurrent issuers wait on the row.
number_series = Table(
    "number_series",
    metadata,
    Column("series", String(16), primary_key=True),
    Column("last_number", Integer, nullable=False),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("booked_on", Date, nullable=False),
    Column("description", Text, nullable=False),
    Column("source_type", String(32), nullable=False),
    Column("source_id", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # One booking per event: a replay finds the entry it already made (exactly once).
    UniqueConstraint("kind", "source_type", "source_id"),
    Index("ix_journal_entries_booked_on", "booked_on"),
)

postings = Table(
    "postings",
    metadata,
    Column(
        "entry_id", Uuid, ForeignKey("journal_entries.id", ondelete="RESTRICT"), primary_key=True
    ),
    Column("line", Integer, primary_key=True),
    Column("account", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    # Integer minor units (cents): exact sums in SQL on both back ends.
    Column("amount_minor", BigInteger, nullable=False),
    # balances sum from the index alone (issue 16: the trial balance)
    Index("ix_postings_account_currency_amount", "account", "currency", "amount_minor"),
)

# --- receivables (issue 13) ------------------------------------------------------------------

# Money set against an invoice (domain.receivables.Settlement): append-only, one row per
# source (a payment event, a bank statement entry, a finance user's booking), so a replayed
# import or webhook settles nothing twice. The invoice's status is derived from these rows.
invoice_settlements = Table(
    "invoice_settlements",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("invoice_id", Uuid, ForeignKey("invoices.id", ondelete="RESTRICT"), nullable=False),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT")),
    Column("kind", String(16), nullable=False),
    Column("amount", ExactDecimal(18, 4), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("source", String(200), nullable=False),
    Column("booked_at", UtcDateTime, nullable=False),
    Column("booked_by", String(200)),
    Column("note", Text),
    # The accounting day (its ledger entry's): what the receivables owed on a past day.
    Column("booked_on", Date, nullable=False),
    UniqueConstraint("source"),
    Index("ix_invoice_settlements_invoice_id", "invoice_id"),
)

# A bank statement as imported (camt.053 or CSV): one row per (account, the bank's id).
bank_statements = Table(
    "bank_statements",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_iban", String(34), nullable=False),
    Column("statement_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("from_date", Date),
    Column("to_date", Date),
    Column("created_at", UtcDateTime),
    Column("imported_at", UtcDateTime, nullable=False),
    Column("imported_by", String(200)),
    Column("filename", String(255)),
    UniqueConstraint("account_iban", "statement_id"),
)

# Every entry of every statement, once per (account, entry reference): importing a file again,
# or a statement that overlaps an earlier one, adds only what is new. ``state`` is the one
# thing that changes (unmatched -> decided by finance), with who decided it and when.
bank_entries = Table(
    "bank_entries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("statement_id", Uuid, ForeignKey("bank_statements.id", ondelete="RESTRICT")),
    Column("account_iban", String(34), nullable=False),
    Column("entry_ref", String(64), nullable=False),
    Column("booking_date", Date),
    Column("value_date", Date),
    Column("amount", ExactDecimal(18, 4), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("direction", String(4), nullable=False),
    Column("entry_status", String(4), nullable=False),
    Column("reversal", Boolean, nullable=False),
    Column("return_reason", String(8)),
    Column("end_to_end_id", String(64)),
    Column("counterparty_name", String(140)),
    Column("counterparty_iban", String(34)),
    Column("counterparty_bic", String(11)),
    Column("remittance", Text),
    Column("creditor_reference", String(64)),
    Column("batch_ref", String(64)),
    Column("bank_code", String(64)),
    Column("state", String(16), nullable=False),
    Column("rule", String(32)),
    Column("confidence", ExactDecimal(5, 2)),
    Column("invoice_id", Uuid, ForeignKey("invoices.id", ondelete="RESTRICT")),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT")),
    Column("payout_id", String(64)),  # the PSP payout this bank line brought in
    Column("decided_by", String(200)),
    Column("decided_at", UtcDateTime),
    Column("note", Text),
    Column("imported_at", UtcDateTime, nullable=False),
    UniqueConstraint("account_iban", "entry_ref"),
    Index("ix_bank_entries_state", "state"),
    Index("ix_bank_entries_end_to_end_id", "end_to_end_id"),
    Index("ix_bank_entries_payout_id", "payout_id"),
)
