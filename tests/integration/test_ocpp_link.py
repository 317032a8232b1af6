"""The OCPP-J link itself, frame by frame: exactly-once answers, CALLERRORs for bad frames,
refused credentials, and the operator's command path, over real websockets.

These tests write raw frames (no ``ocpp`` library in between) where the point is the bytes on
the wire: a duplicate must get the very same bytes back (DESIGN §2, exactly once), and a
frame the library would never produce must still get a CALLERROR and be kept (DESIGN §2,
nothing lost, nothing silent).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from ocpp.v16 import call
from sqlalchemy import text
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from chargeledger.domain.identity import Role
from tests.integration.ocpp_server import basic_auth
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    CP16,
    CP201,
    Json,
    LoginAs,
    RawLink,
    Station16,
    World,
    bounded,
    call_frame,
    connected,
    meter_value,
    raw_link,
    rejected_frames,
    sampled,
    stored_samples,
    stored_sessions,
    wire,
)

PROTOCOLS = {CP16: "ocpp1.6", CP201: "ocpp2.0.1"}


async def assert_link_alive(link: RawLink) -> None:
    """A Heartbeat still gets its CALLRESULT: the bad frame did not cost the connection."""
    answer = await link.call("Heartbeat", {}, "alive")
    assert answer[:2] == [3, "alive"], answer


# --- exactly once ----------------------------------------------------------------------------


async def test_a_repeated_call_gets_byte_identical_answers_and_changes_nothing(
    world: World,
) -> None:
    """OCPP-J 1.6 §4.1.1 / 2.0.1 Part 4 §4.1.1: a CALL is identified by its message id. A
    station that did not see our answer sends the same frame again; it must get the same
    bytes (the stored answer, not a recomputation) and nothing may be applied twice."""
    async with raw_link(world.url, CP16, "ocpp1.6") as link:
        start = call_frame(
            "StartTransaction",
            {"connectorId": 1, "idTag": ACTIVE_TAG, "meterStart": 1_000, "timestamp": wire(0)},
            "start-1",
        )
        first = await link.exchange(start)
        assert await link.exchange(start) == first
        tx = json.loads(first)[2]["transactionId"]

        values = call_frame(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": tx,
                "meterValue": [meter_value(wire(60), sampled("1500"))],
            },
            "values-1",
        )
        first_values = await link.exchange(values)
        assert await link.exchange(values) == first_values

        heartbeat = call_frame("Heartbeat", {}, "heartbeat-1")
        first_beat = await link.exchange(heartbeat)
        await asyncio.sleep(0.01)  # a recomputed answer would carry a later currentTime
        assert await link.exchange(heartbeat) == first_beat

    (session,) = await stored_sessions(world.runtime, world.station_id(CP16))
    assert session.transaction_ref == str(tx)
    assert len(await stored_samples(world.runtime, session.id)) == 1

    async with raw_link(world.url, CP201, "ocpp2.0.1") as link:
        started = call_frame(
            "TransactionEvent",
            {
                "eventType": "Started",
                "timestamp": wire(0),
                "triggerReason": "Authorized",
                "seqNo": 0,
                "transactionInfo": {"transactionId": "TX-DUP"},
                "evse": {"id": 1, "connectorId": 1},
                "meterValue": [
                    meter_value(wire(0), {"value": 5000, "context": "Transaction.Begin"})
                ],
            },
            "event-0",
        )
        first_event = await link.exchange(started)
        assert await link.exchange(started) == first_event

    (session,) = await stored_sessions(world.runtime, world.station_id(CP201))
    assert len(await stored_samples(world.runtime, session.id)) == 1
    async with world.runtime.uow() as uow:
        assert len(await uow.sessions.transaction_events(session.id)) == 1
    assert await rejected_frames(world.runtime, CP16) == []


async def test_a_message_id_reused_for_another_message_is_refused(world: World) -> None:
    """A message id must identify one message (OCPP-J §4.1.1). The same id with another
    payload is not a duplicate: it gets a CALLERROR, is kept, and the first message's effect
    stands."""
    async with raw_link(world.url, CP16, "ocpp1.6") as link:
        start = {"connectorId": 1, "idTag": ACTIVE_TAG, "meterStart": 1_000, "timestamp": wire(0)}
        first = await link.call("StartTransaction", start, "same-id")
        assert first[0] == 3
        other = dict(start, meterStart=9_999, timestamp=wire(60))
        refused = await link.call("StartTransaction", other, "same-id")
        assert refused[:3] == [4, "same-id", "ProtocolError"], refused
        await assert_link_alive(link)

    sessions = await stored_sessions(world.runtime, world.station_id(CP16))
    assert [s.meter_start_wh for s in sessions] == [1_000]
    kept = await rejected_frames(world.runtime, CP16)
    assert [code for _, code in kept] == ["ProtocolError"]
    assert json.loads(kept[0][0])[3]["meterStart"] == 9_999


# --- bad frames ------------------------------------------------------------------------------

Case = tuple[str, str, str, set[str]]  # name, frame, message id answered, acceptable codes


def bad_frames(protocol: str) -> list[Case]:
    """One frame per way a station can get it wrong (1.6J §4.2.3, 2.0.1 Part 4 §4.3)."""
    format_code = "FormationViolation" if protocol == "ocpp1.6" else "FormatViolation"
    # 1.6J §4.2.3 has no RpcFrameworkError: an unreadable frame is a FormationViolation there.
    rpc_code = "FormationViolation" if protocol == "ocpp1.6" else "RpcFrameworkError"
    status = (
        {"connectorId": "one", "errorCode": "NoError", "status": "Available"}
        if protocol == "ocpp1.6"
        else {
            "timestamp": wire(0),
            "connectorStatus": "Available",
            "evseId": "one",
            "connectorId": 1,
        }
    )
    return [
        ("not JSON", "this is not json {", "-1", {rpc_code}),
        ("JSON object", '{"messageTypeId": 2, "action": "Heartbeat"}', "-1", {rpc_code}),
        ("numeric message id", '[2, 42, "Heartbeat", {}]', "42", {format_code}),
        (
            "unknown action",
            json.dumps(call_frame("SelfDestruct", {}, "unknown-action")),
            "unknown-action",
            {"NotImplemented"},  # not known at all; NotSupported is for known actions
        ),
        (
            "wrong type in payload",
            json.dumps(call_frame("StatusNotification", status, "wrong-type")),
            "wrong-type",
            {"TypeConstraintViolation"},
        ),
    ]


@pytest.mark.parametrize("charge_point_id", [CP16, CP201])
async def test_bad_frames_get_a_callerror_are_kept_and_the_link_stays_up(
    world: World, charge_point_id: str
) -> None:
    """Every malformed frame is answered with a CALLERROR with the right code and the message
    id we could read ("-1" when none), is kept in ``ocpp_rejected_frames`` with the code we
    answered, and leaves the connection usable."""
    protocol = PROTOCOLS[charge_point_id]
    cases = bad_frames(protocol)
    answers: dict[str, list[Any]] = {}
    async with raw_link(world.url, charge_point_id, protocol) as link:
        for name, frame, _, _ in cases:
            answers[name] = json.loads(await link.exchange(frame))
            await assert_link_alive(link)

    for name, _, message_id, codes in cases:
        answer = answers[name]
        assert answer[:2] == [4, message_id], (name, answer)
        assert answer[2] in codes, (name, answer)
        assert [type(part) for part in answer[3:]] == [str, dict], (name, answer)
    kept = await rejected_frames(world.runtime, charge_point_id)
    assert kept == [(frame, answers[name][2]) for name, frame, _, _ in cases]


async def test_a_16_schema_violation_is_answered_with_a_16_error_code(world: World) -> None:
    """OCPP-J 1.6 §4.2.3 defines FormationViolation for a payload that does not conform to the
    PDU structure; FormatViolation exists only in 2.0.1 and a 1.6 station cannot map it."""
    async with raw_link(world.url, CP16, "ocpp1.6") as link:
        answer = await link.call("Heartbeat", {"unexpected": 1}, "extra-property")
        await assert_link_alive(link)
    assert answer[:3] == [4, "extra-property", "FormationViolation"], answer


# --- credentials -----------------------------------------------------------------------------


async def refused_status(url: str, subprotocols: list[str], headers: dict[str, str]) -> int:
    """The HTTP status with which the upgrade was refused (1.6J §7 / 2.0.1 Part 4 §3)."""
    offered = [Subprotocol(p) for p in subprotocols]
    connecting = websockets.connect(url, subprotocols=offered, additional_headers=headers)
    with pytest.raises(InvalidStatus) as refused:
        await bounded(connecting)
    return int(refused.value.response.status_code)


async def test_wrong_or_missing_credentials_are_refused(world: World) -> None:
    """Security profiles 1 and 2 (2.0.1 Part 2 §A00.FR.2xx, 1.6 security whitepaper): HTTP
    Basic with the charge point id as user name and the station's own password. Anything
    else is refused at the upgrade, and the station does not count as connected."""
    station_url = f"{world.url}/{CP16}"
    good = basic_auth(CP16)
    cases = [
        (
            "wrong password",
            station_url,
            ["ocpp1.6"],
            basic_auth(CP16, "not-the-password-0000"),
            401,
        ),
        ("unknown station", f"{world.url}/CP-NOBODY", ["ocpp1.6"], basic_auth("CP-NOBODY"), 401),
        ("another station's credentials", station_url, ["ocpp1.6"], basic_auth(CP201), 401),
        ("no Authorization header", station_url, ["ocpp1.6"], {}, 401),
        ("not Basic", station_url, ["ocpp1.6"], {"Authorization": "Bearer abc"}, 401),
        ("no subprotocol", station_url, [], good, 400),
        ("unknown subprotocol", station_url, ["ocpp9.9"], good, 400),
    ]
    statuses = {
        name: await refused_status(url, protocols, headers)
        for name, url, protocols, headers, _ in cases
    }
    assert statuses == {name: expected for name, *_, expected in cases}

    status = await world.status(CP16)
    assert status["connected"] is False
    assert status["last_seen_at"] is None
    assert not world.runtime.bus.is_connected(CP16)

    async with connected(world.url, Station16) as cp:
        await cp.request(call.Heartbeat())  # answered: the server has registered the link
        assert (await world.status(CP16))["connected"] is True


# --- operator commands: the error paths and the link's state ---------------------------------


async def test_commands_need_a_connected_station_and_complete_fields(
    world: World, login_as: LoginAs
) -> None:
    """A command for a station that is not connected cannot be delivered: 409
    ``station_offline``, nothing queued silently. A command missing what the OCPP request
    requires (RemoteStartTransaction.idTag, ReserveNow.expiryDate, ...) is refused with 422
    ``missing_field`` naming the field."""
    operator = await login_as(Role.OPERATOR)
    offline = await world.post(
        f"/stations/{world.station_id(CP201)}/commands",
        {"kind": "remote_start", "evse_id": 1, "id_tag": ACTIVE_TAG},
        operator,
        status=409,
    )
    assert offline["error"]["code"] == "station_offline"

    path = f"/stations/{world.station_id(CP16)}/commands"
    incomplete: list[tuple[Json, str]] = [
        ({"kind": "remote_start", "evse_id": 1}, "id_tag"),
        ({"kind": "remote_stop"}, "transaction_ref"),
        (
            {"kind": "reserve_now", "evse_id": 1, "id_tag": ACTIVE_TAG, "reservation_id": 1},
            "expires_at",
        ),
        ({"kind": "cancel_reservation"}, "reservation_id"),
        ({"kind": "change_availability", "evse_id": 1}, "operative"),
        ({"kind": "trigger_message"}, "message"),
        ({"kind": "reset"}, "reset_type"),
    ]
    async with connected(world.url, Station16) as cp:
        for body, field in incomplete:
            refused = await world.post(path, body, operator, status=422)
            assert (refused["error"]["code"], refused["error"]["field"]) == ("missing_field", field)
        driver = await login_as(Role.DRIVER, world.account_id)
        start = {"kind": "remote_start", "evse_id": 1, "id_tag": ACTIVE_TAG}
        await world.post(path, start, driver, status=403)
    assert cp.received == []


async def test_a_station_that_went_away_is_offline(world: World, login_as: LoginAs) -> None:
    """After the socket closes the station is offline: its status says so and a command gets
    409 ``station_offline`` at once instead of being written into a dead connection."""
    operator = await login_as(Role.OPERATOR)
    async with connected(world.url, Station16) as cp:
        await cp.request(call.Heartbeat())  # answered: the server has registered the link
        assert (await world.status(CP16))["connected"] is True
    await world.wait_closed_on_server(CP16)

    assert (await world.status(CP16))["connected"] is False
    refused = await world.post(
        f"/stations/{world.station_id(CP16)}/commands",
        {"kind": "trigger_message", "message": "Heartbeat"},
        operator,
        status=409,
    )
    assert refused["error"]["code"] == "station_offline"


@pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_command_during_a_station_call_does_not_steal_its_answer(
    world: World, login_as: LoginAs
) -> None:
    """OCPP-J lets both sides have one CALL outstanding at the same time (1.6J §4.1.1). An
    operator command sent while a station's CALL is being applied must go out on the wire,
    and the station's CALL must still get its own CALLRESULT.

    To hold the station's Heartbeat inside its handler deterministically, the test locks the
    station's link-state row in PostgreSQL and waits until the server's write is blocked on
    that lock (``pg_blocking_pids``)."""
    operator = await login_as(Role.OPERATOR)
    path = f"/api/v1/stations/{world.station_id(CP16)}/commands"
    engine = world.runtime._factory.engine
    async with raw_link(world.url, CP16, "ocpp1.6") as link, engine.connect() as locker:
        await world.wait_link_state(CP16, connected=True)  # the row to lock exists
        await locker.execute(
            text("SELECT 1 FROM station_states WHERE station_id = :id FOR UPDATE"),
            {"id": world.station_id(CP16)},
        )
        locker_pid = (await locker.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await link.send(call_frame("Heartbeat", {}, "held"))

        async def heartbeat_blocked() -> None:
            waiting = text(
                "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"
            )
            while True:
                if (await locker.execute(waiting, {"pid": locker_pid})).scalar_one():
                    return
                await asyncio.sleep(0.02)

        await bounded(heartbeat_blocked())
        command = asyncio.create_task(
            world.http.post(
                path,
                json={"kind": "remote_start", "evse_id": 1, "id_tag": ACTIVE_TAG},
                headers=operator,
            )
        )
        try:
            frame = json.loads(await bounded(link.receive()))
            assert [frame[0], frame[2]] == [2, "RemoteStartTransaction"], frame
            await link.send([3, frame[1], {"status": "Accepted"}])
            response = await bounded(command)
            assert response.json()["status"] == "Accepted"
        finally:
            await locker.rollback()
            command.cancel()
        answer = json.loads(await link.receive())
        assert answer[:2] == [3, "held"], answer
    assert await rejected_frames(world.runtime, CP16) == []
