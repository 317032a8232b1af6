"""Reports (issue 13) on SQLite and PostgreSQL, each reconciled to the ledger: the aging total
is the balance of the customers' receivables (and their unapplied credit that of
``Liabilities:CustomerCredit``), the DSO's credit sales are the invoices booked in its window;
served as JSON, CSV and XLSX to finance, and to a fleet manager for their own account only."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl

from chargeledger.bootstrap import Runtime
from chargeledger.domain.billing import COMPONENTS
from chargeledger.domain.charging import QuarantineReason, Session, SessionStatus
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.ledger import EntryKind
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.receivables import PaymentStatus
from chargeledger.domain.reports import (
    Grain,
    days_sales_outstanding,
    days_up_to,
    dimensions,
    report_period,
)
from chargeledger.services import tariffs
from chargeledger.services.billing import reports
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.payments.methods import store_card
from chargeledger.services.payments.refunds import pay_invoice, refund_payment
from chargeledger.services.payments.wallets import top_up
from chargeledger.services.transactions import reading
from tests.conftest import LoginAs
from tests.integration.access_world import sandbox_token
from tests.integration.billing_api import (
    TARIFF,
    configure_operator,
    error_code,
    uncharged_session,
)
from tests.integration.billing_world import (
    OPERATOR_TZ,
    ChargeSpec,
    Place,
    book_charges,
    create_customer,
    credit,
    run_month,
    standard_world,
    utc,
)
from tests.integration.report_world import OUTSTANDING, Receivables, receivables_world

API = "/api/v1/reports"
FINANCE = Principal(subject="test", role=Role.FINANCE)
D = Decimal
AS_OF = date(2026, 2, 20)


def _billed_receivable(account: str) -> bool:
    return account.startswith("Assets:Receivable:C")


async def ledger_receivables(
    runtime: Runtime, until: date | None = None
) -> tuple[Decimal, Decimal]:
    """(Σ Assets:Receivable:C…, Σ credit of Liabilities:CustomerCredit:…) in EUR, of the
    entries booked before ``until`` when given."""
    async with runtime.uow() as uow:
        every = await uow.ledger.balances(None, until)
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


async def test_the_aging_of_a_past_day_is_what_the_ledger_held_that_day(
    runtime: Runtime,
) -> None:
    """A month is closed by the aging of its last day, run days later: every day from the
    first invoice to the report day, the aging's total and the customers' credit are what
    the ledger's receivables and credit were at the end of that day, though invoices were
    issued, paid, credited and returned after it."""
    await receivables_world(runtime)
    async with runtime.uow() as uow:
        first = min(e.booked_on for e in await uow.ledger.entries())
    day, checked = first, 0
    while day <= AS_OF:
        report = await reading(runtime.uow, reports.aging, FINANCE, day)
        total = report.totals[0] if report.totals else None
        aged = (total.line.total, total.customer_credit) if total is not None else (D(0), D(0))
        assert aged == await ledger_receivables(runtime, day + timedelta(days=1)), day
        checked += 1
        day += timedelta(days=1)
    assert checked > 60


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


# --- revenue -----------------------------------------------------------------------------------


async def income_moved(runtime: Runtime, start: date, end: date) -> dict[str, Decimal]:
    """Revenue booked in [start, end) per ``Income:Charging`` component (credit positive)."""
    async with runtime.uow() as uow:
        entries = await uow.ledger.entries(start, end)
    moved: dict[str, Decimal] = {}
    for entry in entries:
        for posting in entry.postings:
            if posting.account.startswith("Income:Charging:"):
                name = posting.account.rsplit(":", 1)[1]
                moved[name] = moved.get(name, D(0)) - posting.units.amount
    return moved


async def test_revenue_per_month_reconciles_to_income_and_credit_notes(runtime: Runtime) -> None:
    world = await standard_world(runtime)
    invoiced = await run_month(world, "2026-01")
    [anna_january] = [i for i in invoiced.issued if i.account_id == world.accounts["anna"].id]
    await credit(world, anna_january, positions=(1,))  # a1: 9.20 energy + 1.25 time, in Feb
    quarter = report_period("2026-Q1")
    by = dimensions("site,method")
    report = await reading(runtime.uow, reports.revenue, quarter, OPERATOR_TZ, by, Grain.MONTH)
    for part in quarter.split(Grain.MONTH):
        booked = await income_moved(runtime, part.start, part.end)
        rows = [r for r in report.rows if r.period == part.label]
        for index, component in enumerate(COMPONENTS):
            assert sum((r.components[index] for r in rows), D(0)) == booked.get(component, 0)
        assert sum((r.net for r in rows), D(0)) == sum(booked.values(), D(0))
    [total] = report.totals
    booked = await income_moved(runtime, quarter.start, quarter.end)
    assert total.net == sum(booked.values(), D(0))
    assert total.credited == D("10.45")
    async with runtime.uow() as uow:
        charged = await uow.billing.charges_between(
            utc("2025-12-01T00:00"), utc("2026-06-01T00:00")
        )
    in_quarter = [
        c
        for c in charged
        if quarter.start <= c.stopped_at.astimezone(ZoneInfo(OPERATOR_TZ)).date() < quarter.end
    ]
    assert total.sessions == len(in_quarter)
    assert total.energy_kwh == sum((c.energy_kwh for c in in_quarter), D(0))

    # Revenue is booked on the operator's date of the stop (40 minutes after the start): a2
    # and a3 stopped on 1 February in Berlin, l0 on 1 January; q2 and q3 in April.
    rows = {(r.period, r.labels): (r.sessions, r.net) for r in report.rows}
    assert {key: value for key, value in rows.items() if key[0] == "2026-01"} == {
        # a1 10.45, l1 42.50, w2-w5 140.00, q1 15.00
        ("2026-01", ("Berlin Depot", "rfid")): (7, D("207.95")),
        ("2026-01", ("Berlin Depot", "wallet")): (1, D("6.00")),  # p1, prepaid
        ("2026-01", ("Berlin Depot", "card")): (1, D("4.20")),  # h1, ad hoc
        ("2026-01", ("Lisboa Hub", "rfid")): (1, D("3.00")),  # l0
        ("2026-01", ("Lisboa Hub", "card")): (1, D("8.13")),  # h2
    }
    [february] = [r for r in report.rows if r.labels == ("Berlin Depot", "rfid")][1:]
    assert (february.period, february.sessions, february.credited) == ("2026-02", 2, D("10.45"))
    # a2 20.45 and a3 5.00 energy, less the note's 9.20 energy and 1.25 time
    assert february.components[:2] == (D("16.25"), D("-1.25"))

    top = await reading(
        runtime.uow,
        reports.revenue,
        report_period("2026-01"),
        OPERATOR_TZ,
        dimensions("account"),
        Grain.PERIOD,
        2,
    )
    assert [(r.labels, r.net) for r in top.rows] == [
        (("Weekly Fleet GmbH",), D("140.00")),
        (("Lusa Transportes Lda",), D("45.50")),
    ]


async def test_revenue_over_http_as_json_csv_and_xlsx(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    configure_operator(runtime)
    await standard_world(runtime)
    operator = await login_as(Role.OPERATOR)
    manager = await login_as(Role.FLEET_MANAGER)
    answer = await _get(client, "revenue", operator, period="2026-01", by="site,tariff")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [c["key"] for c in body["columns"]][:4] == ["period", "site", "tariff", "currency"]
    [total] = body["totals"]
    assert (total["sessions"], total["net"]) == (11, "229.28")
    assert {row["tariff"] for row in body["rows"]} == {"no tariff"}
    sheet = await _get(client, "revenue", operator, period="2026-01", format="csv", by="")
    rows = list(csv.reader(io.StringIO(sheet.text)))
    assert rows[0][:4] == ["period", "currency", "sessions", "energy_kwh"]
    workbook = await _get(client, "revenue", operator, period="2026-01", format="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(workbook.content))
    last = list(book["revenue"].iter_rows(values_only=True))[-1]
    assert (last[1], D(str(last[-1]))) == ("total", D("229.28"))
    refused = await _get(client, "revenue", manager, period="2026-01")
    assert (refused.status_code, error_code(refused)) == (403, "permission_denied")
    wrong = await _get(client, "revenue", operator, by="colour")
    assert (wrong.status_code, error_code(wrong)) == (422, "unknown_report_dimension")
    too_long = await _get(client, "revenue", operator, period="2026", grain="day")
    assert (too_long.status_code, error_code(too_long)) == (422, "period_too_long")


# --- collections -------------------------------------------------------------------------------


async def moved(runtime: Runtime, start: date, end: date, root: str) -> Decimal:
    """What the accounts under ``root`` moved by entries booked in [start, end)."""
    async with runtime.uow() as uow:
        entries = await uow.ledger.entries(start, end)
    return sum(
        (
            p.units.amount
            for e in entries
            for p in e.postings
            if p.account == root or p.account.startswith(root + ":")
        ),
        D(0),
    )


async def card_money(runtime: Runtime, books: Receivables) -> Decimal:
    """Anna tops up 20.00 by card, pays her January invoice (11.90) by card and gets 5.00 of
    the top-up back; the PSP pays everything out. Returns the payout's gross."""
    anna = books.accounts["anna"]
    card = await store_card(runtime.payments, anna, await sandbox_token(runtime), "sandbox", True)
    top, _ = await top_up(runtime.payments, anna, D("20.00"), card)
    await pay_invoice(runtime.payments, books.invoices["anna_jan"].id, card, uuid.uuid4())
    await runtime.quiesce()
    await refund_payment(runtime.payments, top.id, D("5.00"), "changed her mind")
    await runtime.quiesce()
    sandbox = runtime.sandbox
    assert sandbox is not None
    payout = await sandbox.pay_out("EUR")
    await runtime.quiesce()
    assert payout is not None
    return payout.gross.amount


