"""The transactional outbox (issue 13), on the shared ``metadata``."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text, UniqueConstraint, Uuid

from chargeledger.adapters.db.metadata import metadata
from chargeledger.adapters.db.types import UtcDateTime

# One table for announcements (channel "event") and their deliveries (e-mail, webhook):
# ``dedupe_key`` makes announcing an event and fanning it out idempotent; ``state``,
# ``attempts`` and ``claimed_until`` carry the conditional transitions of the worker.
outbox_messages = Table(
    "outbox_messages",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("event_id", Uuid, nullable=False),
    Column("dedupe_key", String(240), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("destination", String(254), nullable=False),
    Column("notice", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("claimed_until", UtcDateTime),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    Column("retried_by", String(200)),
    UniqueConstraint("dedupe_key"),
    Index("ix_outbox_messages_state_next_attempt_at", "state", "next_attempt_at"),
)
