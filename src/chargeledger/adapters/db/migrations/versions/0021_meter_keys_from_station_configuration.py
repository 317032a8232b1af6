"""meter keys from the station's configuration (issue 15): a third source, ``station_config``,
and keys filed under their EVSE when the station does not name the meter

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SOURCES_BEFORE = "source IN ('operator', 'station')"
_SOURCES = "source IN ('operator', 'station', 'station_config')"
_METER_OR_EVSE = "meter_serial IS NOT NULL OR (source = 'station_config' AND evse_id IS NOT NULL)"


def upgrade() -> None:
    with op.batch_alter_table("meter_keys", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_meter_keys_source"), type_="check")
        batch_op.alter_column("meter_serial", existing_type=sa.String(length=64), nullable=True)
        batch_op.create_check_constraint(batch_op.f("ck_meter_keys_source"), _SOURCES)
        batch_op.create_check_constraint(batch_op.f("ck_meter_keys_meter_or_evse"), _METER_OR_EVSE)


def downgrade() -> None:
    op.execute("DELETE FROM meter_keys WHERE source = 'station_config'")
    with op.batch_alter_table("meter_keys", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_meter_keys_meter_or_evse"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_meter_keys_source"), type_="check")
        batch_op.alter_column("meter_serial", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_check_constraint(batch_op.f("ck_meter_keys_source"), _SOURCES_BEFORE)
