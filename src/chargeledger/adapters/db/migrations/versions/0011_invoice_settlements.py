"""invoice settlements: the open-item sub-ledger an invoice's payment status is derived from

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chargeledger.adapters.db.types import ExactDecimal, UtcDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Card payments of invoices settled them until now through their payment events (captured
# less refunded); the same facts become settlements, one per event, so the derived status
# of every issued invoice stays what it was.
_BACKFILL = """
INSERT INTO invoice_settlements
    (id, invoice_id, account_id, kind, amount, currency, source, booked_at, booked_by, note)
SELECT payment_events.id, payments.invoice_id, payments.account_id, 'card',
       CASE WHEN payment_events.kind = 'refunded' THEN -payment_events.amount
            ELSE payment_events.amount END,
       payments.currency, 'payment_event:' || {event_id}, payment_events.at, NULL, NULL
FROM payment_events JOIN payments ON payments.id = payment_events.payment_id
WHERE payments.purpose = 'invoice' AND payments.invoice_id IS NOT NULL
  AND payment_events.kind IN ('captured', 'refunded') AND payment_events.amount <> 0
"""


def upgrade() -> None:
    op.create_table(
        "invoice_settlements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", ExactDecimal(precision=18, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("booked_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("booked_by", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source"),
    )
    op.create_index(
        "ix_invoice_settlements_invoice_id", "invoice_settlements", ["invoice_id"], unique=False
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    # The source names the event by its id's 32 hex digits on both back ends.
    event_id = "replace(payment_events.id::text, '-', '')" if postgres else "payment_events.id"
    op.execute(_BACKFILL.format(event_id=event_id))


def downgrade() -> None:
    op.drop_index("ix_invoice_settlements_invoice_id", table_name="invoice_settlements")
    op.drop_table("invoice_settlements")
