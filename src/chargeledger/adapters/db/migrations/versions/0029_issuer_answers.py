"""issuer_answers and tokens.contract_id/issuer_check (issue 18): OCPI 2.2.1 real-time
authorisation of roaming partners' tokens

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chargeledger.adapters.db.types import UtcDateTime

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# SQLite's batch copies of a table reflect it alone, not the tables its foreign keys name (a
# sites' expression index would only be warned about).
_ALONE = {"resolve_fks": False}


def upgrade() -> None:
    op.add_column("tokens", sa.Column("contract_id", sa.String(length=36), nullable=True))
    op.add_column("tokens", sa.Column("issuer_check", sa.String(length=16), nullable=True))
    op.create_table(
        "issuer_answers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("asked_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("allowed", sa.String(length=16), nullable=True),
        sa.Column("reference", sa.String(length=36), nullable=True),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_issuer_answers_session_id_sessions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["roaming_partners.id"],
            name=op.f("fk_issuer_answers_partner_id_roaming_partners"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issuer_answers")),
    )
    op.create_index(
        "ix_issuer_answers_uid_asked_at", "issuer_answers", ["uid", "asked_at"], unique=False
    )
    op.create_index(
        op.f("ix_issuer_answers_session_id"), "issuer_answers", ["session_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_issuer_answers_session_id"), table_name="issuer_answers")
    op.drop_index("ix_issuer_answers_uid_asked_at", table_name="issuer_answers")
    op.drop_table("issuer_answers")
    with op.batch_alter_table("tokens", reflect_kwargs=_ALONE) as batch:
        batch.drop_column("issuer_check")
        batch.drop_column("contract_id")
