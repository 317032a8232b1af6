"""The DATEV Buchungsstapel export (issue 13): the header by position, the 125 columns, the
character set, amounts with a decimal comma and S/H, Belegfeld 1, the BU-Schlüssel per VAT rate
in SKR03 and SKR04, and that every batch balances: after DATEV has split the VAT off the gross
revenue the way DATEV computes it, each DATEV account moves by what our ledger booked on the
ledger accounts mapped to it (so debits equal credits), for entries of every kind.

The books are in ``tests/unit/exports/datev_books.py``: a month of charges at 19 %, 7 % and
reverse charge, their invoices and receipts, a credit note, a wallet top-up and debit, card
payments, a refund, a payout with its fee, a write-off and an adjustment.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from chargeledger.adapters.exports import DatevExporter, ExportSetup, datev, exporter, known_formats
from chargeledger.adapters.exports.datev import COLUMNS
from chargeledger.adapters.exports.datev_charts import load_chart
from chargeledger.adapters.exports.datev_lines import belegfeld
from chargeledger.config import DatevSettings, Settings
from chargeledger.domain.billing import Charge, VatCategory
from chargeledger.domain.credit_notes import credit_note
from chargeledger.domain.invoicing import DocumentKind, issued
from chargeledger.domain.ledger import BANK, EntryKind, JournalEntry, Posting, customer_of
from chargeledger.domain.postings import (
    WALK_IN,
    charge_accrual,
    charge_revenue,
    credit_note_issued,
    credit_note_revenue,
    document_issued,
)
from chargeledger.errors import ConfigurationError, InvalidInputError
from chargeledger.money import Money
from chargeledger.services.billing.exporting import ExportSources
from tests.unit.exports.datev_books import (
    CREATED,
    CUSTOMERS,
    DRIVER,
    DRIVER_CHARGE,
    FLEET,
    FLEET_CHARGES,
    FLEET_INVOICE,
    LUSA,
    LUSA_CHARGE,
    PAYOUT_ID,
    PIA,
    Batch,
    D,
    books,
    charge,
    day,
    document,
    entries,
    export,
    movements,
    read,
    some,
    sources,
)

AMOUNT, SIDE, ACCOUNT, CONTRA, KEY, DAY, DOCUMENT, TEXT, EU_ID = (
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Buchungstext",
    "EU-Land u. UStID (Bestimmung)",
)
SKR03_ACCOUNTS = {
    "Assets:Receivable:Unbilled": "1410",
    "Assets:PSP": "1360",
    "Assets:Bank": "1200",
    "Liabilities:Wallets": "1700",
    "Expenses:PSPFees": "4970",
    "Expenses:BadDebt": "2400",
    "Expenses:Chargebacks": "2400",  # a chargeback lost is a receivable lost (issue 15)
    "Liabilities:Suspense:Bank": "1590",
    "Income:LatePayment:Interest": "2650",
    "Income:LatePayment": "2700",
    "Liabilities:Deferred": "1718",
    "Assets:VAT:Input:DE": "1576",
    "Expenses:RevenueShare": "4760",
    "Liabilities:Payable": "70000",  # the collective Kreditor
}
SKR04_ACCOUNTS = {
    "Assets:Receivable:Unbilled": "1210",
    "Assets:PSP": "1460",
    "Assets:Bank": "1800",
    "Liabilities:Wallets": "3500",
    "Expenses:PSPFees": "6855",
    "Expenses:BadDebt": "6930",
    "Expenses:Chargebacks": "6930",
    "Liabilities:Suspense:Bank": "1370",
    "Income:LatePayment:Interest": "7100",
    "Income:LatePayment": "4830",
    "Liabilities:Deferred": "3272",
    "Assets:VAT:Input:DE": "1406",
    "Expenses:RevenueShare": "6770",
    "Liabilities:Payable": "70000",
}
CHARTS = {
    # chart: general accounts, revenue per (category, rate), VAT account per rate
    "SKR03": (SKR03_ACCOUNTS, {("S", 19): "8400", ("S", 7): "8300", ("AE", 0): "8336"},
              {19: "1776", 7: "1771"}),
    "SKR04": (SKR04_ACCOUNTS, {("S", 19): "4400", ("S", 7): "4300", ("AE", 0): "4336"},
              {19: "3806", 7: "3801"}),
}  # fmt: skip


def batch(chart: str = "SKR03", **options: object) -> Batch:
    return read(export(settings=books(load_chart(chart)), **options))  # type: ignore[arg-type]


def lines_of(found: Batch, *titles: str) -> list[tuple[str, ...]]:
    return [found.values(row, *titles) for row in found.rows]


# --- the header and the columns ------------------------------------------------------------


@pytest.mark.parametrize(("chart", "code"), [("SKR03", "03"), ("SKR04", "04")])
def test_the_header_names_the_format_the_client_and_the_period(chart: str, code: str) -> None:
    header = batch(chart).header
    assert header == [
        "EXTF",  # 1 made by a program other than DATEV's
        "700",  # 2 header version
        "21",  # 3 format category Buchungsstapel
        "Buchungsstapel",  # 4
        "13",  # 5 format version
        "20260302093015123",  # 6 created, in the operator's time zone, to the millisecond
        "",  # 7 Importiert
        "RE",  # 8 Herkunft
        "chargeledger",  # 9 Exportiert von
        "",  # 10 Importiert von
        "29098",  # 11 Berater
        "55003",  # 12 Mandant
        "20260101",  # 13 WJ-Beginn
        "4",  # 14 Sachkontenlänge
        "20260101",  # 15 Datum vom
        "20260228",  # 16 Datum bis: the day before --to
        "Ladenetz Betrieb GmbH Januar/F",  # 17 Bezeichnung, 30 characters
        "",  # 18 Diktatkürzel
        "1",  # 19 Buchungstyp Finanzbuchführung
        "0",  # 20 Rechnungslegungszweck
        "0",  # 21 Festschreibung: left to the accountant
        "EUR",  # 22
        *[""] * 4,  # 23-26
        code,  # 27 Sachkontenrahmen
        *[""] * 4,  # 28-31
    ]


def test_text_fields_of_the_header_are_quoted_and_numbers_are_not() -> None:
    first = batch().lines[0]
    assert first.startswith('"EXTF";700;21;"Buchungsstapel";13;20260302093015123;;"RE";')
    assert ';29098;55003;20260101;4;20260101;20260228;"Ladenetz Betrieb GmbH Januar/F";' in first
    assert first.endswith(';"EUR";;"";;;"03";;;"";""')


def test_a_fiscal_year_that_starts_in_april() -> None:
    settings = dataclasses.replace(books(), fiscal_year_start=(4, 1))
    header = read(export(settings=settings, start=day("2026-01-01"), end=day("2026-02-01"))).header
    assert header[12:16] == ["20250401", "4", "20260101", "20260131"]


def test_125_columns_of_format_version_13_on_every_line() -> None:
    found = batch()
    assert len(COLUMNS) == len(found.columns) == 125
    assert found.columns[:14] == [
        "Umsatz (ohne Soll/Haben-Kz)",
        "Soll/Haben-Kennzeichen",
        "WKZ Umsatz",
        "Kurs",
        "Basis-Umsatz",
        "WKZ Basis-Umsatz",
        "Konto",
        "Gegenkonto (ohne BU-Schlüssel)",
        "BU-Schlüssel",
        "Belegdatum",
        "Belegfeld 1",
        "Belegfeld 2",
        "Skonto",
        "Buchungstext",
    ]
    assert found.columns[39] == "EU-Land u. UStID (Bestimmung)"
    assert found.columns[113] == "Festschreibung"
    assert found.columns[-1] == "Abw. Skontokonto"
    assert len(found.header) == 31
    assert {len(row) for row in found.rows} == {125}


def test_windows_1252_with_crlf_and_one_line_per_text() -> None:
    text = export()
    data = text.encode("cp1252")  # every character fits
    assert b"\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert "Gegenkonto (ohne BU-Schlüssel)".encode("cp1252") in data
    datev = exporter("datev")
    assert (datev.encoding, datev.media_type) == ("cp1252", "text/csv; charset=windows-1252")
    broken = dataclasses.replace(
        entries()[0], description='Köln "Nord"\r\nzweite Zeile\t⚡ 充电' + "x" * 80
    )
    (row,) = read(export([broken], given=sources())).rows
    text_field = row[COLUMNS.index(TEXT)]
    assert text_field.startswith('Köln "Nord" zweite Zeile ? ??xxx')  # not in Windows-1252: ?
    assert len(text_field) == 60


# --- amounts, dates, documents -------------------------------------------------------------


def test_amounts_have_a_decimal_comma_and_the_side_says_which_way() -> None:
    rows = lines_of(batch(), AMOUNT, SIDE, ACCOUNT, CONTRA, DAY)
    # 9.20 + 1.25 = 10.45 net at 19 %: 12.44 gross on the automatic revenue account
    assert ("12,44", "S", "1410", "8400", "1001") in rows
    assert ("47,40", "S", "1200", "1360", "1502") in rows  # the payout, net of its fee
    assert all("." not in amount and not amount.startswith("-") for amount, *_ in rows)
    assert {side for _, side, *_ in rows} == {"S", "H"}
    big = charge(FLEET, "2026-01-21", {"Energy": "1234.56"})  # VAT 234.5664 → 234.57
    ((amount,),) = lines_of(read(export([accrual(big)], given=with_charges(big))), AMOUNT)
    assert amount == "1469,13"  # no thousands separator


def test_belegdatum_is_day_and_month_and_belegfeld_1_the_document_number() -> None:
    rows = lines_of(batch(), DOCUMENT, DAY, TEXT)
    documents = {document for document, *_ in rows}
    assert {"INV-2026-000001", "RCT-2026-000001", "CN-2026-000001"} <= documents
    assert ("CN-2026-000001", "0502") in {(d, when) for d, when, _ in rows}
    # no document: the source id, upper case, only DATEV's characters, at most 36
    assert str(DRIVER_CHARGE.id).upper() in documents
    payout = belegfeld(PAYOUT_ID)
    assert payout == "PO1Q2W3E4R5T6Y7U8I9O0PASDFGHJKL2026-"
    assert payout in documents
    assert all(len(d) <= 36 and re.fullmatch(r"[A-Z0-9$%/-]*", d) for d in documents)
    assert all(len(text) <= 60 for *_, text in rows)


# --- VAT: automatic accounts and BU-Schlüssel ------------------------------------------------


@pytest.mark.parametrize("chart", ["SKR03", "SKR04"])
def test_revenue_goes_gross_to_the_automatic_account_of_its_rate(chart: str) -> None:
    _, revenue, _ = CHARTS[chart]
    rows = lines_of(batch(chart), AMOUNT, CONTRA, KEY)
    assert ("12,44", revenue[("S", 19)], "") in rows  # 10.45 + 1.99
    assert ("10,70", revenue[("S", 7)], "") in rows  # 10.00 + 0.70
    assert ("42,50", revenue[("AE", 0)], "") in rows  # reverse charge: no VAT
    assert {key for *_, key in rows} == {""}  # automatic accounts take no BU-Schlüssel


@pytest.mark.parametrize(("chart", "general"), [("SKR03", 8200), ("SKR04", 4200)])
def test_a_general_revenue_account_carries_the_bu_schluessel_of_each_rate(
    tmp_path: Path, chart: str, general: int
) -> None:
    overrides = tmp_path / "datev.json"
    overrides.write_text(
        json.dumps(
            {
                "revenue": [
                    {"country": "DE", "percent": "19", "account": general, "bu_key": "3"},
                    {"country": "DE", "percent": 7.0, "account": general, "bu_key": "2"},
                ]
            }
        ),
        encoding="utf-8",
    )
    found = read(export(settings=books(load_chart(chart, overrides=overrides))))
    rows = lines_of(found, AMOUNT, CONTRA, KEY)
    assert ("12,44", str(general), "3") in rows
    assert ("10,70", str(general), "2") in rows
    assert ("42,50", CHARTS[chart][1][("AE", 0)], "") in rows
    on_general = {("S", 19): str(general), ("S", 7): str(general)}
    assert movements(found, chart) == ledger_in_datev(chart, on_general)


def test_components_on_two_accounts_share_their_vat_by_the_largest_remainder(
    tmp_path: Path,
) -> None:
    overrides = tmp_path / "datev.json"
    rule = {"country": "DE", "percent": 19, "component": "Time", "account": 8200, "bu_key": "3"}
    overrides.write_text(json.dumps({"revenue": [rule]}), encoding="utf-8")
    first = FLEET_CHARGES[0]  # Energy 9.20 + Time 1.25 = 10.45, VAT 1.99
    found = read(export([accrual(first)], books(load_chart(overrides=overrides))))
    # 1.99 × 9.20 / 10.45 = 1.7519, 1.99 × 1.25 / 10.45 = 0.2380: 1.75 and 0.24
    assert lines_of(found, AMOUNT, ACCOUNT, CONTRA, KEY) == [
        ("10,95", "1410", "8400", ""),
        ("1,49", "1410", "8200", "3"),
    ]
    assert movements(found, "SKR03") == {
        "1410": D("12.44"),
        "8400": D("-9.20"),
        "8200": D("-1.25"),
        "1776": D("-1.99"),
    }


def test_a_bu_schluessel_on_an_automatic_account_is_refused(tmp_path: Path) -> None:
    overrides = tmp_path / "datev.toml"
    overrides.write_text(
        '[[revenue]]\ncountry = "DE"\npercent = "19"\naccount = 8400\nbu_key = "3"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError) as raised:
        load_chart("SKR03", overrides=overrides)
    assert raised.value.code == "invalid_setting"
    assert "8400 is an automatic account" in raised.value.message


# --- every batch balances --------------------------------------------------------------------


def ledger_in_datev(
    chart: str, revenue_override: dict[tuple[str, int], str] | None = None
) -> dict[str, Decimal]:
    """Our ledger seen through the chart, worked out here on its own: per DATEV account the
    sum of the postings of the ledger accounts mapped to it, revenue at its net per rate and
    VAT per rate (what is left on Liabilities:VAT:DE, the invoice's rounding cent, at 19 %)."""
    accounts, revenue, vat = CHARTS[chart]
    revenue = {**revenue, **(revenue_override or {})}
    debtors = {FLEET.id: "10042", PIA.id: "10043"}
    given = sources()
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries():
        treatments = given.revenue.get((entry.source_type, entry.source_id), ())
        sign = -1 if entry.kind is EntryKind.CHARGE_ACCRUED else 1
        left_on_vat = Decimal(0)
        for posting in entry.postings:
            name, amount = posting.account, posting.units.amount
            customer = customer_of(name)
            if name.startswith("Income:Charging:"):
                if not treatments:  # an allowance drawn: revenue at the advance's 19 %
                    totals[revenue[("S", 19)]] += amount
                continue
            if name == "Liabilities:VAT:DE":
                left_on_vat += amount
            elif customer is not None and name.startswith(
                (
                    "Assets:Receivable:C",
                    "Liabilities:CustomerCredit:C",
                    "Assets:Receivable:LatePayment:C",
                )
            ):
                totals[debtors.get(customer, "10000")] += amount
            else:
                totals[next(v for k, v in accounts.items() if name.startswith(k))] += amount
        for treatment in treatments:
            rate = int(treatment.percent)
            totals[revenue[(treatment.category.value, rate)]] += sign * sum(
                n for _, n in treatment.nets
            )
            if treatment.tax:
                totals[vat[rate]] += sign * treatment.tax
                left_on_vat -= sign * treatment.tax
        totals[vat[19]] += left_on_vat
    return {account: total for account, total in totals.items() if total}


@pytest.mark.parametrize("chart", ["SKR03", "SKR04"])
def test_every_batch_balances_and_moves_each_account_as_the_ledger_did(chart: str) -> None:
    kinds = {entry.kind for entry in entries()}
    assert kinds == set(EntryKind)
    found = batch(chart)
    moved = movements(found, chart)
    assert sum(moved.values()) == 0  # debits = credits, VAT included
    assert moved == ledger_in_datev(chart)
    # and entry by entry: each one's lines balance on their own
    for entry in entries():
        alone = read(export([entry], settings=books(load_chart(chart)), given=sources()))
        assert sum(movements(alone, chart).values()) == 0, entry.description


def test_the_invoice_s_rounding_cent_goes_to_the_vat_account() -> None:
    rows = lines_of(batch(), AMOUNT, SIDE, ACCOUNT, CONTRA, DOCUMENT)
    # 30.90 × 19 % = 5.87 on the invoice, 1.99 + 3.89 = 5.88 accrued by the charges
    assert ("36,77", "S", "10042", "1410", "INV-2026-000001") in rows
    assert ("0,01", "S", "1776", "1410", "INV-2026-000001") in rows
    assert FLEET_INVOICE.tax_total == D("5.87")


# --- the cases of the issue ---------------------------------------------------------------------


def test_reverse_charge_books_the_net_with_the_buyer_s_vat_id() -> None:
    rows = lines_of(batch(), AMOUNT, SIDE, ACCOUNT, CONTRA, KEY, EU_ID, DOCUMENT)
    assert (
        "42,50", "S", "1410", "8336", "", "PT501964843", str(LUSA_CHARGE.id).upper()
    ) in rows  # fmt: skip
    assert LUSA_CHARGE.vat.category is VatCategory.REVERSE_CHARGE
    assert [r for r in rows if r[5]] == [r for r in rows if r[3] == "8336"]


def test_a_credit_note_reverses_gross_revenue_on_the_customer_s_debitor() -> None:
    rows = lines_of(batch(), AMOUNT, SIDE, ACCOUNT, CONTRA, KEY, DOCUMENT, DAY)
    assert ("12,44", "H", "10042", "8400", "", "CN-2026-000001", "0502") in rows


def test_a_credit_note_of_two_rates_reverses_each_on_its_own_account() -> None:
    second = charge(DRIVER, "2026-01-13", {"Energy": "3.00", "Parking": "1.00"})  # 0.76, 4.76
    invoice = document(DocumentKind.INVOICE, [DRIVER_CHARGE, second], "INV-2026-000009", DRIVER)
    note = issued(
        credit_note(invoice, "goodwill", []), "CN-2026-000009", "CN-2026", day("2026-02-06"),
        CREATED,
    )  # fmt: skip
    found = [
        accrual(DRIVER_CHARGE), accrual(second), some(document_issued(invoice)),
        credit_note_issued(note),
    ]  # fmt: skip
    given = dataclasses.replace(
        with_charges(DRIVER_CHARGE, second),
        numbers={str(invoice.id): "INV-2026-000009", str(note.id): "CN-2026-000009"},
    )
    given = dataclasses.replace(
        given, revenue={**given.revenue, ("invoice", str(note.id)): credit_note_revenue(note)}
    )
    batch_of_two = read(export(found, given=given))
    rows = lines_of(batch_of_two, AMOUNT, SIDE, ACCOUNT, CONTRA, DOCUMENT)
    assert [r for r in rows if r[4] == "CN-2026-000009"] == [
        ("10,70", "H", "10000", "8300", "CN-2026-000009"),
        ("4,76", "H", "10000", "8400", "CN-2026-000009"),
    ]
    assert movements(batch_of_two, "SKR03") == {}  # credited in full: nothing is left


def test_a_wallet_top_up_and_a_wallet_session() -> None:
    rows = lines_of(batch(), AMOUNT, SIDE, ACCOUNT, CONTRA)
    assert ("20,00", "S", "1360", "1700") in rows  # money at the PSP, owed to the driver
    assert ("7,14", "S", "1700", "10043") in rows  # the wallet pays Pia's receipt


def test_a_psp_payout_with_its_fee() -> None:
    rows = lines_of(batch("SKR04"), AMOUNT, SIDE, ACCOUNT, CONTRA, DOCUMENT)
    payout = belegfeld(PAYOUT_ID)
    assert [r for r in rows if r[4] == payout] == [
        ("47,40", "S", "1800", "1460", payout),
        ("0,93", "S", "6855", "1460", payout),
    ]


# --- customers -----------------------------------------------------------------------------


def test_a_numeric_reference_is_the_debitor_and_the_rest_share_the_collective_one() -> None:
    rows = lines_of(batch(), ACCOUNT, DOCUMENT)
    assert ("10042", "INV-2026-000001") in rows  # reference 10042
    assert ("10000", "INV-2026-000002") in rows  # reference C-77: not a number
    assert ("10000", "INV-2026-000003") in rows  # no reference
    assert ("10000", "RCT-2026-000001") in rows  # an ad hoc payer
    assert ("10043", "RCT-2026-000002") in rows


def test_debitors_from_the_overrides_file_and_their_conflicts(tmp_path: Path) -> None:
    overrides = tmp_path / "datev.json"
    driver = next(a for a in CUSTOMERS.values() if a.reference is None)
    overrides.write_text(
        json.dumps({"debtors": {str(driver.id): 10077}, "collective_debtor": 69999}),
        encoding="utf-8",
    )
    rows = lines_of(
        read(export(settings=books(load_chart(overrides=overrides)))), ACCOUNT, DOCUMENT
    )
    assert ("10077", "INV-2026-000003") in rows
    assert ("69999", "INV-2026-000002") in rows
    overrides.write_text(json.dumps({"debtors": {str(driver.id): 10042}}), encoding="utf-8")
    with pytest.raises(InvalidInputError) as raised:
        export(settings=books(load_chart(overrides=overrides)))
    assert raised.value.code == "datev_debtor_conflict"
    taken = {**CUSTOMERS, PIA.id: dataclasses.replace(PIA, reference="10000")}
    with pytest.raises(InvalidInputError, match="collective"):
        export(given=dataclasses.replace(sources(), customers=taken))
    assert WALK_IN not in CUSTOMERS


# --- refusals ----------------------------------------------------------------------------------


def test_without_consultant_and_client_the_export_is_refused() -> None:
    for unset in (None, dataclasses.replace(books(), client=None)):
        with pytest.raises(ConfigurationError) as raised:
            DatevExporter(unset, lambda: CREATED, "UTC").export(
                entries(), start=None, end=None, title="x", sources=sources()
            )
        assert raised.value.code == "datev_not_configured"


def test_vat_of_another_country_needs_a_mapping(tmp_path: Path) -> None:
    lisbon = dataclasses.replace(
        charge(LUSA, "2026-01-25", {"Energy": "8.13"}), country="PT"
    )  # PT 23 %: 1.8699 → 1.87
    lisbon = dataclasses.replace(lisbon, vat=dataclasses.replace(lisbon.vat, percent=D(23)))
    with pytest.raises(InvalidInputError) as raised:
        export([accrual(lisbon)], given=with_charges(lisbon))
    assert (raised.value.code, raised.value.details["country"]) == ("datev_unmapped_vat", "PT")
    overrides = tmp_path / "datev.toml"
    overrides.write_text(
        "[[revenue]]\ncountry = 'PT'\npercent = 23\naccount = 8320\nvat_account = 1779\n"
        "[accounts]\n'Liabilities:VAT:PT' = 1779\n",
        encoding="utf-8",
    )
    settings = books(load_chart(overrides=overrides))
    rows = lines_of(read(export([accrual(lisbon)], settings, given=with_charges(lisbon))),
                    AMOUNT, ACCOUNT, CONTRA, KEY)  # fmt: skip
    assert rows == [("8,13", "1410", "8320", ""), ("1,87", "1410", "1779", "")]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"start": day("2026-12-01"), "end": day("2027-02-01")}, "datev_period_spans_years"),
        ({"start": None, "end": None, "found": []}, "datev_period_required"),
        ({"start": day("2026-01-02"), "end": day("2026-01-02")}, "invalid_period"),
    ],
)
def test_a_batch_lies_within_one_year(change: dict[str, object], code: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        export(**change)  # type: ignore[arg-type]
    assert raised.value.code == code


def test_a_batch_holds_at_most_99999_bookings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert datev.MAX_BOOKINGS == 99_999  # DATEV's limit per Buchungsstapel
    count = len(batch().rows)
    monkeypatch.setattr(datev, "MAX_BOOKINGS", count)
    assert len(batch().rows) == count
    monkeypatch.setattr(datev, "MAX_BOOKINGS", count - 1)
    with pytest.raises(InvalidInputError) as raised:
        batch()
    assert raised.value.code == "datev_batch_too_large"


def test_other_currencies_and_unknown_revenue_are_refused() -> None:
    swiss = dataclasses.replace(charge(FLEET, "2026-01-22", {"Energy": "5.00"}), currency="CHF")
    with pytest.raises(InvalidInputError) as raised:
        export([accrual(swiss)], given=with_charges(swiss))
    assert raised.value.code == "datev_currency_unsupported"
    with pytest.raises(InvalidInputError) as raised:
        export(given=dataclasses.replace(sources(), revenue={}))
    assert raised.value.code == "datev_vat_unknown"
    opening = JournalEntry(
        kind=EntryKind.ADJUSTMENT,
        booked_on=day("2026-01-31"),
        description="opening balance",
        postings=(
            Posting(BANK, Money.of("100.00", "EUR")),
            Posting("Equity:Opening", Money.of("-100.00", "EUR")),
        ),
        source_type="adjustment",
        source_id="opening",
    )
    with pytest.raises(InvalidInputError) as raised:
        export([opening])
    assert (raised.value.code, raised.value.details["account"]) == (
        "datev_unmapped_account",
        "Equity:Opening",
    )


# --- settings ---------------------------------------------------------------------------------


def test_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "CHARGELEDGER_DATEV_CHART": "skr04",
            "CHARGELEDGER_DATEV_CONSULTANT": "1001",
            "CHARGELEDGER_DATEV_CLIENT": "1",
            "CHARGELEDGER_DATEV_FISCAL_YEAR_START": "07-01",
            "CHARGELEDGER_DATEV_ACCOUNT_LENGTH": "5",
        }
    ).datev
    assert (settings.consultant, settings.client, settings.fiscal_year_start) == (1001, 1, (7, 1))
    chart = settings.chart
    assert (chart.name, chart.code, chart.account_length) == ("SKR04", "04", 5)
    assert chart.account("Assets:PSP:Stripe") == 14600  # padded on the right
    assert chart.debtor_numbers == range(100000, 700000)
    assert Settings.from_env({}).datev == DatevSettings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CHART", "SKR07"),
        ("CONSULTANT", "1000"),
        ("CONSULTANT", "abc"),
        ("CLIENT", "100000"),
        ("FISCAL_YEAR_START", "02-29"),
        ("FISCAL_YEAR_START", "April"),
        ("ACCOUNT_LENGTH", "9"),
        ("ACCOUNTS_FILE", "/nonexistent/datev.json"),
    ],
)
def test_invalid_settings_are_refused_with_a_stable_code(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        DatevSettings.from_env({f"CHARGELEDGER_DATEV_{name}": value})
    assert raised.value.code == "invalid_setting"
    assert f"CHARGELEDGER_DATEV_{name}" in raised.value.message


@pytest.mark.parametrize(
    "content",
    [
        '{"acounts": {}}',
        '{"accounts": {"Assets:Bank": 12000}}',
        '{"accounts": {"bank": 1200}}',
        '{"revenue": [{"country": "DE", "percent": 19, "account": 8400, "bu_key": "x"}]}',
        '{"revenue": [{"country": "DE", "percent": 19}]}',
        '{"revenue": [{"country": "DE", "category": "Z", "account": 8400}]}',
        '{"debtors": {"not-a-uuid": 10001}}',
        '{"collective_debtor": 70000}',
        "[1, 2]",
        "not json",
    ],
)
def test_an_invalid_overrides_file_is_refused(tmp_path: Path, content: str) -> None:
    overrides = tmp_path / "datev.json"
    overrides.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError) as raised:
        load_chart("SKR03", overrides=overrides)
    assert raised.value.code == "invalid_setting"
    assert str(overrides) in raised.value.message


def test_datev_is_a_known_format() -> None:
    assert "datev" in known_formats()
    setup = ExportSetup(lambda: CREATED, "Europe/Berlin", books())
    chosen = exporter(" DATEV ", setup)
    assert isinstance(chosen, DatevExporter)
    assert chosen.needs_sources
    assert chosen.export(entries(), start=day("2026-01-01"), end=date(2026, 3, 1), title="t",
                         sources=sources()) == export(title="t")  # fmt: skip


# --- helpers ----------------------------------------------------------------------------------


def accrual(charged: Charge) -> JournalEntry:
    entry = charge_accrual(charged, charged.started_at.date())
    assert entry is not None
    return entry


def with_charges(*charged: Charge) -> ExportSources:
    return dataclasses.replace(
        sources(), revenue={("charge", str(c.id)): charge_revenue(c) for c in charged}
    )