async def test_collections_per_day_reconcile_to_the_psp_the_bank_and_the_fees(
    runtime: Runtime,
) -> None:
    books = await receivables_world(runtime)
    gross = await card_money(runtime, books)
    year = report_period("2026")
    report = await reading(runtime.uow, reports.collections, year)
    days = {day.day: day for day in report.days}
    # the bank statements of 3 and 5 February: four transfers in, one returned
    assert days[date(2026, 2, 3)].transfers_in == D("76.40")
    assert days[date(2026, 2, 5)].transfers_out == D("11.90")
    assert days[date(2026, 2, 5)].collected == D("-11.90")
    for day in report.days:
        following = date.fromordinal(day.day.toordinal() + 1)
        psp = await moved(runtime, day.day, following, "Assets:PSP")
        bank = await moved(runtime, day.day, following, "Assets:Bank")
        fees = await moved(runtime, day.day, following, "Expenses:PSPFees")
        assert day.captured - day.refunded - day.payouts == psp, day
        assert day.payouts - day.fees + day.transfers_in - day.transfers_out == bank, day
        assert day.fees == fees, day
    [total] = report.totals
    assert (total.captured, total.refunded, total.payouts) == (D("31.90"), D("5.00"), gross)
    assert gross == D("26.90")
    assert total.collected == D("31.90") - D("5.00") + D("76.40") - D("11.90")
    assert total.captured - total.refunded - total.payouts == await moved(
        runtime, year.start, year.end, "Assets:PSP"
    )
    assert total.payouts - total.fees + total.transfers_in - total.transfers_out == await moved(
        runtime, year.start, year.end, "Assets:Bank"
    )
    assert total.fees == await moved(runtime, year.start, year.end, "Expenses:PSPFees") > 0


