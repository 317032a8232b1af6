"""A station's link over time (issue 11 item 19): which protocol version it gets, what a
second connection of it does, what a reboot does to the replay memory, how long stored
answers are kept, and station timestamps from the future. Real websockets, raw frames.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import TokenStatus
from chargeledger.domain.identity import Role
from chargeledger.services.charging import station_status
from tests.integration.ocpp_server import basic_auth, seed_network
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    API,
    CP16,
    CP201,
    Json,
    LoginAs,
    World,
    bounded,
    call_frame,
    meter_value,
    raw_link,
    rejected_frames,
    sampled,
    stored_samples,
    stored_sessions,
    wire,
)

PROTOCOLS = {CP16: "ocpp1.6", CP201: "ocpp2.0.1"}


# --- the protocol version ----------------------------------------------------------------


async def accepted_subprotocol(world: World, charge_point_id: str, offered: list[str]) -> str:
    ws = await bounded(
        websockets.connect(
            f"{world.url}/{charge_point_id}",
            subprotocols=[Subprotocol(p) for p in offered],
            additional_headers=basic_auth(charge_point_id),
        )
    )
    try:
        return str(ws.subprotocol)
    finally:
        await bounded(ws.close())


async def refusal(world: World, charge_point_id: str, offered: list[str]) -> tuple[int, str]:
    connecting = websockets.connect(
        f"{world.url}/{charge_point_id}",
        subprotocols=[Subprotocol(p) for p in offered],
        additional_headers=basic_auth(charge_point_id),
    )
    with pytest.raises(InvalidStatus) as refused:
        await bounded(connecting)
    response = refused.value.response
    return int(response.status_code), response.body.decode()


async def test_a_station_gets_the_version_it_is_registered_with(world: World) -> None:
    """The catalog says which protocol a station speaks. A station offering both (1.6J §3,
    2.0.1 Part 4 §3.1.2: a client may offer several subprotocols) gets its own, whatever
    the order it offers them in; one offering only the other version is refused with 400
    and a reason that names the version it is registered with."""
    both = ["ocpp2.0.1", "ocpp1.6"]
    assert await accepted_subprotocol(world, CP16, both) == "ocpp1.6"
    assert await accepted_subprotocol(world, CP201, both) == "ocpp2.0.1"
    assert await accepted_subprotocol(world, CP201, list(reversed(both))) == "ocpp2.0.1"

    status, reason = await refusal(world, CP16, ["ocpp2.0.1"])
    assert status == 400
    assert "registered for OCPP 1.6" in reason
    assert "ocpp1.6" in reason
    status, reason = await refusal(world, CP201, ["ocpp1.6"])
    assert (status, "registered for OCPP 2.0.1" in reason) == (400, True)

    # Offered both, the 1.6 station speaks 1.6: its StartTransaction gets a transactionId.
    async with raw_link(world.url, CP16, "ocpp2.0.1", "ocpp1.6") as link:
        start = {"connectorId": 1, "idTag": ACTIVE_TAG, "meterStart": 0, "timestamp": wire(0)}
        answer = await link.call("StartTransaction", start, "start")
    assert answer[0] == 3, answer
    assert isinstance(answer[2]["transactionId"], int)


# --- a second connection -------------------------------------------------------------------


async def test_a_second_connection_of_a_station_replaces_the_first(
    world: World, login_as: LoginAs, caplog: pytest.LogCaptureFixture
) -> None:
    """A station that connects again while its old connection is still open (often half-open
    after a network change) takes over: the old connection is closed with 1000 and the
    reason "replaced by a newer connection of this station"; commands go to the new one; the
    old one's end neither marks the station disconnected nor unregisters the new link. When
    the newest connection ends, the station is offline."""
    caplog.set_level(logging.INFO, logger="chargeledger.stations")
    operator = await login_as(Role.OPERATOR)
    path = f"{API}/stations/{world.station_id(CP16)}/commands"

    async with raw_link(world.url, CP16, "ocpp1.6") as first:
        await world.wait_link_state(CP16, connected=True)
        async with raw_link(world.url, CP16, "ocpp1.6") as second:
            with pytest.raises(ConnectionClosed) as closed:
                await first.receive()
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
                1000,
                "replaced by a newer connection of this station",
            )
            await bounded(ended_on_server(caplog, connections=1))

            assert (await world.status(CP16))["connected"] is True
            assert world.runtime.bus.is_connected(CP16)
            command = {"kind": "trigger_message", "message": "Heartbeat"}
            sent = asyncio.create_task(world.http.post(path, json=command, headers=operator))
            try:
                frame = json.loads(await second.receive())
                assert [frame[0], frame[2]] == [2, "TriggerMessage"], frame
                await second.send([3, frame[1], {"status": "Accepted"}])
                response = await bounded(sent)
            finally:
                sent.cancel()
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "Accepted"
            beat = await second.call("Heartbeat", {}, "still-here")
            assert beat[:2] == [3, "still-here"]
    await world.wait_closed_on_server(CP16)
    assert not world.runtime.bus.is_connected(CP16)


async def ended_on_server(caplog: pytest.LogCaptureFixture, connections: int) -> None:
    """The server's connection handler logs its very last step: wait until ``connections``
    of them have finished (the superseded one's disconnect handling is done)."""
    while True:
        ended = [r for r in caplog.records if r.getMessage() == "station disconnected"]
        if len(ended) >= connections:
            return
        await asyncio.sleep(0.02)


async def test_only_the_newest_connection_records_the_disconnection(runtime: Runtime) -> None:
    """Across nodes too (a station reconnecting to another node of a cluster): the link
    state remembers which connection connected last, and an older one's end changes
    nothing."""
    network = await seed_network(runtime)
    station = network.stations[CP16]
    clock = runtime.clock
    async with runtime.uow() as uow:
        await station_status.record_connected(uow, clock, station, "1.6", "old-connection")
        await uow.commit()
    async with runtime.uow() as uow:
        await station_status.record_connected(uow, clock, station, "1.6", "new-connection")
        await uow.commit()
    async with runtime.uow() as uow:
        assert not await station_status.record_disconnected(uow, clock, station, "old-connection")
        await uow.commit()
    async with runtime.uow() as uow:
        state = await uow.station_links.state(station.id)
    assert state is not None
    assert state.connected
    async with runtime.uow() as uow:
        assert await station_status.record_disconnected(uow, clock, station, "new-connection")
        await uow.commit()
    async with runtime.uow() as uow:
        state = await uow.station_links.state(station.id)
    assert state is not None
    assert not state.connected


# --- the replay memory and reboots ---------------------------------------------------------


def boot_payload(protocol: str) -> Json:
    if protocol == "ocpp1.6":
        return {"chargePointVendor": "Test", "chargePointModel": "T1"}
    return {"chargingStation": {"vendorName": "Test", "model": "T1"}, "reason": "PowerUp"}


def authorize_payload(protocol: str) -> Json:
    if protocol == "ocpp1.6":
        return {"idTag": ACTIVE_TAG}
    return {"idToken": {"idToken": ACTIVE_TAG, "type": "ISO14443"}}


def authorization(protocol: str, answer: list[Any]) -> str:
    assert answer[0] == 3, answer
    info = answer[2]["idTagInfo" if protocol == "ocpp1.6" else "idTokenInfo"]
    return str(info["status"])


def start_payload(protocol: str, evse: int, meter_wh: int, seconds: float, tx: str) -> Json:
    """The start of a transaction: 1.6 StartTransaction; 2.0.1 TransactionEvent Started."""
    if protocol == "ocpp1.6":
        return {
            "connectorId": evse,
            "idTag": ACTIVE_TAG,
            "meterStart": meter_wh,
            "timestamp": wire(seconds),
        }
    return event("Started", 0, seconds, tx, evse, meter_wh, "Transaction.Begin")


def event(
    kind: str, seq_no: int, seconds: float, tx: str, evse: int, wh: int, context: str
) -> Json:
    """A 2.0.1 TransactionEvent (Part 2 §E) with one energy register reading."""
    body: Json = {
        "eventType": kind,
        "timestamp": wire(seconds),
        "triggerReason": "Authorized" if kind == "Started" else "MeterValuePeriodic",
        "seqNo": seq_no,
        "transactionInfo": {"transactionId": tx},
        "evse": {"id": evse, "connectorId": 1},
        "meterValue": [meter_value(wire(seconds), {"value": wh, "context": context})],
    }
    if kind == "Started":
        body["idToken"] = {"idToken": ACTIVE_TAG, "type": "ISO14443"}
    return body


START = {"ocpp1.6": "StartTransaction", "ocpp2.0.1": "TransactionEvent"}


@pytest.mark.parametrize("charge_point_id", [CP16, CP201])
async def test_a_station_that_restarts_its_message_ids_after_a_reboot_gets_fresh_answers(
    world: World, charge_point_id: str
) -> None:
    """Many stations count message ids from 1 again after a reboot. Replay memory is scoped
    to the station's boot (each new BootNotification starts an epoch), so after the reboot
    the same ids are new messages: an Authorize gets today's answer (the token was blocked
    meanwhile), not the stored one of the earlier boot, and a start under a used id is a new
    transaction, not "this message id was already used". Within a boot, a repeat still gets
    the very same bytes, the BootNotification included."""
    protocol = PROTOCOLS[charge_point_id]
    boot = call_frame("BootNotification", boot_payload(protocol), "1")
    authorize = call_frame("Authorize", authorize_payload(protocol), "2")
    async with raw_link(world.url, charge_point_id, protocol) as link:
        first_boot = await link.exchange(boot)
        assert json.loads(first_boot)[0] == 3
        assert await link.exchange(boot) == first_boot  # a repeat within the boot
        before = json.loads(await link.exchange(authorize))
        start = call_frame(START[protocol], start_payload(protocol, 1, 1_000, 0, "TX-A"), "3")
        assert json.loads(await link.exchange(start))[0] == 3
    token = world.network.tokens[ACTIVE_TAG]
    blocked = await world.http.patch(
        f"{API}/tokens/{token.id}", json={"status": TokenStatus.BLOCKED}, headers=world.admin
    )
    assert blocked.status_code == 200, blocked.text

    async with raw_link(world.url, charge_point_id, protocol) as link:  # rebooted
        assert json.loads(await link.exchange(boot))[0] == 3
        after = json.loads(await link.exchange(authorize))
        start = call_frame(START[protocol], start_payload(protocol, 2, 5_000, 600, "TX-B"), "3")
        started = await link.exchange(start)
        assert json.loads(started)[0] == 3, started
        assert await link.exchange(start) == started  # exactly once within the new boot

    assert authorization(protocol, before) == "Accepted"
    assert authorization(protocol, after) == "Blocked"
    sessions = await stored_sessions(world.runtime, world.station_id(charge_point_id))
    assert sorted((s.evse_id, s.meter_start_wh) for s in sessions) == [(1, 1_000), (2, 5_000)]
    assert await rejected_frames(world.runtime, charge_point_id) == []


def transaction_frames(protocol: str, tx: str, ids: list[str]) -> list[list[Any]]:
    """A whole transaction: start, one meter reading, stop (1.6 §4.8-4.10, 2.0.1 E01-E07)."""
    if protocol == "ocpp1.6":
        return [
            call_frame("StartTransaction", start_payload(protocol, 1, 10_000, 0, tx), ids[0]),
            # transactionId is filled in once the start's answer is known
            call_frame("MeterValues", {}, ids[1]),
            call_frame("StopTransaction", {}, ids[2]),
        ]
    events = [
        event("Started", 0, 0, tx, 1, 10_000, "Transaction.Begin"),
        event("Updated", 1, 60, tx, 1, 10_500, "Sample.Periodic"),
        event("Ended", 2, 120, tx, 1, 11_000, "Transaction.End"),
    ]
    return [call_frame("TransactionEvent", body, ids[i]) for i, body in enumerate(events)]


async def send_transaction(
    world: World, protocol: str, charge_point_id: str, ids: list[str]
) -> list[list[Any]]:
    """Send the transaction and return the answers; 1.6 frames get the transactionId."""
    frames = transaction_frames(protocol, "TX-R", ids)
    answers = []
    async with raw_link(world.url, charge_point_id, protocol) as link:
        if ids[0] != "s-1":  # after a reboot: a new BootNotification first
            boot = await link.call("BootNotification", boot_payload(protocol), "boot")
            assert boot[0] == 3
        for frame in frames:
            if protocol == "ocpp1.6" and frame[2] != "StartTransaction":
                tx_id = answers[0][2]["transactionId"]
                frame[3] = (
                    {
                        "connectorId": 1,
                        "transactionId": tx_id,
                        "meterValue": [meter_value(wire(60), sampled("10500"))],
                    }
                    if frame[2] == "MeterValues"
                    else {"meterStop": 11_000, "timestamp": wire(120), "transactionId": tx_id}
                )
            answers.append(json.loads(await link.exchange(frame)))
    return answers


@pytest.mark.parametrize("charge_point_id", [CP16, CP201])
async def test_transaction_messages_resent_after_a_reboot_change_nothing(
    world: World, charge_point_id: str
) -> None:
    """After a reboot the replay memory of the earlier boot is gone, so a station that sends
    a finished transaction again (it never saw the answers) is protected by the session's own
    identities: the 1.6 start (same EVSE, tag, time and reading) gets the same
    transactionId, 2.0.1 events are applied once per seqNo, and a stop of a stopped
    transaction changes nothing. One session, its samples once, its energy as before."""
    protocol = PROTOCOLS[charge_point_id]
    station_id = world.station_id(charge_point_id)
    first = await send_transaction(world, protocol, charge_point_id, ["s-1", "m-1", "p-1"])
    (session,) = await stored_sessions(world.runtime, station_id)
    samples = await stored_samples(world.runtime, session.id)

    again = await send_transaction(world, protocol, charge_point_id, ["s-2", "m-2", "p-2"])

    assert [a[0] for a in first + again] == [3] * 6, first + again
    if protocol == "ocpp1.6":
        assert again[0][2]["transactionId"] == first[0][2]["transactionId"]
    (replayed,) = await stored_sessions(world.runtime, station_id)
    assert replayed.id == session.id
    assert (replayed.status, replayed.energy_wh) == (session.status, session.energy_wh)
    assert replayed.energy_wh == 1_000
    assert await stored_samples(world.runtime, session.id) == samples
    if protocol == "ocpp2.0.1":
        async with world.runtime.uow() as uow:
            assert len(await uow.sessions.transaction_events(session.id)) == 3


async def test_stored_answers_are_kept_for_a_bounded_time(world: World) -> None:
    """The periodic job forgets stored answers older than the retention
    (``CHARGELEDGER_OCPP_REPLY_RETENTION_HOURS``, 24 h): before that a repeated message
    gets the stored answer, after it the message is applied afresh."""
    token = world.network.tokens[ACTIVE_TAG]
    authorize = call_frame("Authorize", {"idTag": ACTIVE_TAG}, "auth-1")
    async with raw_link(world.url, CP16, "ocpp1.6") as link:
        first = await link.exchange(authorize)
        blocked = await world.http.patch(
            f"{API}/tokens/{token.id}", json={"status": TokenStatus.BLOCKED}, headers=world.admin
        )
        assert blocked.status_code == 200, blocked.text
        assert await world.runtime.forget_stored_replies() == 0  # younger than 24 h
        assert await link.exchange(authorize) == first

        system_clock = world.runtime.clock
        world.runtime.clock = ShiftedClock(timedelta(hours=24, minutes=1))
        try:
            assert await world.runtime.forget_stored_replies() == 1
        finally:
            world.runtime.clock = system_clock
        fresh = json.loads(await link.exchange(authorize))
    assert json.loads(first)[2]["idTagInfo"]["status"] == "Accepted"
    assert fresh[2]["idTagInfo"]["status"] == "Blocked"


class ShiftedClock:
    """The system clock moved by ``offset``: the runtime's injectable clock (DESIGN §7)."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


# --- station time from the future ----------------------------------------------------------


def ahead(delta: timedelta) -> str:
    """Station time relative to the server's clock (the only wall-clock stamps in here)."""
    return (datetime.now(UTC) + delta).isoformat(timespec="seconds").replace("+00:00", "Z")


FAR = timedelta(days=1)
NEAR = timedelta(minutes=5)  # within the 15-minute tolerance


async def test_16_transaction_messages_from_the_future_are_refused(world: World) -> None:
    """A station clock far ahead would bill time that has not happened: StartTransaction,
    MeterValues and StopTransaction stamped more than the tolerance
    (``CHARGELEDGER_OCPP_FUTURE_TOLERANCE_MINUTES``, 15) after our clock get a
    PropertyConstraintViolation, are kept, and change nothing; a few minutes ahead is a
    clock within tolerance and is taken."""
    station_id = world.station_id(CP16)
    start: Json = {"connectorId": 1, "idTag": ACTIVE_TAG, "meterStart": 0, "timestamp": ""}
    async with raw_link(world.url, CP16, "ocpp1.6") as link:
        refused_start = await link.call("StartTransaction", dict(start, timestamp=ahead(FAR)))
        assert await stored_sessions(world.runtime, station_id) == []
        started = await link.call("StartTransaction", dict(start, timestamp=ahead(NEAR)))
        tx = started[2]["transactionId"]
        values = {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": [meter_value(ahead(FAR), sampled("900"))],
        }
        refused_values = await link.call("MeterValues", values)
        stop = {"meterStop": 1_000, "timestamp": ahead(FAR), "transactionId": tx}
        refused_stop = await link.call("StopTransaction", stop)
        stop_data = dict(
            stop,
            timestamp=ahead(NEAR),
            transactionData=[meter_value(ahead(FAR), sampled("1000"))],
        )
        refused_stop_data = await link.call("StopTransaction", stop_data)
    for answer in (refused_start, refused_values, refused_stop, refused_stop_data):
        assert answer[:3] == [4, answer[1], "PropertyConstraintViolation"], answer
    (session,) = await stored_sessions(world.runtime, station_id)
    assert session.is_open
    assert await stored_samples(world.runtime, session.id) == []
    kept = await rejected_frames(world.runtime, CP16)
    assert [code for _, code in kept] == ["PropertyConstraintViolation"] * 4


async def test_201_transaction_events_from_the_future_are_refused(world: World) -> None:
    """TransactionEvent (2.0.1 E01-E07): an event, or a meter value in it, stamped beyond the
    tolerance is refused with PropertyConstraintViolation and kept; the transaction stays as
    it was."""
    station_id = world.station_id(CP201)

    def stamped(body: Json, event_time: str, value_time: str) -> Json:
        changed = dict(body, timestamp=event_time)
        changed["meterValue"] = [dict(body["meterValue"][0], timestamp=value_time)]
        return changed

    started = event("Started", 0, 0, "TX-F", 1, 1_000, "Transaction.Begin")
    updated = event("Updated", 1, 0, "TX-F", 1, 1_500, "Sample.Periodic")
    ended = event("Ended", 2, 0, "TX-F", 1, 2_000, "Transaction.End")
    async with raw_link(world.url, CP201, "ocpp2.0.1") as link:
        answers = [await link.call("TransactionEvent", stamped(started, ahead(FAR), ahead(NEAR)))]
        assert await stored_sessions(world.runtime, station_id) == []
        accepted = await link.call("TransactionEvent", stamped(started, ahead(NEAR), ahead(NEAR)))
        assert accepted[0] == 3, accepted
        answers.append(
            await link.call("TransactionEvent", stamped(updated, ahead(NEAR), ahead(FAR)))
        )
        answers.append(await link.call("TransactionEvent", stamped(ended, ahead(FAR), ahead(FAR))))
    for answer in answers:
        assert answer[:3] == [4, answer[1], "PropertyConstraintViolation"], answer
    (session,) = await stored_sessions(world.runtime, station_id)
    assert session.is_open
    assert len(await stored_samples(world.runtime, session.id)) == 1  # the start's reading
    kept = await rejected_frames(world.runtime, CP201)
    assert [code for _, code in kept] == ["PropertyConstraintViolation"] * 3
