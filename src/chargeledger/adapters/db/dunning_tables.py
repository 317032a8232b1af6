"""Dunning notices and disputes on invoices (issue 13), on the shared ``metadata``."""

from __future__ import annotations

from sqlalchemy import (
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

# Append-only events of an invoice's dunning (domain.dunning.DunningEvent). ``event_key`` is
# "notice:<invoice>:<level>" for notices, so a level is sent once per invoice however many
# runs there are; a token is blocked while a notice with ``blocks_tokens`` stands open.
dunning_events = Table(
    "dunning_events",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("invoice_id", Uuid, ForeignKey("invoices.id", ondelete="RESTRICT"), nullable=False),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT")),
    Column("kind", String(16), nullable=False),
    Column("event_key", String(120), nullable=False),
    Column("on_day", Date, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("level", Integer),
    Column("title", String(200)),
    Column("final", Boolean, nullable=False),
    Column("blocks_tokens", Boolean, nullable=False),
    Column("currency", String(3)),
    Column("outstanding", ExactDecimal(18, 4)),
    Column("fee", ExactDecimal(18, 4)),
    Column("compensation", ExactDecimal(18, 4)),
    Column("interest", ExactDecimal(18, 4)),
    Column("interest_percent", ExactDecimal(7, 3)),
    Column("by", String(200)),
    Column("note", Text),
    UniqueConstraint("event_key"),
    Index("ix_dunning_events_invoice_id", "invoice_id"),
    Index("ix_dunning_events_account_id_blocks_tokens", "account_id", "blocks_tokens"),
)
