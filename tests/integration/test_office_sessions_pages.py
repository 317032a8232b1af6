"""The office's sessions pages (issue 16) on SQLite and PostgreSQL, over real OCPP 1.6
sessions: filters, paging, the CSV download, the detail page, and who may open them.

Three sessions on CP16 (token 04AABBCCDD), 30 minutes each, an hour apart from 4 March 2024
08:00 UTC (09:00 in Berlin, +01:00): ``done`` 1,000,000 → 1,011,000 Wh (11 kWh: 0.49 × 11 +
0.35 = 5.74 net, 6.83 gross at 19 %), ``held`` 0 → 48,213,000 Wh (a lifetime register:
quarantined), ``later`` 2,000,000 → 2,004,000 Wh (4 kWh).
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import date
from html import escape, unescape
from zoneinfo import ZoneInfo

import httpx
import pytest
from ocpp.v16 import call as call16

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.domain.payments import PaymentMethodKind
from chargeledger.office import sessions_pages
from chargeledger.services.charging.signed_data import REPORTED_ONLY
from tests.integration.ocpp_support import ACTIVE_TAG, CP16, LoginAs, Station16, World, connected
from tests.integration.office_world import OPERATOR_TZ, office_login, office_world, rows
from tests.integration.payment_world import PaymentWorld
from tests.integration.test_meter_quarantine import session16
from tests.integration.test_signed_readings import session_with_oca_record

Refs = dict[str, str]


@pytest.fixture
async def world(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> AsyncIterator[World]:
    async for served in office_world(runtime, client, login_as):
        yield served


@pytest.fixture
async def ids(world: World) -> Refs:
    async with connected(world.url, Station16) as cp:
        refs = {
            "done": await session16(cp, 1_000_000, 1_011_000, (900, 1_005_000)),
            "held": await session16(cp, 0, 48_213_000, (900, 48_206_000), window=1),
            "later": await session16(cp, 2_000_000, 2_004_000, window=2),
        }
    by_ref = {s["transaction_ref"]: s["id"] for s in await world.sessions_of(CP16)}
    return {name: by_ref[ref] for name, ref in refs.items()}


def berlin_today(runtime: Runtime) -> date:
    return runtime.clock.now().astimezone(ZoneInfo(OPERATOR_TZ)).date()


def series(page: httpx.Response, chart_id: str) -> object:
    found = re.search(rf'id="{chart_id}" data-series="([^"]*)"', page.text)
    assert found is not None, page.text
    return json.loads(unescape(found.group(1)))


async def test_filters_and_paging(
    runtime: Runtime, client: httpx.AsyncClient, world: World, ids: Refs
) -> None:
    await office_login(runtime, client, Role.FINANCE)
    every = await client.get("/office/sessions")
    assert every.status_code == 200
    assert sorted(rows(every)) == sorted(ids.values())
    station = world.station_id(CP16)
    cases = {
        "status=quarantined": [ids["held"]],
        "status=completed": [ids["done"], ids["later"]],
        f"q={ACTIVE_TAG}": list(ids.values()),
        "q=04NOBODY00": [],
        f"q={world.account_id}": list(ids.values()),
        f"station={station}": list(ids.values()),
        f"station={world.station_id('CP201-DC')}": [],
        "from=2024-03-04&to=2024-03-04": list(ids.values()),
        "from=2024-03-05": [],
        "to=2024-03-03": [],
    }
    for query, expected in cases.items():
        page = await client.get(f"/office/sessions?{query}")
        assert page.status_code == 200, query
        assert sorted(rows(page)) == sorted(expected), query
    bad = await client.get("/office/sessions?from=4.3.2024")
    assert bad.status_code == 422
    assert "invalid_filter" in bad.text
    assert rows(bad) == []


async def test_pages_follow_each_other(
    runtime: Runtime,
    client: httpx.AsyncClient,
    world: World,
    ids: Refs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sessions_pages, "PAGE_SIZE", 2)
    await office_login(runtime, client, Role.OPERATOR)
    first = await client.get(f"/office/sessions?q={ACTIVE_TAG}")
    assert len(rows(first)) == 2
    found = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert found is not None
    link = unescape(found.group(1))
    assert f"q={ACTIVE_TAG}" in link  # the filter travels with the page
    second = await client.get(link)
    assert len(rows(second)) == 1
    assert 'rel="next"' not in second.text
    assert 'rel="prev"' in second.text
    assert sorted(rows(first) + rows(second)) == sorted(ids.values())


async def test_the_csv_download(
    runtime: Runtime, client: httpx.AsyncClient, world: World, ids: Refs
) -> None:
    await office_login(runtime, client, Role.FINANCE)
    listed = await client.get("/office/sessions?status=completed")
    assert 'href="/office/sessions?status=completed&amp;format=csv"' in listed.text
    response = await client.get("/office/sessions?status=completed&format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="sessions-{berlin_today(runtime).isoformat()}.csv"'
    )
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == list(sessions_pages.COLUMNS)
    by_id = {line[0]: line for line in table[1:]}
    assert set(by_id) == {ids["done"], ids["later"]}
    station = world.station_id(CP16)
    assert by_id[ids["done"]] == [
        ids["done"],
        (await world.get(f"/sessions/{ids['done']}"))["transaction_ref"],
        CP16,
        "1",
        ACTIVE_TAG,
        str(world.account_id),
        "completed",
        "2024-03-04T09:00:00+01:00",
        "2024-03-04T09:30:00+01:00",
        "11",
        "",
    ]
    assert by_id[ids["later"]][7:10] == [
        "2024-03-04T11:00:00+01:00",
        "2024-03-04T11:30:00+01:00",
        "4",
    ]
    held = await client.get(f"/office/sessions?station={station}&status=quarantined&format=csv")
    [_, line] = list(csv.reader(io.StringIO(held.text)))
    assert (line[0], line[6], line[9]) == (ids["held"], "quarantined", "48213")
    assert line[10] == "zero_start_lifetime_stop"


async def test_the_detail_page(
    runtime: Runtime, client: httpx.AsyncClient, world: World, ids: Refs
) -> None:
    await office_login(runtime, client, Role.OPERATOR)
    page = await client.get(f"/office/sessions/{ids['done']}")
    assert page.status_code == 200
    energy = series(page, "chart-energy")
    assert energy == {
        "unit": "kWh",
        "points": [["09:00:00", "0"], ["09:15:00", "5"], ["09:30:00", "11"]],
    }, energy
    assert series(page, "chart-power") == {"unit": "kW", "points": []}
    assert "5.74 EUR net, 6.83 EUR gross (VAT 19 %)" in page.text
    assert 'id="price-lines"' in page.text
    cost = await world.get(f"/sessions/{ids['done']}/cost")  # the REST API's explanation
    assert cost["lines"]
    for line in cost["lines"]:
        assert escape(line["explanation"]) in page.text
    assert "The station sent no signed meter data" in page.text
    assert "No payment for this session" in page.text
    held = await client.get(f"/office/sessions/{ids['held']}")
    assert held.status_code == 200
    assert "session_under_review" in held.text
    assert 'id="price-lines"' not in held.text
    assert f'href="/office/quarantine#s-{ids["held"]}"' in held.text
    missing = await client.get(f"/office/sessions/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.headers["x-error-code"] == "session_not_found"


async def test_who_may_open_them(
    runtime: Runtime, client: httpx.AsyncClient, world: World, ids: Refs
) -> None:
    client.cookies.clear()
    for path in (
        "/office/sessions",
        f"/office/sessions/{ids['done']}",
        "/office/sessions?format=csv",
    ):
        anonymous = await client.get(path)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == "/office/login"
    for role in (Role.DRIVER, Role.FLEET_MANAGER):
        await office_login(runtime, client, role)
        for path in (
            "/office/sessions",
            f"/office/sessions/{ids['done']}",
            "/office/sessions?format=csv",
        ):
            refused = await client.get(path)
            assert refused.status_code == 403, (role, path)
            assert refused.headers["x-error-code"] == "permission_denied"
    await office_login(runtime, client, Role.ADMIN)
    assert (await client.get("/office/sessions")).status_code == 200
    overview = await client.get("/office")  # the tiles and the nav lead to the new pages
    assert '<a href="/office/sessions?status=active">Live sessions</a>' in overview.text
    assert '<a href="/office/quarantine">Quarantine queue</a>' in overview.text
    assert '<a href="/office/sessions" >Sessions</a>' in overview.text
    live = await client.get("/office/sessions?status=active")
    assert 'href="/office/sessions" aria-current="page"' in live.text


async def test_the_detail_page_shows_signed_data_verdicts(
    runtime: Runtime, client: httpx.AsyncClient, world: World
) -> None:
    """The OCA example record (issue 15, tests/integration/test_signed_readings.py): valid
    with the key the station reported only (``unknown_key``), 0.636 kWh, its times
    informative."""
    session_id = await session_with_oca_record(world, 108_178, 108_814)
    await office_login(runtime, client, Role.FINANCE)
    page = await client.get(f"/office/sessions/{session_id}")
    assert page.status_code == 200
    table = page.text[
        page.text.index('id="signed"') : page.text.index("</table>", page.text.index('id="signed"'))
    ]
    assert "<td>unknown_key</td>" in table
    assert f"<td>{escape(REPORTED_ONLY)}</td>" in table
    assert "<td>station</td>" in table
    assert "Signed energy: 0.636 kWh." in page.text
    assert "<code>time_not_synchronised</code>" in page.text


async def test_the_detail_page_shows_a_checkout_payment_and_its_receipt(
    runtime: Runtime, client: httpx.AsyncClient, pw: PaymentWorld
) -> None:
    """A QR checkout (tests/integration/test_payments_checkout.py): its payment is found by
    the idTag that started the session; held 23.74, captured 6.25 for 10 kWh."""
    token = await pw.tokenise()
    async with connected(pw.world.url, Station16) as cp:
        await cp.request(call16.BootNotification("T1", "Test"))
        started = await client.post(
            f"/pay/{CP16}/1", json={"token": token}, headers={"Idempotency-Key": "office-1"}
        )
        assert started.status_code == 201, started.text
        [(_, remote)] = cp.received
        tx = await cp.start_tx(remote["id_tag"], 50_000)
        await runtime.quiesce()
        await cp.stop_tx(tx, 60_000, 1800)
        await runtime.quiesce()
    [(payment, _)] = await pw.payments_of(PaymentMethodKind.CARD)
    (session,) = [s for s in await pw.world.sessions_of(CP16) if s["transaction_ref"] == str(tx)]
    await office_login(runtime, client, Role.FINANCE)
    page = await client.get(f"/office/sessions/{session['id']}")
    assert page.status_code == 200
    assert "session by card (sandbox): captured" in page.text
    assert f'href="/pay/checkouts/{payment.id}/receipt.pdf"' in page.text
    assert "23.74 EUR" in page.text
    assert "6.25 EUR" in page.text
    receipt = await client.get(f"/pay/checkouts/{payment.id}/receipt.pdf")
    assert receipt.status_code == 200
    assert receipt.content.startswith(b"%PDF")
