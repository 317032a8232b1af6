"""The meter key registry (issue 15) on the shared ``metadata``: the public keys of each
station's calibrated meters, with their history (a retired key is kept for what it signed)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Uuid

from chargeledger.adapters.db.metadata import metadata
from chargeledger.adapters.db.types import UtcDateTime

meter_keys = Table(
    "meter_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("station_id", Uuid, ForeignKey("stations.id", ondelete="RESTRICT"), nullable=False),
    Column("evse_id", Integer),
    # None only for a key a station's configuration stated for an EVSE without its meter.
    Column("meter_serial", String(64)),
    # Lowercase hex of the SubjectPublicKeyInfo DER (domain.ocmf_keys): one spelling per key.
    Column("public_key", String(400), nullable=False),
    Column("curve", String(32), nullable=False),
    Column("source", String(16), nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("note", String(500)),
    CheckConstraint("source IN ('operator', 'station', 'station_config')", name="source"),
    CheckConstraint(
        "meter_serial IS NOT NULL OR (source = 'station_config' AND evse_id IS NOT NULL)",
        name="meter_or_evse",
    ),
    Index(None, "station_id", "meter_serial"),
)