async def test_collections_over_http(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    await receivables_world(runtime)
    finance = await login_as(Role.FINANCE)
    manager = await login_as(Role.FLEET_MANAGER)
    answer = await _get(client, "collections", finance, period="2026-02")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [row["day"] for row in body["rows"]] == ["2026-02-03", "2026-02-05"]
    [total] = body["totals"]
    assert (total["day"], total["transfers_in"], total["collected"]) == (
        "total",
        "76.40",
        "64.50",
    )
    sheet = await _get(client, "collections", finance, period="2026-02", format="csv")
    assert sheet.text.splitlines()[0] == (
        "day,currency,captured,refunded,payouts,fees,transfers_in,transfers_out,collected"
    )
    refused = await _get(client, "collections", manager)
    assert (refused.status_code, error_code(refused)) == (403, "permission_denied")


# --- not invoiced yet --------------------------------------------------------------------------


async def held_session(
    runtime: Runtime, place: Place, started: datetime, *, priced: bool = True
) -> None:
    """A session of 12.5 kWh held for review: no charge until it is released (``priced``: it
    started under a tariff, else it cannot be valued at all)."""
    tariff_id = None
    if priced:
        async with runtime.uow() as uow:
            tariff_id = (await tariffs.import_tariff(uow, runtime.clock, TARIFF)).id
            await uow.commit()
    now = runtime.clock.now()
    session = Session(
        station_id=place.station.id,
        evse_id=1,
        transaction_ref=uuid.uuid4().hex[:20],
        ocpp_version="1.6",
        started_at=started,
        meter_start_wh=D(1000),
        status=SessionStatus.QUARANTINED,
        stopped_at=started + timedelta(minutes=40),
        meter_stop_wh=D(13500),
        quarantine_reasons=(QuarantineReason.ENERGY_ABOVE_MAX_POWER,),
        tariff_id=tariff_id,
        payment_route=PaymentRoute.WALK_IN,
        created_at=now,
        updated_at=now,
    )
    async with runtime.uow() as uow:
        await uow.sessions.add(session)
        await uow.commit()


async def test_unbilled_charges_reconcile_to_the_unbilled_receivables(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    world = await standard_world(runtime)
    await run_month(world, "2026-01")  # January's invoices and receipts
    await held_session(runtime, world.de, utc("2026-02-10T10:00"))
    await held_session(runtime, world.de, utc("2026-02-10T12:00"), priced=False)
    await uncharged_session(runtime, world.de, utc("2026-02-11T10:00"))
    report = await reading(runtime.uow, reports.unbilled, runtime.settings.vat_rates)
    [total] = report.totals
    async with runtime.uow() as uow:
        balances = await uow.ledger.balances("Assets:Receivable:Unbilled")
    assert total.value == sum((b.balance for b in balances), D(0)) > 0
    names = {line.account_name: line.sessions for line in report.lines}
    # February's sessions of Anna (a3) and Lusa (l2), the week ending on 1 February (w5), the
    # quarter's (q1-q3) and the prepaid session nobody invoices
    assert names == {
        "Anna Becker": 1,
        "Lusa Transportes Lda": 1,
        "Prepaid Pia": 1,
        "Quarterly Logistik AG": 3,
        "Weekly Fleet GmbH": 1,
    }
    assert [(p.state.value, p.sessions, p.energy_kwh) for p in report.pending] == [
        ("quarantined", 2, D(25)),
        ("not_charged", 1, D(10)),
    ]
    # Valued as the stations reported them, under their tariffs, VAT included (estimates):
    # 12.5 and 10 kWh at 0.40 EUR net + 19 %; a session without a tariff cannot be valued.
    assert [(v.state.value, v.currency, v.sessions, v.value) for v in report.pending_values] == [
        ("quarantined", "EUR", 1, D("5.95")),
        ("quarantined", None, 1, None),
        ("not_charged", "EUR", 1, D("4.76")),
    ]

    finance = await login_as(Role.FINANCE)
    body = (await _get(client, "unbilled", finance)).json()
    assert body["totals"][0]["value"] == f"{total.value:.2f}"
    held = [row for row in body["rows"] if "under review" in row["account"]]
    assert held == [
        {
            "account": "sessions under review (not priced)",
            "account_id": None,
            "currency": None,
            "sessions": 2,
            "energy_kwh": "25",
            "value": None,
        },
        {
            "account": "  under review, valued as reported (estimate)",
            "account_id": None,
            "currency": "EUR",
            "sessions": 1,
            "energy_kwh": None,
            "value": "5.95",
        },
    ]
    driver = await login_as(Role.DRIVER)
    refused = await _get(client, "unbilled", driver)
    assert (refused.status_code, error_code(refused)) == (403, "permission_denied")
