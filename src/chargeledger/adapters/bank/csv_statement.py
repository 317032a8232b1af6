"""Reading a simple CSV bank statement, for banks that offer no camt.053 export.

One file is the statement of one account in one currency. UTF-8 (a byte order mark is fine),
fields separated by ``,`` or ``;`` (whichever the header uses), quoted as usual (RFC 4180).
The first line names the columns, in any order and case:

=====================  ========  ===================================================
column                 required  content
=====================  ========  ===================================================
``account_iban``       yes       the statement's own account; the same on every row
``booking_date``       yes       ``YYYY-MM-DD``
``value_date``         no        ``YYYY-MM-DD``
``amount``             yes       signed, decimal point, no thousands separator:
                                 ``12.50`` credits the account, ``-12.50`` debits it
``currency``           yes       ISO 4217 code, the same on every row
``counterparty_name``  no        who paid or was paid
``counterparty_iban``  no        their account
``counterparty_bic``   no        their bank
``reference``          no        the payment's text (``remittance`` is accepted as the
                                 name too); one that is an ISO 11649 ``RF`` reference
                                 also fills the creditor reference
``creditor_reference`` no        a structured reference (e.g. ``RF18539007547034``)
``end_to_end_id``      no        the payer's end-to-end id
``entry_ref``          no        the bank's unique id of the row; empty: derived from
                                 the row's content (``domain.bank_statements``)
=====================  ========  ===================================================

Every row is a booked entry. An unknown column, a missing required one or a bad value is
refused as ``invalid_statement`` with the line number. The statement's id is ``csv-`` and the
start of the file's SHA-256 (the same file always gives the same id), its period runs from the
first to the last booking date, and it has no balances.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal

from stdnum import iban as iban_numbers
from stdnum import iso11649

from chargeledger.domain.bank_statements import (
    ContentRefs,
    Direction,
    EntryStatus,
    Statement,
    StatementEntry,
)
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.money import Currency, Money
from chargeledger.services.billing.statements import MAX_STATEMENT_BYTES, check_statement_size

REQUIRED = ("account_iban", "booking_date", "amount", "currency")
OPTIONAL = (
    "value_date",
    "counterparty_name",
    "counterparty_iban",
    "counterparty_bic",
    "reference",
    "creditor_reference",
    "end_to_end_id",
    "entry_ref",
)
ALIASES = {"remittance": "reference"}
_AMOUNT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class CsvStatementReader:
    """``StatementReader`` for the CSV format of the module docstring."""

    def __init__(self, max_bytes: int = MAX_STATEMENT_BYTES) -> None:
        self._max_bytes = max_bytes

    def read(self, data: bytes, filename: str | None = None) -> list[Statement]:
        check_statement_size(data, self._max_bytes)
        rows = _rows(_text(data))
        columns = _columns(next(rows, (1, [])))
        account: str | None = None
        currency: Currency | None = None
        refs: ContentRefs | None = None
        lines_by_ref: dict[str, int] = {}
        entries: list[StatementEntry] = []
        for line, values in rows:
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(columns):
                raise _invalid(line, f"{len(values)} fields where the header has {len(columns)}")
            row = {name: value.strip() for name, value in zip(columns, values, strict=True)}
            try:
                row_account = _account(row["account_iban"])
                row_currency = Currency.of(row["currency"])
                if account is None or currency is None or refs is None:
                    account, currency, refs = row_account, row_currency, ContentRefs(row_account)
                elif (row_account, row_currency) != (account, currency):
                    raise _row_error(
                        f"a CSV statement is one account in one currency ({account}, "
                        f"{currency}); this row has {row_account}, {row_currency}"
                    )
                entry = _entry(row, row_currency)
                ref = row.get("entry_ref") or refs.ref_for([entry])
            except (ChargeledgerError, ValueError) as exc:
                raise _invalid(line, getattr(exc, "message", str(exc))) from exc
            if ref in lines_by_ref:
                raise _invalid(line, f"entry_ref {ref!r} is already on line {lines_by_ref[ref]}")
            lines_by_ref[ref] = line
            entries.append(replace(entry, entry_ref=ref))
        if account is None or currency is None:
            raise _invalid(1, "the CSV statement has a header but no rows")
        booked = [entry.booking_date for entry in entries if entry.booking_date is not None]
        return [
            Statement(
                statement_id="csv-" + hashlib.sha256(data).hexdigest()[:16],
                account_iban=account,
                currency=currency,
                created_at=None,
                from_date=min(booked),
                to_date=max(booked),
                opening_balance=None,
                closing_balance=None,
                entries=tuple(entries),
            )
        ]


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _invalid(line, "the CSV statement is not UTF-8 text") from exc


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    header = text[: text.find("\n") + 1 or len(text)]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for values in reader:
            yield start, values
            start = reader.line_num + 1
    except csv.Error as exc:
        raise _invalid(reader.line_num, f"not readable as CSV: {exc}") from exc


def _columns(header: tuple[int, list[str]]) -> list[str]:
    names = [ALIASES.get(name.strip().lower(), name.strip().lower()) for name in header[1]]
    unknown = [name for name in names if name not in REQUIRED + OPTIONAL]
    if unknown:
        raise _invalid(
            1, f"unknown column(s) {', '.join(map(repr, unknown))}; see the documented columns"
        )
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise _invalid(1, f"the header lacks the column(s) {', '.join(missing)}")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise _invalid(1, f"the column(s) {', '.join(twice)} appear twice")
    return names


def _entry(row: dict[str, str], currency: Currency) -> StatementEntry:
    amount = row["amount"]
    if not _AMOUNT.fullmatch(amount):
        raise _row_error(
            f"amount {amount!r} is not a signed number with a decimal point (e.g. -12.50)"
        )
    value = Decimal(amount)
    reference = row.get("reference") or None
    creditor_reference = row.get("creditor_reference") or None
    if creditor_reference is None and reference and iso11649.is_valid(reference):
        creditor_reference = iso11649.compact(reference)
    counterparty_iban = row.get("counterparty_iban") or None
    counterparty_bic = row.get("counterparty_bic") or None
    return StatementEntry(
        entry_ref="",
        amount=Money(abs(value), currency),
        direction=Direction.DEBIT if value < 0 else Direction.CREDIT,
        status=EntryStatus.BOOKED,
        booking_date=_date(row["booking_date"], "booking_date"),
        value_date=_date(row["value_date"], "value_date") if row.get("value_date") else None,
        counterparty_name=row.get("counterparty_name") or None,
        counterparty_iban=iban_numbers.compact(counterparty_iban) if counterparty_iban else None,
        counterparty_bic=counterparty_bic.upper() if counterparty_bic else None,
        remittance_unstructured=reference,
        creditor_reference=creditor_reference,
        end_to_end_id=row.get("end_to_end_id") or None,
    )


def _date(text: str, column: str) -> date:
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise _row_error(f"{column} {text!r} is not a date YYYY-MM-DD") from None


def _account(text: str) -> str:
    if not iban_numbers.is_valid(text):
        raise _row_error(f"account_iban {text!r} is not a valid IBAN")
    return str(iban_numbers.compact(text))


def _row_error(message: str) -> InvalidInputError:
    return InvalidInputError(message, code="invalid_statement")


def _invalid(line: int, message: str) -> InvalidInputError:
    return InvalidInputError(
        f"line {line}: {message}",
        code="invalid_statement",
        field="file",
        details={"line": line},
    )
