"""Accounting exports, checked by the software that reads them.

The Beancount file is judged by Beancount itself (the loader and the ``bean-check`` script),
including a deliberately broken copy that it must reject, so the check can fail; the balances
Beancount computes must equal the sums of our postings. The CSV files are read back with the
``csv`` module: every entry balances per currency, nothing is lost or reformatted.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from hypothesis import given, settings
from hypothesis import strategies as st

from chargeledger.adapters.exports import (
    BeancountExporter,
    CsvLedgerExporter,
    exporter,
    invoices_csv,
    known_formats,
)
from chargeledger.adapters.exports.csv_formats import INVOICE_COLUMNS, LEDGER_COLUMNS
from chargeledger.domain.ledger import (
    BANK,
    PSP_FEES,
    EntryKind,
    JournalEntry,
    revenue,
    vat_payable,
)
from chargeledger.domain.postings import credit_note_issued, document_issued
from chargeledger.errors import InvalidInputError
from chargeledger.services.billing.exporting import amount_text, entries_between
from tests.unit.exports.support import (
    TRICKY,
    D,
    balanced_entries,
    bean_check,
    beancount_balances,
    beancount_text,
    entry,
    load_clean,
    our_balances,
    read_csv,
    sample_books,
    sample_invoices,
)

# --- Beancount ----------------------------------------------------------------------------


def test_bean_check_accepts_the_export(tmp_path: Path) -> None:
    ledger = tmp_path / "books.beancount"
    ledger.write_text(beancount_text(sample_books()), encoding="utf-8")
    result = bean_check(ledger)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("edit", "because"),
    [
        (("-1.90 EUR", "-1.80 EUR"), "the transaction no longer balances"),
        (("open Liabilities:VAT:DE EUR", "open Liabilities:VAT:DE CHF"), "currency not allowed"),
        (("2026-01-05 open Income:Charging:Parking", "2026-01-06 open Income:Charging:Parking"),
         "posting before the account is opened"),
    ],
)  # fmt: skip
def test_bean_check_rejects_a_broken_copy(
    tmp_path: Path, edit: tuple[str, str], because: str
) -> None:
    text = beancount_text(sample_books())
    broken = text.replace(*edit)
    assert broken != text, f"the edit for {because!r} did not apply"
    ledger = tmp_path / "broken.beancount"
    ledger.write_text(broken, encoding="utf-8")
    assert bean_check(ledger).returncode != 0, because
    assert loader.load_string(broken)[1], because


def test_beancount_computes_our_balances() -> None:
    books = sample_books()
    directives, options = load_clean(beancount_text(books))
    assert beancount_balances(directives) == our_balances(books)
    assert options["title"] == 'Books "2026" \\ Q1'
    assert options["operating_currency"] == ["CHF", "EUR"]


def test_each_entry_is_one_transaction_with_its_identity_and_text() -> None:
    books = sample_books()
    directives, _ = load_clean(beancount_text(books))
    transactions = [d for d in directives if isinstance(d, data.Transaction)]
    by_id = {str(booked.id): booked for booked in books}
    assert sorted(t.meta["entry-id"] for t in transactions) == sorted(by_id)
    for txn in transactions:
        booked = by_id[txn.meta["entry-id"]]
        assert (txn.date, txn.flag, txn.narration) == (booked.booked_on, "*", booked.description)
        assert txn.payee == booked.kind.value.replace("_", " ").capitalize()
        assert txn.meta["kind"] == booked.kind.value
        assert txn.meta["source"] == f"{booked.source_type}:{booked.source_id}"
        units = [p.units for p in txn.postings]
        assert [
            (p.account, u.number if u else None, u.currency if u else None)
            for p, u in zip(txn.postings, units, strict=True)
        ] == [(p.account, p.units.amount, p.units.currency) for p in booked.postings]
    assert any(t.narration == TRICKY for t in transactions)


def test_accounts_open_on_the_first_day_with_the_currencies_they_hold() -> None:
    directives, _ = load_clean(beancount_text(sample_books()))
    opens = {d.account: d for d in directives if isinstance(d, data.Open)}
    assert {d.date for d in opens.values()} == {date(2026, 1, 5)}
    assert opens[revenue("Energy")].currencies == ["CHF", "EUR"]
    assert opens[vat_payable("CH")].currencies == ["CHF"]
    posted = {p.account for booked in sample_books() for p in booked.postings}
    assert set(opens) == posted


def test_the_period_is_half_open_and_accounts_open_on_its_start(tmp_path: Path) -> None:
    books = sample_books()
    start, end = date(2026, 1, 7), date(2026, 2, 10)
    text = beancount_text(books, start=start, end=end)
    directives, _ = load_clean(text)
    chosen = [b for b in books if start <= b.booked_on < end]
    assert {b.booked_on for b in chosen} == {date(2026, 1, 7), date(2026, 1, 31), date(2026, 2, 3)}
    assert beancount_balances(directives) == our_balances(chosen)
    assert {d.date for d in directives if isinstance(d, data.Open)} == {start}
    ledger = tmp_path / "q.beancount"
    ledger.write_text(text, encoding="utf-8")
    assert bean_check(ledger).returncode == 0


def test_an_empty_export_is_a_valid_file() -> None:
    directives, options = load_clean(beancount_text([]))
    assert directives == []
    assert options["operating_currency"] == []


def test_entries_are_ordered_by_date_then_booking_time_then_given_order() -> None:
    day = date(2026, 3, 1)
    base = sample_books()[4]
    late = replace(base, id=uuid.uuid4(), created_at=datetime(2026, 3, 1, 12, tzinfo=UTC))
    early = replace(base, id=uuid.uuid4(), created_at=datetime(2026, 3, 1, 9))  # naive = UTC
    unsaved = [replace(base, id=uuid.uuid4(), booked_on=day) for _ in range(2)]
    before = replace(base, id=uuid.uuid4(), booked_on=day - timedelta(days=1))
    given_order = [unsaved[0], replace(late, booked_on=day), unsaved[1]]
    given_order += [replace(early, booked_on=day), before]
    ordered = entries_between(given_order, None, None)
    assert [e.id for e in ordered] == [
        before.id, early.id, late.id, unsaved[0].id, unsaved[1].id
    ]  # fmt: skip
    text = beancount_text(given_order)
    assert [text.index(str(e.id)) for e in ordered] == sorted(
        text.index(str(e.id)) for e in ordered
    )


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidInputError) as raised:
        beancount_text(sample_books(), start=date(2026, 2, 1), end=date(2026, 1, 1))
    assert (raised.value.code, raised.value.field) == ("invalid_period", "end")


def test_a_currency_beancount_cannot_read_never_reaches_the_books(tmp_path: Path) -> None:
    """A posting holds Money, whose currency is the checked ISO code: a lower-case code is
    written in capitals when the entry is made and an unknown one is refused, so no export
    meets either."""
    books = [
        entry(
            EntryKind.ADJUSTMENT, date(2026, 1, 1), "x", (BANK, "1", "eur"), (PSP_FEES, "-1", "eur")
        )
    ]
    assert [p.units.currency.code for p in books[0].postings] == ["EUR", "EUR"]
    ledger = tmp_path / "books.beancount"
    ledger.write_text(beancount_text(books), encoding="utf-8")
    result = bean_check(ledger)
    assert result.returncode == 0, result.stdout + result.stderr
    with pytest.raises(InvalidInputError) as raised:
        entry(
            EntryKind.ADJUSTMENT,
            date(2026, 1, 1),
            "x",
            (BANK, "1", "EURO"),
            (PSP_FEES, "-1", "EURO"),
        )
    assert raised.value.code == "unknown_currency"


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("10.5", "EUR", "10.50"),
        ("10.500", "EUR", "10.50"),
        ("-3.1", "EUR", "-3.10"),
        ("0.125", "EUR", "0.125"),
        ("1E+3", "EUR", "1000.00"),
        ("1500", "JPY", "1500"),
        ("1.5", "KWD", "1.500"),
        ("2", "XTS", "2.00"),
        ("1234567890123456789012345678.91", "EUR", "1234567890123456789012345678.91"),
    ],
)
def test_amounts_are_exact_with_at_least_the_minor_units(
    amount: str, currency: str, text: str
) -> None:
    assert amount_text(D(amount), currency) == text


def test_entries_booked_by_the_domain_export_cleanly(tmp_path: Path) -> None:
    invoice, note = sample_invoices()[0], sample_invoices()[2]
    books = [e for e in (document_issued(invoice), credit_note_issued(note)) if e is not None]
    ledger = tmp_path / "domain.beancount"
    ledger.write_text(beancount_text(books), encoding="utf-8")
    assert bean_check(ledger).returncode == 0
    directives, _ = load_clean(ledger.read_text(encoding="utf-8"))
    assert beancount_balances(directives) == our_balances(books)


# --- CSV ----------------------------------------------------------------------------------


def test_ledger_csv_has_one_balanced_row_per_posting() -> None:
    books = sample_books()
    header, rows = read_csv(CsvLedgerExporter().export(books, start=None, end=None, title="x"))
    assert header == list(LEDGER_COLUMNS)
    assert len(rows) == sum(len(b.postings) for b in books)
    per_entry: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    per_currency: dict[str, list[Decimal]] = defaultdict(lambda: [D(0), D(0)])
    per_account: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        assert (row["debit"] == "") != (row["credit"] == ""), row
        amount = D(row["debit"] or row["credit"])
        assert amount > 0
        signed = amount if row["debit"] else -amount
        per_entry[(row["entry_id"], row["currency"])] += signed
        per_currency[row["currency"]][0 if row["debit"] else 1] += amount
        per_account[(row["account"], row["currency"])] += signed
    assert set(per_entry.values()) == {D(0)}
    assert {c: debit - credit for c, (debit, credit) in per_currency.items()} == {
        "EUR": 0,
        "CHF": 0,
    }
    assert {k: v for k, v in per_account.items() if v} == our_balances(books)
    by_id = {str(b.id): b for b in books}
    for row in rows:
        booked = by_id[row["entry_id"]]
        assert row["description"] == booked.description
        assert row["source_id"] == booked.source_id
        assert row["booked_on"] == booked.booked_on.isoformat()
        assert row["kind"] == booked.kind.value
    assert {"8.00", "2.00", "1.90"} <= {row["credit"] for row in rows}


def test_ledger_csv_selects_the_same_entries_as_beancount() -> None:
    books, start, end = sample_books(), date(2026, 1, 7), date(2026, 2, 3)
    _, rows = read_csv(CsvLedgerExporter().export(books, start=start, end=end, title=""))
    directives, _ = load_clean(beancount_text(books, start=start, end=end))
    in_beancount = [d.meta["entry-id"] for d in directives if isinstance(d, data.Transaction)]
    in_csv = list(dict.fromkeys(row["entry_id"] for row in rows))
    assert in_csv == in_beancount
    assert len(in_csv) == 2


def test_invoice_csv_round_trip() -> None:
    invoices = sample_invoices()
    header, rows = read_csv(invoices_csv(invoices))
    assert header == list(INVOICE_COLUMNS)
    assert len(rows) == len(invoices)
    for row, invoice in zip(rows, invoices, strict=True):
        assert row["kind"] == invoice.kind.value
        assert row["status"] == invoice.status.value
        assert row["buyer_name"] == invoice.buyer.name
        assert row["buyer_vat_id"] == (invoice.buyer.vat_id or "")
        assert row["account_id"] == (str(invoice.account_id) if invoice.account_id else "")
        assert row["period_start"] == invoice.period_start.isoformat()
        assert row["period_end"] == invoice.period_end.isoformat()
        assert (D(row["net"]), D(row["tax"]), D(row["gross"])) == (
            invoice.net_total,
            invoice.tax_total,
            invoice.gross_total,
        )
        assert D(row["net"]) + D(row["tax"]) == D(row["gross"])
    issued_row, draft_row, note_row = rows
    assert (issued_row["number"], issued_row["issue_date"], issued_row["due_date"]) == (
        "INV-2026-000001",
        "2026-02-01",
        "2026-02-15",
    )
    assert (issued_row["net"], issued_row["tax"], issued_row["gross"]) == ("15.50", "2.95", "18.45")
    assert (draft_row["number"], draft_row["issue_date"], draft_row["currency"]) == ("", "", "CHF")
    assert note_row["original_number"] == "INV-2026-000001"
    assert note_row["reason"] == "Meter fault,\nsee ticket #42"
    assert (note_row["net"], note_row["gross"]) == ("5.50", "6.55")


# --- registry -----------------------------------------------------------------------------


def test_exporters_are_chosen_by_name() -> None:
    assert known_formats() == ("beancount", "csv", "datev")
    assert exporter(" Beancount ").media_type == "text/plain; charset=utf-8"
    assert isinstance(exporter("beancount"), BeancountExporter)
    assert exporter("csv").media_type == "text/csv; charset=utf-8"
    assert exporter("csv") is not exporter("csv")


def test_an_unknown_format_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInputError) as raised:
        exporter("xero")
    error = raised.value
    assert (error.code, error.field) == ("unknown_export_format", "format")
    assert "beancount" in error.message
    assert "csv" in error.message
    assert error.details["known_formats"] == ["beancount", "csv", "datev"]


# --- property: any balanced books load and balance in Beancount ----------------------------


@settings(max_examples=75, deadline=None)
@given(st.lists(balanced_entries(), max_size=8))
def test_any_balanced_books_load_and_balance_in_beancount(books: list[JournalEntry]) -> None:
    directives, _ = load_clean(beancount_text(books))
    assert beancount_balances(directives) == our_balances(books)
    narrations = sorted(d.narration or "" for d in directives if isinstance(d, data.Transaction))
    assert narrations == sorted(b.description for b in books)
