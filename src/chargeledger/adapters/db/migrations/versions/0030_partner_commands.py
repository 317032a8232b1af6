"""reservations.external_ref and issuer_answers.kind (issue 18): a roaming partner's own id of
a reservation it made (OCPI 2.2.1 §13.3.5), unique per account; and whether a partner's yes
came as a real-time authorisation or as a START_SESSION command

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reservations", sa.Column("external_ref", sa.String(length=36), nullable=True))
    op.create_index(
        "ix_reservations_account_id_external_ref",
        "reservations",
        ["account_id", "external_ref"],
        unique=True,
    )
    op.add_column(
        "issuer_answers",
        sa.Column("kind", sa.String(length=16), nullable=False, server_default="authorize"),
    )


def downgrade() -> None:
    with op.batch_alter_table("issuer_answers") as batch:
        batch.drop_column("kind")
    op.drop_index("ix_reservations_account_id_external_ref", table_name="reservations")
    with op.batch_alter_table("reservations") as batch:
        batch.drop_column("external_ref")
