"""stored OCPP answers per boot epoch; the connection that owns a station's link state

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 12:02:23.988446
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KEY = ["charge_point_id", "message_id"]
_NEW_KEY = ["charge_point_id", "boot_epoch", "message_id"]


def upgrade() -> None:
    # Answers stored so far belong to the epoch every station starts in (0), so a repeat
    # of a message sent just before the upgrade still gets its stored answer.
    with op.batch_alter_table("ocpp_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("boot_epoch", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.drop_constraint("pk_ocpp_messages", type_="primary")
        batch_op.create_primary_key("pk_ocpp_messages", _NEW_KEY)
        batch_op.create_index("ix_ocpp_messages_received_at", ["received_at"], unique=False)
    with op.batch_alter_table("ocpp_messages", schema=None) as batch_op:
        batch_op.alter_column("boot_epoch", server_default=None)

    with op.batch_alter_table("station_states", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("boot_epoch", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("connection_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("station_states", schema=None) as batch_op:
        batch_op.drop_column("connection_id")
        batch_op.drop_column("boot_epoch")

    # Only the newest answer per message id can stay under the old key.
    op.execute(
        "DELETE FROM ocpp_messages WHERE EXISTS (SELECT 1 FROM ocpp_messages AS newer "
        "WHERE newer.charge_point_id = ocpp_messages.charge_point_id "
        "AND newer.message_id = ocpp_messages.message_id "
        "AND newer.boot_epoch > ocpp_messages.boot_epoch)"
    )
    with op.batch_alter_table("ocpp_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_ocpp_messages_received_at")
        batch_op.drop_constraint("pk_ocpp_messages", type_="primary")
        batch_op.create_primary_key("pk_ocpp_messages", _OLD_KEY)
        batch_op.drop_column("boot_epoch")
