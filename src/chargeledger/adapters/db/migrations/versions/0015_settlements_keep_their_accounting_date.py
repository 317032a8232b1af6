"""settlements keep their accounting date (the day their ledger entry is booked on), so the
receivables can be aged as of a past day

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 22:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Settlements made before this revision are dated by the UTC day they were booked: the day
# their money was known to us (a transfer the bank booked the evening before an import is
# dated a day late; its ledger entry keeps the bank's day).
_BACKFILL = {
    "postgresql": "UPDATE invoice_settlements SET booked_on = (booked_at AT TIME ZONE 'UTC')::date",
    "sqlite": "UPDATE invoice_settlements SET booked_on = date(booked_at)",
}


def upgrade() -> None:
    op.add_column("invoice_settlements", sa.Column("booked_on", sa.Date(), nullable=True))
    op.execute(_BACKFILL[op.get_bind().dialect.name])
    with op.batch_alter_table("invoice_settlements") as batch:
        batch.alter_column("booked_on", existing_type=sa.Date(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("invoice_settlements") as batch:
        batch.drop_column("booked_on")
