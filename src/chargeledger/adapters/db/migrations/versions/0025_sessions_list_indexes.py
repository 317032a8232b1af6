"""the sessions list's indexes end with the list's order, started_at then id (issue 17: the
list pages by a cursor on that pair); one more for the list without a filter or by time only

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 07:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (new name, columns, the index it replaces or None)
_INDEXES = (
    ("ix_sessions_started_at_id", ["started_at", "id"], None),
    (
        "ix_sessions_status_started_at_id",
        ["status", "started_at", "id"],
        ("ix_sessions_status_started_at", ["status", "started_at"]),
    ),
    (
        "ix_sessions_account_id_started_at_id",
        ["account_id", "started_at", "id"],
        ("ix_sessions_account_id_started_at", ["account_id", "started_at"]),
    ),
    (
        "ix_sessions_station_id_started_at_id",
        ["station_id", "started_at", "id"],
        ("ix_sessions_station_id_started_at", ["station_id", "started_at"]),
    ),
)


def upgrade() -> None:
    for name, columns, replaced in _INDEXES:
        op.create_index(name, "sessions", columns, unique=False)
        if replaced is not None:
            op.drop_index(replaced[0], table_name="sessions")


def downgrade() -> None:
    for name, _, replaced in _INDEXES:
        if replaced is not None:
            op.create_index(replaced[0], "sessions", replaced[1], unique=False)
        op.drop_index(name, table_name="sessions")
