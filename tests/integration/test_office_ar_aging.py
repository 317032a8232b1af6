"""The overview's AR aging chart (issue 16) on SQLite and PostgreSQL: January of the standard
billing world invoiced on 2 February 2026, seen on 15 April 2026 (Berlin). Each bar is the
aging report's figure for its bucket (``reports.aging``, the REST and CLI report), each a
link to the invoices in that state."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from datetime import date
from decimal import Decimal

import httpx

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Principal, Role
from chargeledger.services.billing import reports
from chargeledger.services.transactions import reading
from tests.integration.billing_world import (
    OPERATOR_TZ,
    FixedClock,
    run_month,
    standard_world,
    utc,
)
from tests.integration.office_world import office_login

SERIES = re.compile(r'id="chart-ar-aging-EUR" data-series="([^"]+)"')
SEEN_ON = date(2026, 4, 15)


async def test_the_aging_chart_is_the_aging_report(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = await standard_world(runtime)
    await run_month(world, "2026-01")
    runtime.settings = dataclasses.replace(runtime.settings, operator_time_zone=OPERATOR_TZ)
    await office_login(runtime, client, Role.OPERATOR)  # under the system clock (PyJWT)
    runtime.clock = FixedClock(utc("2026-04-15T10:00"))
    page = await client.get("/office")
    assert page.status_code == 200, page.text
    found = SERIES.search(page.text)
    assert found is not None, page.text
    series = json.loads(html.unescape(found.group(1)))
    reader = Principal(subject="test", role=Role.FINANCE)
    report = await reading(runtime.uow, reports.aging, reader, SEEN_ON)
    [total] = report.totals
    assert series["unit"] == "EUR"
    assert [label for label, _ in series["points"]] == ["current", "1–30", "31–60", "61–90", ">90"]
    assert [Decimal(v) for _, v in series["points"]] == list(total.line.buckets)
    assert sum(total.line.buckets) > 0
    assert "Open receivables on 2026-04-15" in page.text
    start = page.text.index('id="chart-ar-aging-EUR"')
    chart = page.text[start : page.text.index("</figure>", start)]
    assert chart.count('<a href="/office/invoices?payment=overdue"') == 4
    assert chart.count('<a href="/office/invoices?payment=open"') == 1


async def test_no_receivables_no_chart(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await office_login(runtime, client, Role.FINANCE)
    page = await client.get("/office")
    assert page.status_code == 200
    assert "No open receivables." in page.text
