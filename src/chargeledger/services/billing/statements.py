"""The port for reading bank statement files, and how a file's format is recognised.

Finance uploads what the bank gives them (DESIGN §2: receivables are reconciled with bank
statements): an ISO 20022 camt.053 document, the standard end-of-day statement of SEPA banks,
or a simple CSV export where a bank offers nothing better. Both become the domain's
:class:`~chargeledger.domain.bank_statements.Statement`; :func:`statement_format` tells them
apart from the bytes (the file name only breaks a tie), so a wrongly named file is still read
correctly and anything else is refused with a stable code instead of a parser's stack trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from chargeledger.domain.bank_statements import Statement
from chargeledger.errors import InvalidInputError

# The largest statement file read (a month of a busy operator's account is a few megabytes;
# a camt.053 entry takes about 1 kB, so this still holds some 200 000 entries).
MAX_STATEMENT_BYTES = 256 * 1024 * 1024

# A CSV statement's header names these columns (adapters/bank/csv_statement.py).
CSV_HEADER_MARKERS = ("booking_date", "amount")

_UTF8_BOM = b"\xef\xbb\xbf"
_XML_NAMES = (".xml", ".053", ".camt")
# How much of a file sniffing looks at.
_HEAD = 4096


class StatementFormat(StrEnum):
    CAMT053 = "camt.053"
    CSV = "csv"


class StatementReader(Protocol):
    """Reads one statement file into the statements it holds (a camt.053 document may hold
    several accounts' statements). Raises ``InvalidInputError`` with code
    ``invalid_statement`` (the message names the line), ``unsupported_statement_version``,
    ``unknown_statement_format`` or ``statement_too_large``; never returns a partial read."""

    def read(self, data: bytes, filename: str | None) -> list[Statement]: ...


class StatementWriter(Protocol):
    """Writes statements as a camt.053.001.08 document, checked against the official schema
    (the demo's month-end statement; benchmarks; a bank's file for a test)."""

    def camt053(
        self, statements: Sequence[Statement], *, message_id: str, created_at: datetime
    ) -> bytes: ...


def statement_format(data: bytes, filename: str | None) -> StatementFormat:
    """camt.053 when the bytes are XML (they start with ``<`` after an optional UTF-8 byte
    order mark and white space), CSV when the first line names the CSV columns; otherwise the
    name decides between an empty or damaged ``.xml`` and ``.csv`` file, which the reader then
    refuses with the reason. Anything else is ``unknown_statement_format``."""
    head = data[:_HEAD].removeprefix(_UTF8_BOM).lstrip()
    if head.startswith(b"<"):
        return StatementFormat.CAMT053
    first_line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace").lower()
    if all(marker in first_line for marker in CSV_HEADER_MARKERS):
        return StatementFormat.CSV
    name = (filename or "").lower()
    if name.endswith(_XML_NAMES):
        return StatementFormat.CAMT053
    if name.endswith(".csv"):
        return StatementFormat.CSV
    raise InvalidInputError(
        "the file is neither an ISO 20022 camt.053 statement (XML) nor a CSV statement with "
        "the documented header (booking_date, amount, ...)",
        code="unknown_statement_format",
        field="file",
    )


def check_statement_size(data: bytes, limit: int = MAX_STATEMENT_BYTES) -> None:
    """Refuse an empty file and one above ``limit`` bytes before any parser sees it."""
    if len(data) <= _HEAD and not data.removeprefix(_UTF8_BOM).strip():
        raise InvalidInputError(
            "the statement file is empty", code="invalid_statement", field="file"
        )
    if len(data) > limit:
        raise InvalidInputError(
            f"the statement file has {len(data)} bytes; at most {limit} are read",
            code="statement_too_large",
            field="file",
        )
