"""wallet floors and payment stops

The operator's floor of a wallet (NULL: the operator-wide default) beside the driver's own
minimum, which may now be unset; and the stop asked of a station for payment, once per session.
Existing minimums stay the drivers' own; every account follows the operator-wide floor until
finance sets one for it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:05:37.314132
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import chargeledger.adapters.db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_DEFAULT_MINIMUM = Decimal("5.00")


def _amount() -> chargeledger.adapters.db.types.ExactDecimal:
    return chargeledger.adapters.db.types.ExactDecimal(precision=18, scale=4)


def upgrade() -> None:
    op.create_table(
        "payment_stops",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=False),
        sa.Column("cost", _amount(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=32), nullable=True),
        sa.Column(
            "requested_at",
            chargeledger.adapters.db.types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "answered_at", chargeledger.adapters.db.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_payment_stops_session_id_sessions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_payment_stops")),
    )
    with op.batch_alter_table("wallet_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("floor", _amount(), nullable=True))
        batch_op.alter_column("minimum_balance", existing_type=_amount(), nullable=True)


def downgrade() -> None:
    """The old schema has one minimum: keep the higher of the two (the old default floor for
    accounts that had none of their own)."""
    wallets = sa.table(
        "wallet_settings",
        sa.column("account_id", sa.Uuid()),
        sa.column("minimum_balance", _amount()),
        sa.column("floor", _amount()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(wallets.c.account_id, wallets.c.minimum_balance, wallets.c.floor)
    ).all()
    for account_id, own, floor in rows:
        kept = max(OLD_DEFAULT_MINIMUM if floor is None else floor, own or Decimal(0))
        bind.execute(
            wallets.update().where(wallets.c.account_id == account_id).values(minimum_balance=kept)
        )
    with op.batch_alter_table("wallet_settings", schema=None) as batch_op:
        batch_op.alter_column("minimum_balance", existing_type=_amount(), nullable=False)
        batch_op.drop_column("floor")
    op.drop_table("payment_stops")
