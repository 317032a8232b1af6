"""sites' position index (issue 16): the bounding-box prefilter of "locate" on the coordinates
as floats (SQLite keeps exact decimals as text, which does not sort as numbers)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 01:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_sites_position",
        "sites",
        [sa.text("CAST(latitude AS FLOAT)"), sa.text("CAST(longitude AS FLOAT)")],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_sites_position", table_name="sites")
