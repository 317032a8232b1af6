"""Turn database integrity errors into the project's errors with stable codes.

The services check unique keys first for a friendly message; this is the race-safe backstop
for two requests that pass the check at the same moment. PostgreSQL names the violated
constraint; SQLite names the columns, from which our naming convention rebuilds the name.
"""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError

from chargeledger.adapters.db.tables import DUPLICATE_CODES
from chargeledger.errors import ChargeledgerError, ConflictError, DuplicateError

_PG_UNIQUE = re.compile(r'unique constraint "(?P<name>[^"]+)"')
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<cols>[\w., ]+)")


def _constraint_name(message: str) -> str | None:
    if match := _PG_UNIQUE.search(message):
        return match.group("name")
    if match := _SQLITE_UNIQUE.search(message):
        columns = [c.strip() for c in match.group("cols").split(",")]
        table = columns[0].split(".")[0]
        return "uq_" + table + "_" + "_".join(c.split(".")[1] for c in columns)
    return None


def translate_integrity_error(exc: IntegrityError) -> ChargeledgerError:
    message = str(exc.orig)
    name = _constraint_name(message)
    if name is not None:
        code, field = DUPLICATE_CODES.get(name, ("duplicate", ""))
        return DuplicateError(
            "a record with the same unique key exists", code=code, field=field or None
        )
    if "foreign key" in message.lower():
        return ConflictError(
            "the record is referenced by or references another record", code="reference_conflict"
        )
    return ConflictError("the change breaks a database constraint", code="constraint_violation")
