"""The arithmetic of the reports (issue 13): periods, aging buckets, DSO, revenue grouped by
the chosen dimensions, collections per day, and the tables every writer prints."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chargeledger.domain.billing import COMPONENTS, Charge, VatCategory, VatTreatment
from chargeledger.domain.cash_collections import CashMovement, collections_report
from chargeledger.domain.report_tables import (
    aging_table,
    collections_table,
    revenue_table,
    unbilled_table,
)
from chargeledger.domain.reports import (
    AGING_BUCKETS,
    Dimension,
    Grain,
    IssuedDocument,
    OpenItem,
    RevenueSlice,
    aging_bucket,
    aging_report,
    days_sales_outstanding,
    days_up_to,
    dimensions,
    net_credit_sales,
    report_period,
    revenue_report,
)
from chargeledger.domain.unbilled import Pending, PendingSessions, unbilled_report
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency, Money

EUR, CHF = Currency.of("EUR"), Currency.of("CHF")
D = Decimal


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2026", date(2026, 1, 1), date(2027, 1, 1)),
        ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026-02", date(2026, 2, 1), date(2026, 3, 1)),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1)),
        ("2026-W01", date(2025, 12, 29), date(2026, 1, 5)),
        ("2026-03-29", date(2026, 3, 29), date(2026, 3, 30)),
    ],
)
def test_a_period_is_a_half_open_range_of_local_dates(label: str, start: date, end: date) -> None:
    period = report_period(label)
    assert (period.start, period.end, period.label) == (start, end, label)


@pytest.mark.parametrize("label", ["", "2026-13", "2026-Q5", "26-01", "2026-02-30", "last month"])
def test_an_unknown_period_is_refused_with_its_code(label: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        report_period(label)
    assert (refused.value.code, refused.value.field) == ("invalid_period", "period")


def test_a_period_splits_into_months_and_days() -> None:
    quarter = report_period("2026-Q1")
    assert [p.label for p in quarter.split(Grain.MONTH)] == ["2026-01", "2026-02", "2026-03"]
    assert quarter.split(Grain.PERIOD) == [quarter]
    days = report_period("2026-02").split(Grain.DAY)
    assert len(days) == 28
    assert (days[0].start, days[-1].end) == (date(2026, 2, 1), date(2026, 3, 1))
    window = days_up_to(date(2026, 3, 31), 90)
    assert (window.start, window.end, window.days) == (date(2026, 1, 1), date(2026, 4, 1), 90)


@pytest.mark.parametrize(
    ("days_late", "bucket"),
    [
        *[(-5, "current"), (0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60")],
        *[(60, "31-60"), (61, "61-90"), (90, "61-90"), (91, "over_90"), (400, "over_90")],
    ],
)
def test_an_item_ages_by_days_past_its_due_date(days_late: int, bucket: str) -> None:
    due = date(2026, 1, 31)
    as_of = date.fromordinal(due.toordinal() + days_late)
    assert AGING_BUCKETS[aging_bucket(due, as_of)] == bucket
    assert AGING_BUCKETS[aging_bucket(None, as_of)] == "current"


def test_dso_is_receivables_over_credit_sales_times_days() -> None:
    # 1 000 owed on 3 000 of credit sales in 90 days: a month's sales are outstanding.
    assert days_sales_outstanding(D(1000), D(3000), 90) == D("30.0")
    assert days_sales_outstanding(D(100), D(300), 31) == D("10.3")  # 10.333… half-up
    assert days_sales_outstanding(D(100), D(0), 31) is None
    assert days_sales_outstanding(D(100), D(-5), 31) is None


def item(account: uuid.UUID, name: str, due: str, amount: str, currency: str = "EUR") -> OpenItem:
    return OpenItem(
        invoice_id=uuid.uuid4(),
        number="INV-2026-000001",
        account_id=account,
        account_name=name,
        currency=Currency.of(currency),
        issue_date=date(2026, 1, 1),
        due_date=date.fromisoformat(due),
        outstanding=D(amount),
    )


def test_the_aging_sums_each_account_by_age_and_each_currency() -> None:
    anna, bert = uuid.uuid4(), uuid.uuid4()
    items = [
        item(anna, "Anna", "2026-03-10", "10.00"),  # current
        item(anna, "Anna", "2026-02-20", "5.00"),  # 18 days
        item(bert, "bert", "2025-11-30", "7.50"),  # 98 days
        item(bert, "bert", "2026-01-07", "2.50"),  # 60 days
        item(bert, "bert", "2026-01-07", "1.00", "CHF"),
    ]
    sales = net_credit_sales(
        [
            IssuedDocument(EUR, D("50.00"), is_credit_note=False),
            IssuedDocument(EUR, D("5.00"), is_credit_note=True),
            IssuedDocument(CHF, D("1.00"), is_credit_note=False),
        ]
    )
    assert sales == {EUR: D("45.00"), CHF: D("1.00")}
    period = report_period("2026-02")
    report = aging_report(items, date(2026, 3, 8), period, {EUR: D("3.00")}, sales)
    lines = {(line.account_name, line.currency): line for line in report.lines}
    assert [(line.account_name, line.currency) for line in report.lines] == [
        ("bert", CHF),
        ("Anna", EUR),
        ("bert", EUR),
    ]
    assert lines[("Anna", EUR)].buckets == (D("10.00"), D("5.00"), 0, 0, 0)
    assert lines[("bert", EUR)].buckets == (0, 0, D("2.50"), 0, D("7.50"))
    assert lines[("bert", EUR)].invoices == 2
    eur, chf = report.totals[1], report.totals[0]
    assert (eur.line.currency, chf.line.currency) == (EUR, CHF)
    assert eur.line.buckets == (D("10.00"), D("5.00"), D("2.50"), 0, D("7.50"))
    assert (eur.line.total, eur.customer_credit, eur.net) == (D("25.00"), D("3.00"), D("22.00"))
    assert eur.dso_days == D("15.6")  # 25 / 45 × 28
    assert chf.dso_days == D("28.0")

    table = aging_table(report)
    assert [c.key for c in table.columns][4:9] == [
        "current",
        "days_1_30",
        "days_31_60",
        "days_61_90",
        "days_over_90",
    ]
    [eur_total] = [row for row in table.totals if row[2] == "EUR"]
    assert eur_total[9:] == (
        Money.of("25.00", "EUR"),
        Money.of("3.00", "EUR"),
        Money.of("22.00", "EUR"),
        D("15.6"),
    )


def slice_of(
    site: str, method: str, currency: Currency, *nets: str, **more: object
) -> RevenueSlice:
    labels = {d: (f"{d.value}-key", f"{d.value}-label") for d in Dimension}
    labels[Dimension.SITE] = (site, site.title())
    labels[Dimension.METHOD] = (method, method)
    components = tuple(D(n) for n in nets) + (D(0),) * (5 - len(nets))
    return RevenueSlice(
        labels=labels,
        currency=currency,
        sessions=int(more.get("sessions", 1)),  # type: ignore[call-overload]
        energy_kwh=D(str(more.get("kwh", "10"))),
        components=components,
        credited=D(str(more.get("credited", "0"))),
    )


def test_revenue_is_grouped_by_the_chosen_dimensions_and_totalled_per_currency() -> None:
    period = report_period("2026-Q1")
    january, february, _ = period.split(Grain.MONTH)
    parts = [
        (
            january,
            [
                slice_of("berlin", "card", EUR, "4.00", "1.00"),
                slice_of("berlin", "rfid", EUR, "6.00", sessions=2, kwh="25.5"),
                slice_of("lisboa", "card", EUR, "3.00"),
            ],
        ),
        (
            february,
            [
                slice_of("berlin", "card", EUR, "-1.00", sessions=0, kwh="0", credited="1.00"),
                slice_of("zurich", "card", CHF, "9.00"),
            ],
        ),
    ]
    by_site = revenue_report(period, Grain.MONTH, dimensions("site"), parts)
    assert [(r.period, r.labels, r.currency, r.sessions, r.net) for r in by_site.rows] == [
        ("2026-01", ("Berlin",), EUR, 3, D("11.00")),
        ("2026-01", ("Lisboa",), EUR, 1, D("3.00")),
        ("2026-02", ("Zurich",), CHF, 1, D("9.00")),
        ("2026-02", ("Berlin",), EUR, 0, D("-1.00")),
    ]
    assert [(t.currency, t.sessions, t.energy_kwh, t.net, t.credited) for t in by_site.totals] == [
        (CHF, 1, D(10), D("9.00"), D(0)),
        (EUR, 4, D("45.5"), D("13.00"), D("1.00")),
    ]
    assert by_site.totals[1].components == (D("12.00"), D("1.00"), 0, 0, 0)

    top = revenue_report(period, Grain.PERIOD, dimensions("method,site,method"), parts, top=2)
    assert top.by == (Dimension.METHOD, Dimension.SITE)
    assert [(r.labels, r.net) for r in top.rows] == [
        (("card", "Zurich"), D("9.00")),
        (("rfid", "Berlin"), D("6.00")),
    ]
    table = revenue_table(top)
    assert [c.key for c in table.columns] == [
        "period",
        "method",
        "site",
        "currency",
        "sessions",
        "energy_kwh",
        "energy",
        "time",
        "parking",
        "fixed",
        "reservation",
        "credited",
        "net",
    ]
    assert ("top", "2") in table.parameters


def test_an_unknown_dimension_is_refused() -> None:
    with pytest.raises(InvalidInputError) as refused:
        dimensions("site,colour")
    assert (refused.value.code, refused.value.field) == ("unknown_report_dimension", "by")


def test_collections_split_money_movements_into_columns_that_reconcile() -> None:
    day1, day2 = date(2026, 2, 3), date(2026, 2, 4)
    movements = [
        CashMovement(day1, "capture", "Assets:PSP:Sandbox", EUR, D("20.00")),
        CashMovement(day1, "wallet_top_up", "Assets:PSP:Sandbox", EUR, D("30.00")),
        CashMovement(day1, "refund", "Assets:PSP:Sandbox", EUR, D("-2.00")),
        CashMovement(day2, "payout", "Assets:PSP:Sandbox", EUR, D("-48.00")),
        CashMovement(day2, "payout", "Assets:Bank", EUR, D("46.90")),
        CashMovement(day2, "payout", "Expenses:PSPFees", EUR, D("1.10")),
        CashMovement(day2, "bank_receipt", "Assets:Bank", EUR, D("11.90")),
        CashMovement(day2, "bank_debit", "Assets:Bank", EUR, D("-11.90")),
    ]
    report = collections_report(report_period("2026-02"), movements)
    first, second = report.days
    assert (first.captured, first.refunded, first.collected) == (D(50), D(2), D(48))
    assert (second.payouts, second.fees, second.transfers_in, second.transfers_out) == (
        D(48),
        D("1.10"),
        D("11.90"),
        D("11.90"),
    )
    [total] = report.totals
    psp = total.captured - total.refunded - total.payouts
    bank = total.payouts - total.fees + total.transfers_in - total.transfers_out
    assert (psp, bank) == (D(0), D("46.90"))
    table = collections_table(report)
    assert table.rows[0][0] == day1
    assert table.totals[0][:2] == ("total", "EUR")


def test_unbilled_charges_are_valued_at_their_gross_per_account() -> None:
    anna = uuid.uuid4()

    def charge(account: uuid.UUID | None, net: str, currency: str = "EUR") -> Charge:
        return Charge(
            session_id=uuid.uuid4(),
            account_id=account,
            ad_hoc=account is None,
            site_id=uuid.uuid4(),
            site_name="Depot",
            station_id=uuid.uuid4(),
            station_name="CP-1",
            evse_id=1,
            country="DE",
            time_zone="Europe/Berlin",
            currency=currency,
            started_at=datetime(2026, 2, 1, 10, tzinfo=UTC),
            stopped_at=datetime(2026, 2, 1, 11, tzinfo=UTC),
            energy_kwh=D("12.5"),
            charging_hours=D(1),
            idle_hours=D(0),
            components=tuple((name, D(net) if name == "Energy" else D(0)) for name in COMPONENTS),
            vat=VatTreatment(VatCategory.STANDARD, D(19)),
            tariff_id=None,
        )

    pending = [PendingSessions(Pending.QUARANTINED, 2, D("30.5"))]
    report = unbilled_report(
        [charge(anna, "10.00"), charge(anna, "4.20"), charge(None, "1.00")], {anna: "Anna"}, pending
    )
    assert [(line.account_name, line.sessions, line.value) for line in report.lines] == [
        ("ad hoc", 1, D("1.19")),
        ("Anna", 2, D("11.90") + D("5.00")),  # 4.20 + 0.798 → 0.80
    ]
    [total] = report.totals
    assert (total.sessions, total.energy_kwh, total.value) == (3, D("37.5"), D("18.09"))
    table = unbilled_table(report)
    assert table.rows[-1] == ("sessions under review (not priced)", None, None, 2, D("30.5"), None)
