"""The sandbox PSP's own state (issue 11 item 13): what a real PSP would remember on its side.

These tables belong to the simulator, not to our books: nothing of ours reads them, and a
Stripe installation leaves them empty. Like a PSP, the simulator keeps no card number: a card
is its token, test behaviour, brand, last four and expiry. Ids are derived from the numbers
of one sequence, so they never repeat across restarts: the PostgreSQL sequence
``sandbox_ids`` (no lock between concurrent turns), or on SQLite, which has no sequences, the
``ids`` row of ``sandbox_counters`` (SQLite's writers take turns anyway).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    String,
    Table,
    Text,
)

from chargeledger.adapters.db.metadata import metadata
from chargeledger.adapters.db.types import ExactDecimal, UtcDateTime

sandbox_ids = Sequence("sandbox_ids", metadata=metadata)  # PostgreSQL
sandbox_counters = Table(  # SQLite: the same sequence as a row
    "sandbox_counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

sandbox_cards = Table(
    "sandbox_cards",
    metadata,
    Column("token", String(40), primary_key=True),
    Column("brand", String(32), nullable=False),
    Column("last4", String(4), nullable=False),
    Column("exp_month", Integer, nullable=False),
    Column("exp_year", Integer, nullable=False),
    Column("behaviour", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# One payment (PaymentIntent) at the PSP with what it holds, took, gave back and paid out.
sandbox_payments = Table(
    "sandbox_payments",
    metadata,
    Column("provider_ref", String(40), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("reference", String(255), nullable=False),
    Column("currency", String(3), nullable=False),
    Column(
        "token", String(40), ForeignKey("sandbox_cards.token", ondelete="RESTRICT"), nullable=False
    ),
    Column("behaviour", String(32), nullable=False),
    Column("held", ExactDecimal(18, 4), nullable=False),
    Column("captured", ExactDecimal(18, 4), nullable=False),
    Column("refunded", ExactDecimal(18, 4), nullable=False),
    Column("released", Boolean, nullable=False),
    Column("declined", String(64)),
    Column("paid_out", ExactDecimal(18, 4), nullable=False),
    Column("fee", ExactDecimal(18, 4), nullable=False),
    # Captured money or its fee not yet paid out: what the next payout looks at.
    Column("awaiting_payout", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_sandbox_payments_reference_seq", "reference", "seq"),
    Index("ix_sandbox_payments_currency_awaiting_payout", "currency", "awaiting_payout"),
)

sandbox_refunds = Table(
    "sandbox_refunds",
    metadata,
    Column("refund_ref", String(40), primary_key=True),
    Column(
        "provider_ref",
        String(40),
        ForeignKey("sandbox_payments.provider_ref", ondelete="RESTRICT"),
        nullable=False,
    ),
    Column("seq", BigInteger, nullable=False),
    Column("amount", ExactDecimal(18, 4), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_sandbox_refunds_provider_ref", "provider_ref"),
)

# The first answer to each idempotency key, with the digest of the request it answered; the
# amount as text, so that the answer given again is the very same (``50.00``, not ``50.0000``).
sandbox_answers = Table(
    "sandbox_answers",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("amount", String(40), nullable=False),
    Column("provider_ref", String(40)),
    Column("decline_code", String(64)),
    Column("refund_ref", String(40)),
    Column("created_at", UtcDateTime, nullable=False),
)

sandbox_payouts = Table(
    "sandbox_payouts",
    metadata,
    Column("payout_id", String(40), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("gross", ExactDecimal(18, 4), nullable=False),
    Column("fee", ExactDecimal(18, 4), nullable=False),
    Column("arrival", Date, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_sandbox_payouts_arrival", "arrival"),
)

# The balance transactions of payouts (issue 13, payout reconciliation): captures, refunds
# and the operator's adjustments; an adjustment waits with no payout until one settles it.
sandbox_payout_items = Table(
    "sandbox_payout_items",
    metadata,
    Column("item_id", String(40), primary_key=True),
    Column("payout_id", String(40), ForeignKey("sandbox_payouts.payout_id", ondelete="RESTRICT")),
    Column("position", Integer, nullable=False),  # its place in the payout's list
    Column("kind", String(16), nullable=False),
    Column("provider_ref", String(40)),
    Column("reference", String(255)),
    Column("currency", String(3), nullable=False),
    Column("amount", ExactDecimal(18, 4), nullable=False),
    Column("fee", ExactDecimal(18, 4), nullable=False),
    Column("description", String(255)),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_sandbox_payout_items_payout_id", "payout_id"),
    Index("ix_sandbox_payout_items_currency_pending", "currency", "payout_id"),
)

# Every event the PSP sent; those not yet accepted by the receiver are sent again.
sandbox_webhooks = Table(
    "sandbox_webhooks",
    metadata,
    Column("event_id", String(40), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
    Column("rounds", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    Index("ix_sandbox_webhooks_delivered_at", "delivered_at"),
)
