"""A driver starts, watches and stops their own charge over the API (issue 16), with a real
OCPP 1.6 charge point on a real websocket (and a 2.0.1 one for RequestStartTransaction): the
start sends RemoteStartTransaction with the driver's own idTag, another account's token is not
found, a double tap with one Idempotency-Key starts once, the live cost arrives as server-sent
events that rise as the station's MeterValues come in and end with the stop, computed like
``/sessions/{id}/cost``.

Every wait is bounded (``ocpp_support.bounded``): the test reads the stream's events as they
come, it never sleeps to let the server work.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Token, TokenType
from chargeledger.domain.identity import Role
from chargeledger.services import customers
from tests.conftest import make_account
from tests.integration.billing_api import TARIFF
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    API,
    BLOCKED_TAG,
    CP16,
    CP201,
    Headers,
    Json,
    LoginAs,
    Station16,
    Station201,
    World,
    bounded,
    connected,
    error_code,
    open_world,
    price_station,
    token_id,
)


@pytest.fixture
async def world(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> AsyncIterator[World]:
    async with open_world(runtime, client, login_as) as served:
        await price_station(runtime, served, CP16, TARIFF)
        yield served


def start_path(world: World, evse: int = 1) -> str:
    return f"/stations/{world.station_id(CP16)}/evses/{evse}/start"


class Events:
    """The ``cost`` events of a server-sent event stream, one at a time (comments skipped)."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def _next(self) -> Json | None:
        data: str | None = None
        async for line in self.lines:
            if line.startswith("data: "):
                data = line.removeprefix("data: ")
            elif line == "" and data is not None:
                event: Json = json.loads(data)
                return event
        return None  # the server ended the stream

    async def next(self) -> Json | None:
        return await bounded(self._next())


async def test_a_driver_starts_watches_and_stops_their_own_charge(
    world: World, login_as: LoginAs
) -> None:
    driver = await login_as(Role.DRIVER, world.account_id)
    http = world.url.removesuffix("/ocpp").replace("ws://", "http://")
    async with connected(world.url, Station16) as cp:
        await world.wait_link_state(CP16, connected=True)
        started = await world.post(
            start_path(world),
            {"token_id": token_id(world, ACTIVE_TAG)},
            {**driver, "Idempotency-Key": "tap-1"},
            status=202,
        )
        assert started["status"] == "Accepted"
        assert cp.received == [
            ("RemoteStartTransaction", {"connector_id": 1, "id_tag": ACTIVE_TAG})
        ]

        tx = await cp.start_tx(ACTIVE_TAG, meter_start=1000)
        session = (await world.sessions_of(CP16, driver))[0]
        assert session["status"] == "active"
        async with (
            httpx.AsyncClient(base_url=http + API, headers=driver) as live,
            live.stream("GET", f"/sessions/{session['id']}/live") as stream,
        ):
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = Events(stream)
            first = await events.next()
            assert first is not None
            assert first["status"] == "live"
            assert first["cost_incl_vat"] is None  # no reading after the start yet
            costs: list[Decimal] = []
            for seconds, wh in ((600, 3000), (1200, 6000), (1800, 11000)):
                await cp.registers(tx, 1, (seconds, wh))
                event = await events.next()
                assert event is not None
                assert event["status"] == "live"
                assert event["duration_s"] == seconds
                assert Decimal(event["energy_kwh"]) == Decimal(wh - 1000) / 1000
                costs.append(Decimal(event["cost_incl_vat"]))
                rest = await world.get(f"/sessions/{session['id']}/cost", driver)
                assert Decimal(rest["total_cost"]["incl_vat"]) == costs[-1]  # one price()
            assert costs == sorted(costs)
            assert len(set(costs)) == 3
            assert costs[-1] == Decimal("4.76")  # 10 kWh at 0.40 EUR + 19 % VAT

            stopped = await world.post(f"/sessions/{session['id']}/stop", {}, driver, 202)
            assert stopped["status"] == "Accepted"
            assert cp.received[-1] == ("RemoteStopTransaction", {"transaction_id": tx})
            await cp.stop_tx(tx, 11000, 1800)
            last = await events.next()
            assert last is not None
            assert last["status"] == "final"
            assert last["ended"] is True
            assert Decimal(last["cost_incl_vat"]) == Decimal("4.76")
            assert await events.next() is None  # the stream ended with the session
        again = await bounded(
            world.http.post(f"{API}/sessions/{session['id']}/stop", headers=driver)
        )
        assert await error_code(again, 409) == "session_not_running"


