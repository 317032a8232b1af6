"""reservations.external_ref, issuer_answers.kind and roaming_partners.tokens_pulled_at
(issue 18): a roaming partner's own id of a reservation it made (OCPI 2.2.1 §13.3.5), unique
per account; whether a partner's yes came as a real-time authorisation or as a START_SESSION
command; and when its tokens were last pulled (the periodic pull)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chargeledger.adapters.db.types import UtcDateTime

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# SQLite's batch copies of a table reflect it alone, not the tables its foreign keys name (a
# sites' expression index would only be warned about).
_ALONE = {"resolve_fks": False}


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
    op.add_column(
        "roaming_partners", sa.Column("tokens_pulled_at", UtcDateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("roaming_partners", reflect_kwargs=_ALONE) as batch:
        batch.drop_column("tokens_pulled_at")
    with op.batch_alter_table("issuer_answers", reflect_kwargs=_ALONE) as batch:
        batch.drop_column("kind")
    op.drop_index("ix_reservations_account_id_external_ref", table_name="reservations")
    with op.batch_alter_table("reservations", reflect_kwargs=_ALONE) as batch:
        batch.drop_column("external_ref")
