"""The office's stations pages (issue 16) on SQLite and PostgreSQL: the list with its live
status (filters, paging, CSV), a station's page, who may open them and send commands, and the
commands themselves sent over a real websocket to a real ``ocpp`` 1.6 charge point and to the
project's own simulated 2.0.1 station.

CP16-AC (OCPP 1.6) is connected in most tests: booted, with EVSE 1 Available and EVSE 2
Charging (a transaction started on connector 2), or Faulted when a test says so; CP201-DC
(2.0.1) never connects, so it is offline.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from html import unescape

import httpx
import pytest
from ocpp.v16 import call as call16

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.sim import SimulationOptions, open_station
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    CP16,
    CP201,
    LoginAs,
    Station16,
    World,
    bounded,
    connected,
    wire,
)
from tests.integration.office_world import KEY, office_login, office_world
from tests.integration.test_boot_meter_keys import spec
from tests.integration.test_office_http import csrf_of

LIST = "/office/stations"
STATION_ROW = re.compile(r'data-station="([0-9a-f-]{36})" data-health="([a-z]+)"')


@pytest.fixture
async def world(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> AsyncIterator[World]:
    async for served in office_world(runtime, client, login_as):
        yield served


@contextlib.asynccontextmanager
async def cp16_online(world: World, evse2: str = "Charging") -> AsyncIterator[Station16]:
    """CP16 connected and booted; EVSE 1 Available, EVSE 2 ``evse2``."""
    async with connected(world.url, Station16) as cp:
        await cp.request(call16.BootNotification("T1", "Test"))
        for connector, status in ((1, "Available"), (2, evse2)):
            await cp.request(
                call16.StatusNotification(
                    connector_id=connector,
                    error_code="GroundFailure" if status == "Faulted" else "NoError",
                    status=status,
                    timestamp=wire(60),
                )
            )
        await world.wait_link_state(CP16, connected=True)
        yield cp


def shown(page: httpx.Response) -> dict[str, str]:
    """Station id → health word, as the list shows them."""
    return dict(STATION_ROW.findall(page.text))


def form_of(page: httpx.Response, kind: str, **fields: str) -> dict[str, str]:
    """The ``kind`` command form on a station's page, filled in with ``fields``."""
    start = page.text.index(f'id="form-{kind}"')
    form = page.text[start : page.text.index("</form>", start)]
    key = KEY.search(form)
    assert key is not None, form
    return {"csrf": csrf_of(page), "idempotency_key": key.group(1), "kind": kind, **fields}


def error_code(page: httpx.Response) -> str:
    found = re.search(r"<code>([a-z_]+)</code>", page.text)
    assert found is not None, page.text
    return found.group(1)


async def test_the_list_shows_live_status_and_filters(
    runtime: Runtime, client: httpx.AsyncClient, world: World
) -> None:
    cp16, cp201 = str(world.station_id(CP16)), str(world.station_id(CP201))
    await office_login(runtime, client, Role.FINANCE)
    async with cp16_online(world, evse2="Faulted"):
        every = await client.get(LIST)
        assert every.status_code == 200
        assert shown(every) == {cp16: "faulted", cp201: "offline"}
        assert 'aria-current="page">Stations</a>' in every.text
        site = str(world.network.stations[CP16].site_id)
        cases = {
            "status=faulted": {cp16},
            "status=offline": {cp201},
            "status=online": set(),
            "evse=faulted": {cp16},
            "evse=available": {cp16},
            "evse=offline": {cp201},
            "q=cp201": {cp201},
            "q=nothing-like-it": set(),
            f"site={site}": {cp16, cp201},
            f"site={site}&status=offline&q=dc": {cp201},
        }
        for query, expected in cases.items():
            page = await client.get(f"{LIST}?{query}")
            assert page.status_code == 200, query
            assert set(shown(page)) == expected, query
        csv_page = await client.get(f"{LIST}?format=csv")
    assert csv_page.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_page.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(csv_page.text)))
    assert table[0][:6] == [
        "Station",
        "Site",
        "Serial number",
        "Vendor and model",
        "OCPP",
        "Status",
    ]
    by_station = {line[0]: line for line in table[1:]}
    assert by_station[CP16][5] == "faulted"
    assert by_station[CP16][8] == "1:available 2:faulted"
    assert by_station[CP16][6].endswith("+01:00") or by_station[CP16][6].endswith("+02:00")
    assert by_station[CP201][5:7] == ["offline", ""]
    assert by_station[CP201][8] == "1:offline 2:offline"

    online = await client.get(f"{LIST}?status=online")  # disconnected now: nobody is online
    assert shown(online) == {}


