"""sessions.version: raised by every update, so that a session kept in memory by the OCPP edge
is written only while the stored row is the version it holds (issue 17)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 10:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN with a constant default: in place on SQLite and PostgreSQL (no copy
    # of the table, whose meter samples would cascade).
    op.add_column(
        "sessions", sa.Column("version", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    # In place as well (SQLite >= 3.35): a copy of the table would fail on its meter samples.
    op.drop_column("sessions", "version")