async def test_a_double_tap_starts_one_session(world: World, login_as: LoginAs) -> None:
    driver = await login_as(Role.DRIVER, world.account_id)
    body = {"token_id": token_id(world, ACTIVE_TAG)}
    async with connected(world.url, Station16) as cp:
        await world.wait_link_state(CP16, connected=True)
        tap = {**driver, "Idempotency-Key": "double-tap"}
        first = await bounded(world.http.post(API + start_path(world), json=body, headers=tap))
        second = await bounded(world.http.post(API + start_path(world), json=body, headers=tap))
        assert first.status_code == second.status_code == 202
        assert second.headers["idempotent-replayed"] == "true"
        assert second.json() == first.json()
        assert [action for action, _ in cp.received] == ["RemoteStartTransaction"]
        tx = await cp.start_tx(ACTIVE_TAG, meter_start=0)
        assert len(await world.sessions_of(CP16, driver)) == 1
        # A new tap while the EVSE charges is refused before it reaches the station.
        busy = await bounded(world.http.post(API + start_path(world), json=body, headers=driver))
        assert await error_code(busy, 409) == "evse_busy"
        assert len(cp.received) == 1
        await cp.stop_tx(tx, 500, 60)


async def test_only_own_active_tokens_and_sessions(
    world: World, runtime: Runtime, login_as: LoginAs
) -> None:
    stranger_account = await make_account(runtime, "Stranger")
    async with runtime.uow() as uow:
        theirs = await customers.create_token(
            uow,
            runtime.clock,
            Token(uid="04STRANGER", type=TokenType.RFID, account_id=stranger_account.id),
        )
        await uow.commit()
    driver = await login_as(Role.DRIVER, world.account_id)
    fleet = await login_as(Role.FLEET_MANAGER, world.account_id)
    stranger = await login_as(Role.DRIVER, stranger_account.id)
    operator = await login_as(Role.OPERATOR)

    async def start(headers: Headers, token: str, evse: int = 1) -> httpx.Response:
        body = {"token_id": token}
        return await bounded(
            world.http.post(API + start_path(world, evse), json=body, headers=headers)
        )

    async with connected(world.url, Station16) as cp:
        await world.wait_link_state(CP16, connected=True)
        assert await error_code(await start(driver, str(theirs.id)), 404) == "token_not_found"
        blocked = await start(driver, token_id(world, BLOCKED_TAG))
        assert await error_code(blocked, 409) == "token_not_active"
        assert await error_code(await start(driver, token_id(world, ACTIVE_TAG), 9), 404) == (
            "evse_not_found"
        )
        assert await error_code(await start(operator, str(theirs.id)), 403) == "permission_denied"
        cp.answers["RemoteStartTransaction"] = "Rejected"
        rejected = await start(fleet, token_id(world, ACTIVE_TAG))
        assert await error_code(rejected, 409) == "start_rejected"
        assert cp.received == [
            ("RemoteStartTransaction", {"connector_id": 1, "id_tag": ACTIVE_TAG})
        ]

        tx = await cp.start_tx(ACTIVE_TAG, meter_start=0)
        session = (await world.sessions_of(CP16, driver))[0]
        live = f"{API}/sessions/{session['id']}/live"
        assert await error_code(await bounded(world.http.get(live, headers=stranger)), 404) == (
            "session_not_found"
        )
        stop = f"{API}/sessions/{session['id']}/stop"
        assert await error_code(await bounded(world.http.post(stop, headers=stranger)), 404) == (
            "session_not_found"
        )
        cp.answers["RemoteStopTransaction"] = "Rejected"
        assert await error_code(await bounded(world.http.post(stop, headers=fleet)), 409) == (
            "stop_rejected"
        )
        await cp.stop_tx(tx, 100, 60)
    offline = await start(driver, token_id(world, ACTIVE_TAG))
    assert await error_code(offline, 409) == "station_offline"


async def test_a_201_station_gets_request_start_with_the_drivers_token(
    world: World, login_as: LoginAs
) -> None:
    driver = await login_as(Role.DRIVER, world.account_id)
    path = f"/stations/{world.station_id(CP201)}/evses/2/start"
    async with connected(world.url, Station201) as cs:
        await world.wait_link_state(CP201, connected=True)
        started = await world.post(path, {"token_id": token_id(world, ACTIVE_TAG)}, driver, 202)
        assert started["status"] == "Accepted"
        [(action, payload)] = cs.received
        assert action == "RequestStartTransaction"
        assert payload["evse_id"] == 2
        assert payload["id_token"]["id_token"] == ACTIVE_TAG
