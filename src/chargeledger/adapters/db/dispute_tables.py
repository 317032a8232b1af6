"""Dispute cases, their events and attachments (issue 15), on the shared ``metadata``."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
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

# A case (domain.disputes.Dispute): the state its events led to. ``psp_dispute_id`` is
# unique: a chargeback learnt from several webhooks, in any order, is one case.
disputes = Table(
    "disputes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("number", String(32), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("description", Text, nullable=False),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT")),
    Column("session_id", Uuid),
    Column("invoice_id", Uuid, ForeignKey("invoices.id", ondelete="RESTRICT")),
    Column("line", Integer),
    Column("payment_id", Uuid, ForeignKey("payments.id", ondelete="RESTRICT")),
    Column("currency", String(3), nullable=False),
    Column("amount", ExactDecimal(18, 4)),
    Column("opened_by", String(200), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("respond_by", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("resolution", String(16)),
    Column("resolution_note", Text),
    Column("resolved_by", String(200)),
    Column("resolved_at", UtcDateTime),
    Column("outcome_ref", String(80)),
    Column("psp_dispute_id", String(100)),
    Column("psp_gateway", String(32)),
    Column("psp_status", String(40)),
    Column("psp_reason", String(100)),
    Column("psp_fee", ExactDecimal(18, 4)),
    Column("evidence_due_by", UtcDateTime),
    UniqueConstraint("number"),
    UniqueConstraint("psp_dispute_id"),
    Index("ix_disputes_state_respond_by", "state", "respond_by"),
    Index("ix_disputes_account_id", "account_id"),
    Index("ix_disputes_session_id", "session_id"),
)

# Append-only: what happened to a case. ``event_key`` makes a fact learnt twice one row.
dispute_events = Table(
    "dispute_events",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("dispute_id", Uuid, ForeignKey("disputes.id", ondelete="RESTRICT"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("by", String(200), nullable=False),
    Column("note", Text),
    Column("data", JSON, nullable=False),
    Column("event_key", String(160)),
    UniqueConstraint("event_key"),
    Index("ix_dispute_events_dispute_id_at", "dispute_id", "at"),
)

dispute_attachments = Table(
    "dispute_attachments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("dispute_id", Uuid, ForeignKey("disputes.id", ondelete="RESTRICT"), nullable=False),
    Column("name", String(120), nullable=False),
    Column("media_type", String(40), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("added_by", String(200), nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    Index("ix_dispute_attachments_dispute_id", "dispute_id"),
)
