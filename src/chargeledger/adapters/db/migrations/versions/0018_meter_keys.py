"""meter keys (issue 15): the public keys of each station's calibrated meters, with their
history, registered by the operator or reported by the station

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 21:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chargeledger.adapters.db.types import UtcDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meter_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=True),
        sa.Column("meter_serial", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=400), nullable=False),
        sa.Column("curve", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("valid_from", UtcDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.CheckConstraint("source IN ('operator', 'station')", name=op.f("ck_meter_keys_source")),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_meter_keys_station_id_stations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_keys")),
    )
    with op.batch_alter_table("meter_keys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_meter_keys_station_id_meter_serial", ["station_id", "meter_serial"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("meter_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_meter_keys_station_id_meter_serial")
    op.drop_table("meter_keys")
