"""The one ``MetaData`` every table module defines its tables on.

Every constraint is named (the convention below) so that unique-key violations map to stable
error codes on both back ends (``integrity.py``) and Alembic migrations name them the same way.
It lives apart from the table modules so that none of them imports another: ``schema.py``
gathers them all.
"""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
