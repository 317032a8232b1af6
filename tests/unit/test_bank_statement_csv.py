"""The CSV bank statement (``adapters/bank/csv_statement.py``): the documented columns read
into the same statement as camt.053, and every bad file refused with its line."""

from __future__ import annotations

import re
from datetime import date

import pytest

from chargeledger.adapters.bank.csv_statement import CsvStatementReader
from chargeledger.domain.bank_statements import CONTENT_REF_PREFIX, Direction, EntryStatus
from chargeledger.errors import InvalidInputError
from tests.unit.bank_statement_samples import ACCOUNT, CUSTOMER_IBAN, RF_REFERENCE, eur

READER = CsvStatementReader()
HEADER = (
    "account_iban,booking_date,value_date,amount,currency,counterparty_name,"
    "counterparty_iban,reference,entry_ref"
)
GOOD = (
    f"{HEADER}\n"
    f"{ACCOUNT},2026-08-03,2026-08-02,119.00,EUR,Fleet Services SARL,"
    'fr14 2004 1010 0505 0001 3m02 606,"Invoice INV-2026-000042, thank you",B-1\n'
    f"{ACCOUNT},2026-08-05,,-4.90,EUR,,,Account fee,\n"
    f"{ACCOUNT},2026-08-06,,25.00,EUR,Erika Mustermann,,{RF_REFERENCE},\n"
)


def refused(line: int, message: str, data: str | bytes) -> None:
    with pytest.raises(InvalidInputError) as info:
        READER.read(data.encode() if isinstance(data, str) else data)
    assert info.value.code == "invalid_statement", info.value.as_dict()
    assert info.value.details == {"line": line}, info.value.as_dict()
    assert re.search(rf"^line {line}: .*{message}", info.value.message), info.value.message


def test_the_documented_columns_are_read() -> None:
    [statement] = READER.read(GOOD.encode())
    assert statement.statement_id.startswith("csv-")
    assert (statement.account_iban, statement.currency) == (ACCOUNT, "EUR")
    assert (statement.from_date, statement.to_date) == (date(2026, 8, 3), date(2026, 8, 6))
    assert (statement.opening_balance, statement.created_at) == (None, None)
    transfer, fee, debit = statement.entries
    assert (transfer.entry_ref, transfer.amount, transfer.direction) == (
        "B-1",
        eur("119.00"),
        Direction.CREDIT,
    )
    assert transfer.value_date == date(2026, 8, 2)
    assert transfer.counterparty_iban == CUSTOMER_IBAN
    assert transfer.remittance_unstructured == "Invoice INV-2026-000042, thank you"
    assert transfer.status is EntryStatus.BOOKED
    assert (fee.amount, fee.direction, fee.value_date) == (eur("4.90"), Direction.DEBIT, None)
    assert fee.entry_ref.startswith(CONTENT_REF_PREFIX)
    assert debit.creditor_reference == RF_REFERENCE  # the text is an RF reference
    assert READER.read(GOOD.encode()) == [statement]  # the same file, the same ids


def test_semicolons_a_byte_order_mark_and_any_column_order_are_fine() -> None:
    data = (
        "\ufeffCurrency;Amount;Booking_Date;Account_IBAN;Remittance\r\n"
        f"EUR;10.00;2026-08-03;{ACCOUNT};INV-1\r\n"
        "\r\n"
    )
    [statement] = READER.read(data.encode())
    assert statement.entries[0].remittance_unstructured == "INV-1"


@pytest.mark.parametrize(
    ("line", "message", "data"),
    [
        (1, "lacks the column.*currency", "account_iban,booking_date,amount\n"),
        (1, "unknown column.*'ammount'", f"{HEADER},ammount\n"),
        (1, "appear twice", "account_iban,booking_date,amount,currency,amount\n"),
        (1, "header but no rows", f"{HEADER}\n"),
        (3, "amount '1,50' is not a signed number", GOOD.replace("-4.90", '"1,50"')),
        (3, "amount '4.90 EUR'", GOOD.replace("-4.90", "4.90 EUR")),
        (2, "booking_date '03.08.2026' is not a date", GOOD.replace("2026-08-03", "03.08.2026")),
        (2, "value_date '2026-02-30'", GOOD.replace("2026-08-02", "2026-02-30")),
        (2, "more decimals than EUR", GOOD.replace("119.00", "119.001")),
        (4, "'XYZ' is not an ISO 4217", GOOD.replace(",25.00,EUR", ",25.00,XYZ")),
        (3, "10 fields where the header has 9", GOOD.replace("Account fee,", "Account fee,x,")),
        (
            2,
            "'DE44500105175407324932' is not a valid IBAN",
            GOOD.replace(ACCOUNT, "DE44500105175407324932", 1),
        ),
        (
            4,
            "one account in one currency",
            GOOD.replace(f"{ACCOUNT},2026-08-06", "NL91ABNA0417164300,2026-08-06"),
        ),
        (
            3,
            "entry_ref 'B-1' is already on line 2",
            GOOD.replace("Account fee,", "Account fee,B-1"),
        ),
    ],
)
def test_a_bad_file_is_refused_with_its_line(line: int, message: str, data: str) -> None:
    refused(line, message, data)


def test_a_quoted_line_break_counts_in_the_line_numbers() -> None:
    data = GOOD.replace("Account fee", '"Account\nfee"').replace("25.00", '"25,00"')
    refused(5, "amount '25,00'", data)


def test_a_file_that_is_not_utf_8_is_refused_with_its_line() -> None:
    refused(3, "not UTF-8", GOOD.encode().replace(b"Account fee", "Gebühr".encode("latin-1")))


def test_a_broken_quote_is_refused() -> None:
    refused(2, "not readable as CSV", GOOD.replace('thank you"', 'thank you"x'))
