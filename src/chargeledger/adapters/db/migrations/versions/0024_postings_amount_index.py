"""postings by account and currency now also hold the amount (issue 16: office pages under
200 ms on the demo database), so the trial balance and other balances sum from the index
alone (SQLite: a quarter of the time)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 04:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_postings_account_currency_amount",
        "postings",
        ["account", "currency", "amount_minor"],
        unique=False,
    )
    op.drop_index("ix_postings_account_currency", table_name="postings")


def downgrade() -> None:
    op.create_index(
        "ix_postings_account_currency", "postings", ["account", "currency"], unique=False
    )
    op.drop_index("ix_postings_account_currency_amount", table_name="postings")
