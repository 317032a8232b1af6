"""The overview's figures (issue 16, ``services.office_overview``) on SQLite and PostgreSQL,
against the standard billing world (tests/integration/billing_world.py), operator in Berlin.

On 1 February 2026 (Berlin) three sessions stopped: a2 (stopped 00:30), a3 (00:50) and l2
(01:30): nets 20.45 + 5.00 + 8.13 = 33.58, VAT 3.89 + 0.95 + 1.87 = 6.71 (each charge's own,
half-up), gross 40.29, 3 × 12.5 kWh. February so far is the same. The last 30 days are
3 January to 1 February; w1 and l0 (December) fall outside.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from chargeledger.bootstrap import Runtime
from chargeledger.services.office_overview import CHART_DAYS, overview
from tests.integration.billing_world import OPERATOR_TZ, run_month, standard_world, utc

NET_BY_DAY = {  # the stop's date in Berlin → net of the sessions that stopped then
    "2026-01-05": "4.20",  # h1
    "2026-01-07": "20.00",  # w2
    "2026-01-10": "10.45",  # a1
    "2026-01-12": "6.00",  # p1
    "2026-01-15": "42.50",  # l1
    "2026-01-19": "70.00",  # w3 (Sun 23:30 + 40 min) and w4
    "2026-01-20": "15.00",  # q1
    "2026-01-21": "8.13",  # h2
    "2026-01-28": "50.00",  # w5
    "2026-02-01": "33.58",  # a2, a3, l2
}


async def test_overview_figures(runtime: Runtime) -> None:
    await standard_world(runtime)
    figures = await overview(runtime.uow, utc("2026-02-01T12:00"), OPERATOR_TZ)

    assert figures.today == date(2026, 2, 1)
    [today] = figures.today_revenue.values()
    assert (today.currency, today.sessions) == ("EUR", 3)
    assert today.net == Decimal("33.58")
    assert today.gross == Decimal("40.29")
    assert today.energy_kwh == Decimal("37.5")
    assert figures.month_revenue == figures.today_revenue

    assert len(figures.days) == CHART_DAYS
    assert figures.days[0].day == date(2026, 1, 3)
    assert figures.days[-1].day == date(2026, 2, 1)
    by_day = {d.day.isoformat(): d.revenue["EUR"].net for d in figures.days if d.revenue}
    assert by_day == {day: Decimal(net) for day, net in NET_BY_DAY.items()}
    assert sum(d.revenue["EUR"].sessions for d in figures.days if d.revenue) == 13
    assert sum(d.revenue["EUR"].energy_kwh for d in figures.days if d.revenue) == Decimal("162.5")
    january_19 = next(d for d in figures.days if d.day == date(2026, 1, 19)).revenue["EUR"]
    assert january_19.gross == Decimal("83.30")  # 30.00 + 5.70, 40.00 + 7.60

    methods = {m: r["EUR"].net for m, r in figures.by_method.items()}
    assert sum(methods.values()) == Decimal("259.86")  # every net of NET_BY_DAY
    assert methods["wallet"] == Decimal("6.00")  # p1, the prepaid account

    network = figures.network
    assert (network.stations, network.online, network.faulted) == (2, 0, 0)
    assert (network.live_sessions, network.quarantined_sessions) == (0, 0)
    assert (figures.failed_payments_today, figures.failed_payments_month) == (0, 0)
    assert figures.open_disputes == 0
    assert figures.overdue == []


async def test_overdue_receivables(runtime: Runtime) -> None:
    """January invoiced on 2 February; on 1 March the invoices due before then are overdue,
    exactly the open items the aging report lists as due before that day."""
    world = await standard_world(runtime)
    await run_month(world, "2026-01")
    figures = await overview(runtime.uow, utc("2026-03-01T12:00"), OPERATOR_TZ)
    async with runtime.uow() as uow:
        items = [i for i in await uow.reports.open_items() if i.due_date < date(2026, 3, 1)]
    assert items
    [overdue] = figures.overdue
    assert overdue.currency == "EUR"
    assert overdue.invoices == len(items)
    assert overdue.outstanding == sum(i.outstanding for i in items)
    assert figures.today_revenue == {}
