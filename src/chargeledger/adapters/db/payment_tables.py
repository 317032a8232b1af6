"""The tables of payments, stored cards, wallets, webhooks and REST idempotency (issue 6).

No column holds a card number or a CVC: cards are PSP tokens with brand, last four and expiry.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
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

# One attempt to collect money (domain.payments.Payment): written once, never updated.
payments = Table(
    "payments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("purpose", String(16), nullable=False),
    Column("method", String(16), nullable=False),
    Column("gateway", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT")),
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="RESTRICT")),
    Column("invoice_id", Uuid, ForeignKey("invoices.id", ondelete="RESTRICT")),
    Column("id_tag", String(36)),
    Column("method_token", String(255)),
    Column("evse", String(100)),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("id_tag"),
    Index("ix_payments_session_id", "session_id"),
    Index("ix_payments_account_id_created_at", "account_id", "created_at"),
    Index("ix_payments_invoice_id", "invoice_id"),
)

# The append-only log of each payment; (payment_id, fact) makes a fact learnt twice one row.
payment_events = Table(
    "payment_events",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("payment_id", Uuid, ForeignKey("payments.id", ondelete="RESTRICT"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("fact", String(120), nullable=False),
    Column("amount", ExactDecimal(18, 4), nullable=False),
    Column("operation", String(80)),
    Column("provider_ref", String(255)),
    Column("detail", String(255)),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("payment_id", "fact"),
    Index("ix_payment_events_kind_at", "kind", "at"),
    Index("ix_payment_events_provider_ref", "provider_ref"),  # a chargeback names only this
)

# Cards stored on accounts, as the PSP describes them (token, brand, last four, expiry).
stored_cards = Table(
    "stored_cards",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False),
    Column("gateway", String(32), nullable=False),
    Column("token", String(255), nullable=False),
    Column("brand", String(32), nullable=False),
    Column("last4", String(4), nullable=False),
    Column("exp_month", Integer, nullable=False),
    Column("exp_year", Integer, nullable=False),
    Column("is_default", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("gateway", "token"),
    Index("ix_stored_cards_account_id", "account_id"),
)

# Prepaid wallet rules per account; the balance itself is the ledger's wallet account.
# ``floor`` is the operator's (NULL: the operator-wide default), ``minimum_balance`` the
# driver's own (NULL: none); the higher of the two applies.
wallet_settings = Table(
    "wallet_settings",
    metadata,
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT"), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("minimum_balance", ExactDecimal(18, 4)),
    Column("floor", ExactDecimal(18, 4)),
    Column("auto_top_up", Boolean, nullable=False),
    Column("top_up_below", ExactDecimal(18, 4), nullable=False),
    Column("top_up_amount", ExactDecimal(18, 4), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# The stop we asked of a station for payment, once per session (asked again only when it was
# refused, could not be delivered, or never answered).
payment_stops = Table(
    "payment_stops",
    metadata,
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="RESTRICT"), primary_key=True),
    Column("reason", String(32), nullable=False),
    Column("detail", String(255), nullable=False),
    Column("cost", ExactDecimal(18, 4), nullable=False),  # the session's cost when first asked
    Column("attempts", Integer, nullable=False),
    Column("answer", String(32)),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("answered_at", UtcDateTime),
)

# Every verified webhook, once per provider event id (DESIGN §2, exactly once).
webhook_receipts = Table(
    "webhook_receipts",
    metadata,
    Column("gateway", String(32), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("provider_ref", String(255)),
    Column("received_at", UtcDateTime, nullable=False),
)

# REST Idempotency-Key: the request's hash and the stored answer, kept at least 7 days.
idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("scope", String(80), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer),
    Column("body", LargeBinary),
    Column("content_type", String(100)),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_idempotency_records_created_at", "created_at"),
)

# Rejected webhooks are kept for inspection (nothing lost), without their bodies' secrets.
rejected_webhooks = Table(
    "rejected_webhooks",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("gateway", String(32), nullable=False),
    Column("code", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

# What each booked PSP payout settled (issue 13, payout reconciliation): its balance
# transactions as the PSP reported them when the payout was booked, once per PSP item id.
# ``payment_id``: our payment of the item's PSP payment, where our books know it.
payout_items = Table(
    "payout_items",
    metadata,
    Column("gateway", String(32), primary_key=True),
    Column("item_id", String(255), primary_key=True),
    Column("payout_id", String(64), nullable=False),
    Column("position", Integer, nullable=False),  # its place in the PSP's list
    Column("kind", String(16), nullable=False),
    Column("provider_ref", String(255)),
    Column("payment_id", Uuid, ForeignKey("payments.id", ondelete="RESTRICT")),
    Column("currency", String(3), nullable=False),
    Column("amount", ExactDecimal(18, 4), nullable=False),
    Column("fee", ExactDecimal(18, 4), nullable=False),
    Column("description", String(255)),
    Column("booked_at", UtcDateTime, nullable=False),
    Index("ix_payout_items_gateway_payout_id", "gateway", "payout_id"),
)
