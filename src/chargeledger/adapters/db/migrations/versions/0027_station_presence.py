"""cluster_nodes and station_presence: which node holds which station's websocket (issue 18)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 20:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chargeledger.adapters.db.types import UtcDateTime

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cluster_nodes",
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("seen_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("node", name=op.f("pk_cluster_nodes")),
    )
    op.create_table(
        "station_presence",
        sa.Column("charge_point_id", sa.String(64), nullable=False),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("connected_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("charge_point_id", name=op.f("pk_station_presence")),
    )
    op.create_index("ix_station_presence_node", "station_presence", ["node"])


def downgrade() -> None:
    op.drop_index("ix_station_presence_node", table_name="station_presence")
    op.drop_table("station_presence")
    op.drop_table("cluster_nodes")
