"""roaming_partners (issue 18): OCPI 2.2.1 platforms we roam with and their credentials

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 23:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chargeledger.adapters.db.types import UtcDateTime

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roaming_partners",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("party_id", sa.String(length=3), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("incoming_digest", sa.String(length=64), nullable=True),
        sa.Column("outgoing_token", sa.String(length=512), nullable=True),
        sa.Column("versions_url", sa.String(length=255), nullable=True),
        sa.Column("version", sa.String(length=8), nullable=True),
        sa.Column("endpoints", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('invited', 'registering', 'registered', 'unregistered')",
            name=op.f("ck_roaming_partners_status"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_roaming_partners_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roaming_partners")),
        sa.UniqueConstraint(
            "country_code",
            "party_id",
            "role",
            name=op.f("uq_roaming_partners_country_code_party_id_role"),
        ),
        sa.UniqueConstraint("incoming_digest", name=op.f("uq_roaming_partners_incoming_digest")),
    )


def downgrade() -> None:
    op.drop_table("roaming_partners")
