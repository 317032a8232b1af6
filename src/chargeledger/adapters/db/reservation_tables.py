"""Reservations of EVSEs by drivers (issue 16, ``domain.reservations``) on the shared
``metadata``. A reservation's ending is written once (status, ended_at, session)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)

from chargeledger.adapters.db.metadata import metadata
from chargeledger.adapters.db.types import UtcDateTime

reservations = Table(
    "reservations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("number", BigInteger, nullable=False),
    Column("station_id", Uuid, ForeignKey("stations.id", ondelete="RESTRICT"), nullable=False),
    Column("evse_id", Integer, nullable=False),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False),
    Column("token_id", Uuid, ForeignKey("tokens.id", ondelete="RESTRICT"), nullable=False),
    Column("id_tag", String(36), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("ended_at", UtcDateTime),
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="RESTRICT")),
    # A roaming partner's own id of the reservation (OCPI 2.2.1 §13.3.5 reservation_id).
    Column("external_ref", String(36)),
    CheckConstraint("status IN ('active', 'used', 'cancelled', 'expired')", name="status"),
    UniqueConstraint("station_id", "number"),
    UniqueConstraint("session_id"),
    Index(None, "station_id", "evse_id", "status"),
    Index(None, "account_id", "created_at"),
    Index(None, "status", "expires_at"),
    Index("ix_reservations_account_id_external_ref", "account_id", "external_ref", unique=True),
)
