"""sessions keep the payment route decided when their driver was identified

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The route the code decided until now, on every read, from the account's current state
# (``domain.payment_routes.decide_payment_route``): a QR checkout's idTag without an account
# pays by card, any other stranger walks in, a prepaid account by its wallet, an app token of
# an account with an active stored card by that card, anyone else by invoice. Token uids are
# stored upper-case and looked up that way; substr() compares case-sensitively on both back
# ends, as Python's startswith() does (LIKE would not on SQLite).
_BACKFILL = """
UPDATE sessions SET payment_route = CASE
    WHEN account_id IS NULL THEN
        CASE WHEN substr(id_tag, 1, 2) = 'QR' THEN 'checkout_card' ELSE 'walk_in' END
    WHEN EXISTS (
        SELECT 1 FROM accounts
        WHERE accounts.id = sessions.account_id AND accounts.billing_mode = 'prepaid'
    ) THEN 'wallet'
    WHEN EXISTS (
        SELECT 1 FROM tokens
        WHERE tokens.uid = upper(sessions.id_tag) AND tokens.type = 'app'
    ) AND EXISTS (
        SELECT 1 FROM stored_cards
        WHERE stored_cards.account_id = sessions.account_id AND stored_cards.active
    ) THEN 'app_card'
    ELSE 'invoice'
END
"""


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "payment_route", sa.String(length=16), nullable=False, server_default="invoice"
            )
        )
    op.execute(_BACKFILL)
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.alter_column("payment_route", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("payment_route")
