"""A driver reserves an EVSE over the API (issue 16), with a real OCPP 1.6 charge point on a
real websocket: ReserveNow reaches the station with the driver's own idTag and the
reservation's number; a double tap with one Idempotency-Key reserves once; one active
reservation per account, none on a held EVSE, another account's token cannot start there; a
cancellation sends CancelReservation; a start with the reserving token uses the reservation,
and the reservation time is priced into that session by the tariff's RESERVATION element
(OCPI 2.2.1 §11.4.5) — 10 minutes at 6.00 EUR/h is 1.00 EUR on top of the energy.

Time is the runtime's injectable clock (DESIGN §7), moved by the test: nothing waits on the
wall clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Token, TokenType
from chargeledger.domain.identity import Role
from chargeledger.services import customers
from tests.conftest import make_account
from tests.integration.billing_world import FixedClock
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    API,
    CP16,
    CP201,
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

RESERVABLE = {
    "id": "API-KWH-RESERVE",
    "currency": "EUR",
    "elements": [
        {
            "price_components": [
                {"type": "TIME", "price": Decimal("6.00"), "vat": Decimal(19), "step_size": 60}
            ],
            "restrictions": {"reservation": "RESERVATION"},
        },
        {
            "price_components": [
                {"type": "ENERGY", "price": Decimal("0.40"), "vat": Decimal(19), "step_size": 1}
            ]
        },
    ],
}


@pytest.fixture
async def world(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> AsyncIterator[World]:
    async with open_world(runtime, client, login_as) as served:
        await price_station(runtime, served, CP16, RESERVABLE)
        yield served


def reserve_path(world: World, evse: int = 1) -> str:
    return f"/stations/{world.station_id(CP16)}/evses/{evse}/reservations"


async def test_a_reservation_is_used_by_the_start_and_priced_into_the_session(
    world: World, runtime: Runtime, login_as: LoginAs
) -> None:
    driver = await login_as(Role.DRIVER, world.account_id)
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    runtime.clock = clock
    async with connected(world.url, Station16) as cp:
        await world.wait_link_state(CP16, connected=True)
        body = {"token_id": token_id(world), "minutes": 15}
        tap = {**driver, "Idempotency-Key": "reserve-1"}
        first = await bounded(world.http.post(API + reserve_path(world), json=body, headers=tap))
        again = await bounded(world.http.post(API + reserve_path(world), json=body, headers=tap))
        assert first.status_code == again.status_code == 201, first.text
        assert again.json() == first.json()  # the double tap reserved once
        made = first.json()
        assert made["status"] == "active"
        assert made["expires_at"].startswith(
            (clock.current + timedelta(minutes=15)).isoformat()[:19]
        )
        assert [action for action, _ in cp.received] == ["ReserveNow"]
        sent = cp.received[0][1]
        assert sent["connector_id"] == 1
        assert sent["id_tag"] == ACTIVE_TAG
        assert sent["reservation_id"] == made["number"]

        # One active reservation per account; the EVSE is held for this token only.
        other = await bounded(
            world.http.post(API + reserve_path(world, 2), json=body, headers=driver)
        )
        assert await error_code(other, 409) == "reservation_exists"
        mine = await world.get("/reservations", driver)
        assert [r["id"] for r in mine["items"]] == [made["id"]]

        clock.current += timedelta(minutes=10)
        tx = await cp.start_tx(ACTIVE_TAG, meter_start=1000)
        session = (await world.sessions_of(CP16, driver))[0]
        used = await world.get(f"/reservations/{made['id']}", driver)
        assert used["status"] == "used"
        assert used["session_id"] == session["id"]
        await cp.registers(tx, 1, (1200, 6000))
        await cp.stop_tx(tx, 6000, 1200)
        cost = await world.get(f"/sessions/{session['id']}/cost", driver)
        # 5 kWh at 0.40 = 2.00 EUR, 10 min reserved at 6.00 EUR/h = 1.00 EUR; + 19 % VAT
        assert Decimal(cost["total_cost"]["excl_vat"]) == Decimal("3.00")
        assert Decimal(cost["total_cost"]["incl_vat"]) == Decimal("3.57")
        cancel = await bounded(
            world.http.post(f"{API}/reservations/{made['id']}/cancel", headers=driver)
        )
        assert await error_code(cancel, 409) == "reservation_not_active"


async def test_cancel_expire_and_what_others_may_do(
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
    stranger = await login_as(Role.DRIVER, stranger_account.id)
    operator = await login_as(Role.OPERATOR)
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    runtime.clock = clock
    async with connected(world.url, Station16) as cp:
        await world.wait_link_state(CP16, connected=True)
        body = {"token_id": token_id(world), "minutes": 5}
        made = await world.post(reserve_path(world), body, driver, 201)

        # Not the stranger's: their own token cannot reserve or start the held EVSE, our token
        # is not found for them, nor is our reservation.
        for who, token, code, status in (
            (stranger, str(theirs.id), "evse_reserved", 409),
            (stranger, token_id(world), "token_not_found", 404),
            (operator, token_id(world), "permission_denied", 403),
        ):
            refused = await bounded(
                world.http.post(
                    API + reserve_path(world), json={**body, "token_id": token}, headers=who
                )
            )
            assert await error_code(refused, status) == code
        start = await bounded(
            world.http.post(
                f"{API}/stations/{world.station_id(CP16)}/evses/1/start",
                json={"token_id": str(theirs.id)},
                headers=stranger,
            )
        )
        assert await error_code(start, 409) == "evse_reserved"
        hidden = await bounded(world.http.get(f"{API}/reservations/{made['id']}", headers=stranger))
        assert await error_code(hidden, 404) == "reservation_not_found"
        too_long = await bounded(
            world.http.post(
                API + reserve_path(world, 2), json={**body, "minutes": 31}, headers=driver
            )
        )
        assert too_long.status_code == 422

        cancelled = await world.post(f"/reservations/{made['id']}/cancel", {}, driver, 200)
        assert cancelled["status"] == "cancelled"
        assert cp.received[-1] == ("CancelReservation", {"reservation_id": made["number"]})
        twice = await world.post(f"/reservations/{made['id']}/cancel", {}, driver, 200)
        assert twice == cancelled
        assert [a for a, _ in cp.received] == ["ReserveNow", "CancelReservation"]

        # The station's refusal is the driver's answer; nothing is stored.
        cp.answers["ReserveNow"] = "Occupied"
        refused = await bounded(
            world.http.post(API + reserve_path(world), json=body, headers=driver)
        )
        assert await error_code(refused, 409) == "reserve_rejected"
        cp.answers.pop("ReserveNow")

        # One that runs out is expired at once for the API, and written down by the job.
        lapsing = await world.post(reserve_path(world), body, driver, 201)
        clock.current += timedelta(minutes=5)
        shown = await world.get(f"/reservations/{lapsing['id']}", driver)
        assert shown["status"] == "expired"
        assert await runtime.expire_reservations() == 1
        assert await runtime.expire_reservations() == 0
        late = await bounded(
            world.http.post(f"{API}/reservations/{lapsing['id']}/cancel", headers=driver)
        )
        assert await error_code(late, 409) == "reservation_not_active"
        # The EVSE is free again: a new reservation is accepted.
        await world.post(reserve_path(world), body, driver, 201)


async def test_reservations_at_once_reserve_once(
    world: World, runtime: Runtime, login_as: LoginAs
) -> None:
    """Parallel requests with different keys: one account's two taps on two EVSEs, and a
    second account's on the same EVSE, end with one reservation each place: the station gets
    one ReserveNow per reservation stored, the others are refused with a stable code."""
    stranger_account = await make_account(runtime, "Second driver")
    async with runtime.uow() as uow:
        theirs = await customers.create_token(
            uow,
            runtime.clock,
            Token(uid="04SECOND", type=TokenType.RFID, account_id=stranger_account.id),
        )
        await uow.commit()
    driver = await login_as(Role.DRIVER, world.account_id)
    second = await login_as(Role.DRIVER, stranger_account.id)
    async with connected(world.url, Station16) as cp:
        await world.wait_link_state(CP16, connected=True)

        def ask(who: dict[str, str], token: str, evse: int) -> Awaitable[httpx.Response]:
            return bounded(
                world.http.post(
                    API + reserve_path(world, evse),
                    json={"token_id": token, "minutes": 10},
                    headers=who,
                )
            )

        answers = await asyncio.gather(
            ask(driver, token_id(world), 1),
            ask(driver, token_id(world), 2),
            ask(second, str(theirs.id), 1),
        )
        made = [a for a in answers if a.status_code == 201]
        refused = [a for a in answers if a.status_code != 201]
        assert {a.status_code for a in refused} <= {409}
        assert {a.json()["error"]["code"] for a in refused} <= {
            "reservation_busy",
            "reservation_exists",
            "evse_reserved",
        }
        assert len([a for a in made if a.json()["token_id"] == token_id(world)]) == 1
        held = [(a.json()["evse_id"]) for a in made]
        assert len(held) == len(set(held))  # never two on one EVSE
        assert len(cp.received) == len(made)
        async with runtime.uow() as uow:
            stored = await uow.reservations.of_account(world.account_id, 10)
            stored += await uow.reservations.of_account(stranger_account.id, 10)
        assert sorted(r.number for r in stored) == sorted(a.json()["number"] for a in made)


async def test_a_201_station_gets_reserve_now_and_cancel_reservation(
    world: World, login_as: LoginAs
) -> None:
    """OCPP 2.0.1 H01/H02: ReserveNow carries the reservation's number as ``id``, the EVSE,
    the driver's idToken and the expiry; CancelReservation the same number."""
    driver = await login_as(Role.DRIVER, world.account_id)
    async with connected(world.url, Station201) as cs:
        await world.wait_link_state(CP201, connected=True)
        path = f"/stations/{world.station_id(CP201)}/evses/1/reservations"
        made = await world.post(path, {"token_id": token_id(world), "minutes": 20}, driver, 201)
        ((action, sent),) = cs.received
        assert action == "ReserveNow"
        assert (sent["id"], sent["evse_id"]) == (made["number"], 1)
        assert sent["id_token"] == {"id_token": ACTIVE_TAG, "type": "Central"}  # as RequestStart
        assert sent["expiry_date_time"].startswith(made["expires_at"][:19])
        cancelled = await world.post(f"/reservations/{made['id']}/cancel", {}, driver, 200)
        assert cancelled["status"] == "cancelled"
        assert cs.received[-1] == ("CancelReservation", {"reservation_id": made["number"]})
