"""Roaming partners of OCPI 2.2.1 (issue 18, ``domain.roaming``) and their eMSPs' real-time
authorisation answers (``domain.issuer_answers``), on the shared ``metadata``."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from chargeledger.adapters.db.metadata import metadata
from chargeledger.adapters.db.types import UtcDateTime

roaming_partners = Table(
    "roaming_partners",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("country_code", String(2), nullable=False),
    Column("party_id", String(3), nullable=False),
    Column("role", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    # SHA-256 hex of the token the partner presents to us; unique so a token names one partner.
    Column("incoming_digest", String(64), unique=True),
    # The token we present to the partner, sealed (``TokenBox``).
    Column("outgoing_token", String(512)),
    Column("versions_url", String(255)),
    Column("version", String(8)),
    Column("endpoints", Text, nullable=False),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # When its tokens were last pulled in full (the periodic pull's own record, not the
    # partner's: the handshake never writes it).
    Column("tokens_pulled_at", UtcDateTime),
    CheckConstraint(
        "status IN ('invited', 'registering', 'registered', 'unregistered')", name="status"
    ),
    UniqueConstraint("country_code", "party_id", "role"),
)

issuer_answers = Table(
    "issuer_answers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("uid", String(36), nullable=False),
    Column(
        "partner_id", Uuid, ForeignKey("roaming_partners.id", ondelete="RESTRICT"), nullable=False
    ),
    Column("asked_at", UtcDateTime, nullable=False),
    Column("allowed", String(16)),  # §12.4.1 AllowedType; NULL: no usable answer
    Column("reference", String(36)),
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="RESTRICT"), index=True),
    # How the partner said yes: "authorize" (§12.2.1.2) or "command" (START_SESSION, §13.3.5).
    Column("kind", String(16), nullable=False, server_default="authorize"),
    Index("ix_issuer_answers_uid_asked_at", "uid", "asked_at"),
)
