"""Reports (issue 13) on SQLite and PostgreSQL, each reconciled to the ledger: the aging total
is the balance of the customers' receivables (and their unapplied credit that of
``Liabilities:CustomerCredit``), the DSO's credit sales are the invoices booked in its window;
served as JSON, CSV and XLSX to finance, and to a fleet manager for their own account only."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import openpyxl

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.ledger import EntryKind
from chargeledger.domain.receivables import PaymentStatus
from chargeledger.domain.reports import days_sales_outstanding, days_up_to, report_period
from chargeledger.services.billing import reports
from chargeledger.services.ports import InvoiceFilter
from chargeledger.services.transactions import reading
from tests.conftest import LoginAs
from tests.integration.billing_api import configure_operator, error_code
from tests.integration.billing_world import (
    ChargeSpec,
    book_charges,
    create_customer,
    run_month,
    utc,
)
from tests.integration.report_world import OUTSTANDING, receivables_world

API = "/api/v1/reports"
FINANCE = Principal(subject="test", role=Role.FINANCE)
D = Decimal
AS_OF = date(2026, 2, 20)


def _billed_receivable(account: str) -> bool:
    return account.startswith("Assets:Receivable:C")


async def ledger_receivables(runtime: Runtime) -> tuple[Decimal, Decimal]:
    """(Σ Assets:Receivable:C…, Σ credit of Liabilities:CustomerCredit:…) in EUR."""
    async with runtime.uow() as uow:
        every = await uow.ledger.balances()
    billed = sum((b.balance for b in every if _billed_receivable(b.account)), D(0))
    credit = -sum(
        (b.balance for b in every if b.account.startswith("Liabilities:CustomerCredit:")), D(0)
    )
    return billed, credit


async def booked_credit_sales(runtime: Runtime, start: date, end: date) -> Decimal:
    """What invoices put on the customers' receivables in [start, end), less what credit
    notes took off: the journal's own account of the period's credit sales."""
    async with runtime.uow() as uow:
        entries = await uow.ledger.entries(start, end)
    sales = D(0)
    for entry in entries:
        if entry.kind in (EntryKind.INVOICE_ISSUED, EntryKind.CREDIT_NOTE_ISSUED):
            sales += sum(
                (p.units.amount for p in entry.postings if _billed_receivable(p.account)), D(0)
            )
    return sales


async def test_the_aging_ages_each_open_invoice_and_reconciles_to_the_ledger(
    runtime: Runtime,
) -> None:
    books = await receivables_world(runtime)
    report = await reading(runtime.uow, reports.aging, FINANCE, AS_OF)
    lines = {line.account_name: line for line in report.lines}
    assert set(lines) == {"Anna Becker", "Dora Dietz"}  # Ben and Carla owe nothing
    # anna: Jan invoice 4 days late, Dec 35, Nov 67; dora's returned Dec payment 35 days
    assert lines["Anna Becker"].buckets == (0, D("11.90"), D("18.80"), D("10.71"), 0)
    assert lines["Anna Becker"].invoices == 3
    assert lines["Dora Dietz"].buckets == (0, 0, D("11.90"), 0, 0)
    [total] = report.totals
    assert total.line.buckets == (0, D("11.90"), D("30.70"), D("10.71"), 0)
    assert total.line.total == sum(OUTSTANDING.values()) == D("53.31")
    assert total.customer_credit == D("11.90")  # Carla's over-payment
    assert total.net == D("41.41")

    billed, credit = await ledger_receivables(runtime)
    assert (total.line.total, total.customer_credit) == (billed, credit)
    window = days_up_to(AS_OF, 90)
    sales = await booked_credit_sales(runtime, window.start, window.end)
    assert total.credit_sales == sales == D("105.91")  # 107.10 invoiced less a 1.19 note
    assert total.dso_days == days_sales_outstanding(billed, sales, 90) == D("45.3")

    # The open items are what the invoice list shows as still to pay, on the same day.
    async with runtime.uow() as uow:
        unpaid = set()
        for status in (PaymentStatus.OPEN, PaymentStatus.PARTIALLY_PAID, PaymentStatus.OVERDUE):
            criteria = InvoiceFilter(payment_status=status, on=AS_OF)
            page = await uow.billing.list_invoices(criteria, limit=100, offset=0)
            unpaid |= {i.id for i in page.items}
    assert unpaid == {books.invoices[name].id for name in OUTSTANDING}


async def test_the_aging_moves_with_its_day_and_its_dso_window(runtime: Runtime) -> None:
    books = await receivables_world(runtime)
    early = await reading(runtime.uow, reports.aging, FINANCE, date(2026, 2, 16))
    [total] = early.totals
    # On the Jan invoices' due date they are still current; December's are 31 days late.
    assert total.line.buckets == (D("11.90"), 0, D("30.70"), D("10.71"), 0)
    january = report_period("2026-01")
    one_month = await reading(runtime.uow, reports.aging, FINANCE, AS_OF, january)
    [total] = one_month.totals
    sales = await booked_credit_sales(runtime, january.start, january.end)
    assert total.credit_sales == sales == D("35.70")  # anna's and dora's December invoices
    assert total.dso_days == days_sales_outstanding(D("53.31"), sales, 31)
    anna = books.accounts["anna"].id
    only_anna = await reading(runtime.uow, reports.aging, FINANCE, AS_OF, None, anna)
    assert [line.account_id for line in only_anna.lines] == [anna]
    assert only_anna.totals[0].customer_credit == 0


async def _get(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any
) -> httpx.Response:
    return await client.get(f"{API}/{path}", params=params, headers=headers)


async def test_finance_and_fleet_managers_read_the_aging_over_http(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    configure_operator(runtime)
    books = await receivables_world(runtime)
    anna, ben = books.accounts["anna"].id, books.accounts["ben"].id
    finance = await login_as(Role.FINANCE)
    manager = await login_as(Role.FLEET_MANAGER, anna)
    driver = await login_as(Role.DRIVER, anna)

    answer = await _get(client, "aging", finance, as_of=AS_OF.isoformat())
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["report"] == "aging"
    assert body["parameters"]["as_of"] == "2026-02-20"
    assert [row["account"] for row in body["rows"]] == ["Anna Becker", "Dora Dietz"]
    [total] = body["totals"]
    assert (total["total"], total["customer_credit"], total["net"]) == ("53.31", "11.90", "41.41")
    assert total["days_31_60"] == "30.70"

    mine = (await _get(client, "aging", manager, as_of=AS_OF.isoformat())).json()
    assert [row["account_id"] for row in mine["rows"]] == [str(anna)]
    assert mine["totals"][0]["total"] == "41.41"
    theirs = await _get(client, "aging", manager, account_id=str(ben))
    assert (theirs.status_code, error_code(theirs)) == (404, "account_not_found")
    refused = await _get(client, "aging", driver)
    assert (refused.status_code, error_code(refused)) == (403, "permission_denied")
    bad = await _get(client, "aging", finance, period="last month")
    assert (bad.status_code, error_code(bad)) == (422, "invalid_period")
    far = await _get(client, "aging", finance, as_of="9999-12-31")
    assert (far.status_code, error_code(far)) == (422, "invalid_date")

    sheet = await _get(client, "aging", finance, as_of=AS_OF.isoformat(), format="csv")
    assert sheet.status_code == 200
    assert sheet.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="aging-2026-02-20.csv"' in sheet.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(sheet.text)))
    assert rows[0] == [
        "account",
        "account_id",
        "currency",
        "invoices",
        "current",
        "days_1_30",
        "days_31_60",
        "days_61_90",
        "days_over_90",
        "total",
        "customer_credit",
        "net",
        "dso_days",
    ]
    assert rows[-1][:4] == ["total", "", "EUR", "4"]
    assert rows[-1][9:12] == ["53.31", "11.90", "41.41"]

    workbook = await _get(client, "aging", finance, as_of=AS_OF.isoformat(), format="xlsx")
    assert workbook.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(workbook.content))
    sheet_rows = list(book["aging"].iter_rows(values_only=True))
    assert sheet_rows[0][:5] == ("account", "account id", "currency", "invoices", "current")
    assert sheet_rows[1][0] == "Anna Becker"
    assert D(str(sheet_rows[1][7])) == D("10.71")  # 61-90 days
    assert sheet_rows[-1][0] == "total"
    assert D(str(sheet_rows[-1][9])) == D("53.31")
    assert dict(book["parameters"].iter_rows(values_only=True))["as_of"] == "2026-02-20"


async def test_a_name_that_looks_like_a_formula_stays_text(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """OWASP CSV injection: a buyer named ``=HYPERLINK(…)`` is text in the CSV and the XLSX."""
    books = await receivables_world(runtime)
    finance = await login_as(Role.FINANCE)
    world = books.world
    hostile = '=HYPERLINK("http://example.org","x")'
    buyer = await create_customer(runtime, world.clock, hostile)
    world.clock.current = utc("2026-03-02T08:00")
    spec = ChargeSpec(world.de, buyer, utc("2026-02-10T10:00"), {"Energy": "1.00"})
    await book_charges(runtime, world.clock, {"x": spec})
    await run_month(world, "2026-02")
    sheet = await _get(client, "aging", finance, format="csv")
    [row] = [r for r in csv.reader(io.StringIO(sheet.text)) if "HYPERLINK" in r[0]]
    assert row[0] == "'" + hostile
    workbook = await _get(client, "aging", finance, format="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(workbook.content))
    [cell] = [c for c in book["aging"]["A"] if c.value and "HYPERLINK" in str(c.value)]
    assert (cell.value, cell.data_type) == (hostile, "s")
