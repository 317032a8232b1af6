"""charges' stop-time index (issue 16: office pages under 200 ms): the overview's revenue by
day and this month by site and method, and the revenue report, read the charges that stopped
in a window; without it each read scans every charge ever booked

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
    op.create_index("ix_charges_stopped_at", "charges", ["stopped_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_charges_stopped_at", table_name="charges")