async def test_bad_filters_are_422_pages(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await office_login(runtime, client, Role.OPERATOR)
    for query, field in (("status=asleep", "status"), ("evse=busy", "evse"), ("site=x", "site")):
        page = await client.get(f"{LIST}?{query}")
        assert page.status_code == 422, query
        assert 'id="filter-error"' in page.text
        assert error_code(page) == "invalid_filter"
        assert f"{field}:" in page.text
    huge = await client.get(f"{LIST}?offset=-1")
    assert huge.status_code == 422


async def test_paging(runtime: Runtime, client: httpx.AsyncClient, world: World) -> None:
    from chargeledger.office import stations_pages

    await office_login(runtime, client, Role.OPERATOR)
    stations_pages.PAGE_SIZE, saved = 1, stations_pages.PAGE_SIZE
    try:
        first = await client.get(LIST)
        second = await client.get(f"{LIST}?offset=1")
    finally:
        stations_pages.PAGE_SIZE = saved
    assert len(shown(first)) == len(shown(second)) == 1
    assert set(shown(first)) | set(shown(second)) == {
        str(world.station_id(CP16)),
        str(world.station_id(CP201)),
    }
    assert 'id="next-page"' in first.text
    assert 'id="next-page"' not in second.text
    assert 'rel="prev"' in second.text


async def test_the_station_page(runtime: Runtime, client: httpx.AsyncClient, world: World) -> None:
    station = world.station_id(CP16)
    async with cp16_online(world) as cp:
        tx = await cp.start_tx(ACTIVE_TAG, 1_000, 0, connector=2)
        [session] = await world.sessions_of(CP16)
        await office_login(runtime, client, Role.FINANCE)
        page = await client.get(f"{LIST}/{station}")
        assert page.status_code == 200
        assert 'id="station-health" class="health-online">online<' in page.text
        running = page.text[page.text.index('id="running"') :]
        assert f'href="/office/sessions/{session["id"]}">Transaction {tx}<' in running
        assert '<tr data-evse="2" data-connector="1">' in page.text
        evse2 = page.text[page.text.index('data-evse="2"') :]
        assert '<td class="evse-state">charging</td>' in evse2[: evse2.index("</tr>")]
        assert 'id="commands"' not in page.text  # finance may look, not command

        await office_login(runtime, client, Role.OPERATOR)
        page = await client.get(f"{LIST}/{station}")
        keys = {form_of(page, k)["idempotency_key"] for k in ("remote_start", "reset")}
        assert len(keys) == 2
        for label in re.findall(r'<label for="([^"]+)"', page.text):
            assert f'id="{label}"' in page.text
        stop = form_of(page, "remote_stop")
        assert f'list="running-transactions" value="{tx}"' in page.text
        assert stop["kind"] == "remote_stop"

    missing = await client.get(f"{LIST}/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.headers["x-error-code"] == "station_not_found"


async def test_roles(runtime: Runtime, client: httpx.AsyncClient, world: World) -> None:
    station = world.station_id(CP16)
    await office_login(runtime, client, Role.DRIVER)
    for path in (LIST, f"{LIST}/{station}"):
        page = await client.get(path)
        assert page.status_code == 403
        assert page.headers["x-error-code"] == "permission_denied"
    await office_login(runtime, client, Role.FINANCE)
    page = await client.get(f"{LIST}/{station}")
    refused = await client.post(
        f"{LIST}/{station}/commands",
        data={"csrf": csrf_of(page), "idempotency_key": "k1", "kind": "trigger_message"},
    )
    assert refused.status_code == 403
    assert refused.headers["x-error-code"] == "permission_denied"
    await office_login(runtime, client, Role.OPERATOR)
    page = await client.get(f"{LIST}/{station}")
    forged = await client.post(
        f"{LIST}/{station}/commands",
        data={"csrf": "forged", "idempotency_key": "k2", "kind": "trigger_message"},
    )
    assert forged.status_code == 403
    assert forged.headers["x-error-code"] == "csrf_failed"


async def test_commands_reach_the_station_once(
    runtime: Runtime, client: httpx.AsyncClient, world: World
) -> None:
    """A double click sends one command (the second gets the first's answer), a reset is sent
    only after its confirmation, and the station's own answer is what the page shows."""
    station = world.station_id(CP16)
    path = f"{LIST}/{station}/commands"
    await office_login(runtime, client, Role.OPERATOR)
    async with cp16_online(world) as cp:
        page = await client.get(f"{LIST}/{station}")
        start = form_of(page, "remote_start", evse_id="1", id_tag=ACTIVE_TAG)
        first = await client.post(path, data=start)
        second = await client.post(path, data=start)
        cp.answers["ChangeAvailability"] = "Scheduled"
        availability = form_of(page, "change_availability", evse_id="2", operative="no")
        changed = await client.post(path, data=availability)
        reserve = form_of(
            page,
            "reserve_now",
            evse_id="1",
            id_tag=ACTIVE_TAG,
            reservation_id="77",
            expires_at="2030-01-01T13:00",  # Berlin, +01:00 in winter
        )
        reserved = await client.post(path, data=reserve)

        reset = form_of(page, "reset", reset_type="hard")
        ask = await client.post(path, data=reset)
        received_before_confirming = list(cp.received)
        confirm = {**reset, "confirm": "yes"}
        done = await client.post(path, data=confirm)
        again = await client.post(path, data=confirm)

    for answer in (first, second, reserved, done, again):
        assert answer.status_code == 200, answer.text
        assert '<strong id="command-status">Accepted</strong>' in answer.text
    assert '<strong id="command-status">Scheduled</strong>' in changed.text
    assert ask.status_code == 200
    assert 'id="reset-confirm"' in ask.text
    assert f'value="{reset["idempotency_key"]}"' in ask.text
    assert [a for a, _ in received_before_confirming] == [
        "RemoteStartTransaction",
        "ChangeAvailability",
        "ReserveNow",
    ]
    assert [a for a, _ in cp.received] == [
        "RemoteStartTransaction",
        "ChangeAvailability",
        "ReserveNow",
        "Reset",
    ]
    payloads = dict(cp.received)
    assert payloads["RemoteStartTransaction"] == {"id_tag": ACTIVE_TAG, "connector_id": 1}
    assert payloads["ChangeAvailability"] == {"connector_id": 2, "type": "Inoperative"}
    assert payloads["Reset"] == {"type": "Hard"}
    expiry = datetime.fromisoformat(payloads["ReserveNow"]["expiry_date"].replace("Z", "+00:00"))
    assert expiry == datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


async def test_bad_commands_and_an_offline_station(
    runtime: Runtime, client: httpx.AsyncClient, world: World
) -> None:
    station = world.station_id(CP16)
    path = f"{LIST}/{station}/commands"
    await office_login(runtime, client, Role.OPERATOR)
    async with cp16_online(world) as cp:
        page = await client.get(f"{LIST}/{station}")
        cases = [
            (form_of(page, "remote_start", evse_id="1"), "missing_field"),
            (
                form_of(
                    page,
                    "reserve_now",
                    evse_id="1",
                    id_tag="X",
                    reservation_id="abc",
                    expires_at="2030-01-01T13:00",
                ),
                "invalid_reservation_id",
            ),
            (
                form_of(
                    page,
                    "reserve_now",
                    evse_id="1",
                    id_tag="X",
                    reservation_id="5",
                    expires_at="soon",
                ),
                "invalid_expires_at",
            ),
            (form_of(page, "remote_start", evse_id="0", id_tag="X"), "invalid_evse_id"),
            (form_of(page, "reset", reset_type="gentle"), "invalid_reset_type"),
            (form_of(page, "trigger_message", message="Everything"), "invalid_message"),
            ({**form_of(page, "reset"), "kind": "self_destruct"}, "invalid_kind"),
            (
                {**form_of(page, "reset", reset_type="soft"), "idempotency_key": ""},
                "invalid_idempotency_key",
            ),
        ]
        for form, code in cases:
            refused = await client.post(path, data={**form, "confirm": "yes"})
            assert refused.status_code == 422, (code, refused.text)
            assert 'id="command-error"' in refused.text
            assert error_code(refused) == code
        assert cp.received == []
        kept = await client.post(path, data=cases[1][0])
        assert 'name="id_tag" required maxlength="36" value="X"' in kept.text

    offline = world.station_id(CP201)
    page = await client.get(f"{LIST}/{offline}")
    start = form_of(page, "remote_start", evse_id="1", id_tag=ACTIVE_TAG)
    refused = await client.post(f"{LIST}/{offline}/commands", data=start)
    assert refused.status_code == 409
    assert error_code(refused) == "station_offline"
    assert "is not connected" in refused.text


def series(page: httpx.Response, chart_id: str) -> dict[str, str]:
    found = re.search(rf'id="{chart_id}" data-series="([^"]*)"', page.text)
    assert found is not None, page.text
    return dict(json.loads(unescape(found.group(1)))["points"])


async def test_the_overview_charts_station_availability(
    runtime: Runtime, client: httpx.AsyncClient, world: World
) -> None:
    """Each bar counts what its link lists: the list's rows for a station bar, the stations
    with such an EVSE for an EVSE bar."""
    await office_login(runtime, client, Role.OPERATOR)
    async with cp16_online(world, evse2="Faulted"):
        page = await client.get("/office")
        assert page.status_code == 200
        stations = series(page, "chart-station-availability")
        evses = series(page, "chart-evse-availability")
        listed = {}
        for link in re.findall(r'<li><a href="(/office/stations\?[^"]+)">', page.text):
            listed[link] = set(shown(await client.get(unescape(link))))
    assert stations == {"online": "0", "offline": "1", "faulted": "1"}
    assert evses == {
        "available": "1",
        "charging": "0",
        "reserved": "0",
        "inoperative": "0",
        "faulted": "1",
        "offline": "2",
        "unknown": "0",
    }
    chart = page.text[page.text.index('id="chart-station-availability"') :]
    assert (
        '<a href="/office/stations?status=faulted" aria-label="faulted: 1 stations"><rect' in chart
    )
    assert listed["/office/stations?status=faulted"] == {str(world.station_id(CP16))}
    assert listed["/office/stations?status=offline"] == {str(world.station_id(CP201))}
    assert listed["/office/stations?status=online"] == set()
    assert listed["/office/stations?evse=offline"] == {str(world.station_id(CP201))}
    assert listed["/office/stations?evse=charging"] == set()
    assert 'id="chart-revenue-by-day"' in page.text  # the other charts are still there


async def test_commands_to_the_simulated_station(
    runtime: Runtime, client: httpx.AsyncClient, world: World
) -> None:
    """The project's own simulator (OCPP 2.0.1) as the station: a remote start from the page
    really starts a session there (shown on the page, linked to its own); a soft reset while
    it charges is Scheduled (2.0.1 B12: OnIdle waits for the transaction), a hard one Accepted;
    the reset's confirmation sends nothing."""
    station = world.station_id(CP201)
    path = f"{LIST}/{station}/commands"
    await office_login(runtime, client, Role.OPERATOR)
    realtime = SimulationOptions(duration_s=3600.0, hours=1.0)  # the session outlasts the test
    async with open_station(world.url, spec(CP201), realtime):
        await world.wait_link_state(CP201, connected=True)
        page = await client.get(f"{LIST}/{station}")
        start = form_of(page, "remote_start", evse_id="1", id_tag=ACTIVE_TAG)
        started = await client.post(path, data=start)
        assert '<strong id="command-status">Accepted</strong>' in started.text

        async def session_started() -> list[dict[str, str]]:
            while True:
                found = await world.sessions_of(CP201)
                if found:
                    return found
                await asyncio.sleep(0.02)

        [session] = await bounded(session_started())
        assert session["status"] == "active"
        page = await client.get(f"{LIST}/{station}")
        running = page.text[page.text.index('id="running"') :]
        assert f'href="/office/sessions/{session["id"]}"' in running

        answers = {}
        for kind in ("soft", "hard"):
            page = await client.get(f"{LIST}/{station}")  # a fresh form, a fresh key
            reset = form_of(page, "reset", reset_type=kind)
            ask = await client.post(path, data=reset)
            assert 'id="reset-confirm"' in ask.text
            done = await client.post(path, data={**reset, "confirm": "yes"})
            found = re.search(r'<strong id="command-status">([A-Za-z]+)</strong>', done.text)
            assert found is not None, done.text
            answers[kind] = found.group(1)
    assert answers == {"soft": "Scheduled", "hard": "Accepted"}
