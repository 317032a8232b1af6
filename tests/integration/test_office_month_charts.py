"""The overview's charts of this month by site and by payment method (issue 16) on SQLite and
PostgreSQL, over the standard billing world (tests/integration/billing_world.py), operator in
Berlin, the clock on Saturday 31 January 2026, 21:00 in Berlin.

The expected figures are summed here, in Python, from the charges the world booked — not by the
query under test: every charge whose stop falls on a January day in Berlin up to today. Two
edges: l0 stopped on 1 January at 00:10 UTC (01:10 in Berlin: January), a2 on 31 January at
23:30 UTC (1 February in Berlin: not yet).
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx

from chargeledger.bootstrap import Runtime
from chargeledger.domain.billing import Charge
from chargeledger.domain.identity import Role
from chargeledger.domain.payment_routes import decide_payment_route
from chargeledger.services.office_overview import month_breakdown
from tests.integration.billing_world import OPERATOR_TZ, FixedClock, World, standard_world, utc
from tests.integration.office_world import office_login

NOW = utc("2026-01-31T20:00")  # 21:00 in Berlin
SERIES = re.compile(r'<figure class="chart" id="([a-z-]+)" data-series="([^"]*)"')


def in_this_month(charge: Charge) -> bool:
    stopped = charge.stopped_at.astimezone(ZoneInfo(OPERATOR_TZ)).date()
    return date(2026, 1, 1) <= stopped <= date(2026, 1, 31)


def net_of(charge: Charge) -> Decimal:
    return sum((amount for _, amount in charge.components), Decimal(0))


def method_of(world: World, charge: Charge) -> str:
    accounts = {a.id: a for a in world.accounts.values()}
    account = None if charge.account_id is None else accounts[charge.account_id]
    return decide_payment_route(None, account, None, has_card=False).method.value


def expected(world: World) -> tuple[dict[str, Decimal], dict[str, Decimal], dict[str, Decimal]]:
    """Net and kWh by site name, net by payment method, of this month's charges."""
    net: dict[str, Decimal] = defaultdict(Decimal)
    kwh: dict[str, Decimal] = defaultdict(Decimal)
    methods: dict[str, Decimal] = defaultdict(Decimal)
    for charge in world.charges.values():
        if in_this_month(charge):
            net[charge.site_name] += net_of(charge)
            kwh[charge.site_name] += charge.energy_kwh
            methods[method_of(world, charge)] += net_of(charge)
    return dict(net), dict(kwh), dict(methods)


async def test_the_month_by_site_and_by_method(runtime: Runtime) -> None:
    world = await standard_world(runtime)
    net, kwh, methods = expected(world)
    assert set(net) == {"Berlin Depot", "Lisboa Hub"}
    assert net["Lisboa Hub"] == Decimal("11.13")  # l0 3.00 and h2 8.13 (l2 is February's)

    month = await month_breakdown(runtime.uow, NOW, OPERATOR_TZ)

    assert (month.month, month.start) == ("2026-01", date(2026, 1, 1))
    assert [s.name for s in month.by_site] == ["Berlin Depot", "Lisboa Hub"]
    assert {s.name: s.net["EUR"] for s in month.by_site} == net
    assert {s.name: s.energy_kwh for s in month.by_site} == kwh
    assert {s.name: s.site_id for s in month.by_site} == {
        "Berlin Depot": world.de.site.id,
        "Lisboa Hub": world.pt.site.id,
    }
    sessions = sum(1 for c in world.charges.values() if in_this_month(c))
    assert sum(s.sessions for s in month.by_site) == sessions == 11
    assert {m: nets["EUR"] for m, nets in month.by_method.items()} == methods
    assert month.by_method["wallet"]["EUR"] == Decimal("6.00")  # p1, the prepaid account


async def test_an_empty_month(runtime: Runtime) -> None:
    await standard_world(runtime)
    month = await month_breakdown(runtime.uow, utc("2026-06-15T12:00"), OPERATOR_TZ)
    assert (month.month, month.by_site, month.by_method) == ("2026-06", [], {})


def chart_series(page: httpx.Response) -> dict[str, list[list[str]]]:
    found = {}
    for chart_id, series in SERIES.findall(page.text):
        document = json.loads(html.unescape(series))
        found[chart_id] = document["points"]
    return found


async def test_the_overview_draws_them_with_links(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    runtime.settings = dataclasses.replace(runtime.settings, operator_time_zone=OPERATOR_TZ)
    world = await standard_world(runtime)
    net, kwh, methods = expected(world)
    await office_login(runtime, client, Role.OPERATOR)  # under the system clock (PyJWT)
    runtime.clock = FixedClock(NOW)

    page = await client.get("/office")

    assert page.status_code == 200, page.text
    charts = chart_series(page)
    assert charts["chart-revenue-by-site"] == [[s, f"{v:f}"] for s, v in sorted(net.items())]
    assert charts["chart-kwh-by-site"] == [
        [s, f"{v.normalize():f}"] for s, v in sorted(kwh.items())
    ]
    assert charts["chart-revenue-by-method-month"] == [
        [m, f"{v:f}"] for m, v in sorted(methods.items())
    ]
    assert "chart-revenue-by-day" in charts  # the existing charts stay
    by_site = "/office/reports?report=revenue&amp;period=2026-01&amp;by=site%2Cstation"
    assert page.text.count(f'<a href="{by_site}"') == 2 * len(net)
    by_method = "/office/reports?report=revenue&amp;period=2026-01&amp;by=method"
    assert page.text.count(f'<a href="{by_method}"') == len(methods)
    assert 'aria-label="Berlin Depot: ' in page.text
    assert "Net revenue by site, 2026-01 (EUR)" in page.text

    followed = await client.get(html.unescape(by_site))
    assert followed.status_code == 200, followed.text
    assert 'id="report-table"' in followed.text
