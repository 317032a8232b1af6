"""The OCPP edge against frames no well-behaved station sends (issue 11 items 3 and 19):
binary frames, absurdly deep JSON, frames above the size limit, answers to our own CALLs that
cannot be read, and every other way a frame is refused, each in the error spelling of the
station's own protocol version. Each is answered with a CALLERROR (answers to our CALLs: the
waiting command fails at once), kept in ``ocpp_rejected_frames``, and the link stays up; only
a frame above what the server reads at all closes the connection, with 1009.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from chargeledger.bootstrap import Runtime
from chargeledger.config.ocpp import OcppSettings
from chargeledger.domain.identity import Role
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    API,
    CP16,
    CP201,
    Json,
    LoginAs,
    RawLink,
    World,
    bounded,
    call_frame,
    meter_value,
    open_world,
    raw_link,
    rejected_frames,
    sampled,
    wire,
)

PROTOCOLS = {CP16: "ocpp1.6", CP201: "ocpp2.0.1"}
# The error codes as the specifications list them: OCPP-J 1.6 §4.2.3, 2.0.1 Part 4 §4.3.
SPEC_CODES = {
    "ocpp1.6": {
        "NotImplemented",
        "NotSupported",
        "InternalError",
        "ProtocolError",
        "SecurityError",
        "FormationViolation",
        "PropertyConstraintViolation",
        "OccurenceConstraintViolation",
        "TypeConstraintViolation",
        "GenericError",
    },
    "ocpp2.0.1": {
        "FormatViolation",
        "GenericError",
        "InternalError",
        "MessageTypeNotSupported",
        "NotImplemented",
        "NotSupported",
        "OccurrenceConstraintViolation",
        "PropertyConstraintViolation",
        "ProtocolError",
        "RpcFrameworkError",
        "SecurityError",
        "TypeConstraintViolation",
    },
}
LIMIT = OcppSettings().max_frame_bytes
KEPT_HEAD = 4096  # what is kept of a frame longer than 64 K characters


async def assert_link_alive(link: RawLink) -> None:
    answer = await link.call("Heartbeat", {}, "alive")
    assert answer[:2] == [3, "alive"], answer


def station_time(ahead: timedelta) -> str:
    """A station timestamp relative to now: the server holds station time against its own
    clock, so these are the only timestamps here taken from the wall clock."""
    return (datetime.now(UTC) + ahead).isoformat(timespec="seconds").replace("+00:00", "Z")


Case = tuple[str, str | bytes, str, str]  # name, frame, message id answered, code


def refusals(protocol: str) -> list[Case]:
    """Every way a station's frame is refused, with the code the station must get."""
    v16 = protocol == "ocpp1.6"
    fmt = "FormationViolation" if v16 else "FormatViolation"
    rpc = "FormationViolation" if v16 else "RpcFrameworkError"
    message_type = "FormationViolation" if v16 else "MessageTypeNotSupported"
    not_taken = "GetConfiguration" if v16 else "GetVariables"  # CSMS → station only
    if v16:
        bad_type: Json = {"connectorId": "one", "errorCode": "NoError", "status": "Available"}
        missing: tuple[str, Json] = ("StartTransaction", {"connectorId": 1, "meterStart": 0})
        bad_time: tuple[str, Json] = (
            "StartTransaction",
            {"connectorId": 1, "idTag": ACTIVE_TAG, "meterStart": 0, "timestamp": "noonish"},
        )
        future: tuple[str, Json] = (
            "StatusNotification",
            {
                "connectorId": 1,
                "errorCode": "NoError",
                "status": "Available",
                "timestamp": station_time(timedelta(days=1)),
            },
        )
    else:
        status: Json = {"connectorStatus": "Available", "evseId": 1, "connectorId": 1}
        bad_type = dict(status, timestamp=wire(0), evseId="one")
        missing = ("StatusNotification", {"timestamp": wire(0), "connectorStatus": "Available"})
        bad_time = ("StatusNotification", dict(status, timestamp="noonish"))
        future = ("StatusNotification", dict(status, timestamp=station_time(timedelta(days=1))))
    deep = "[" * 5_000  # far beyond the JSON parser's recursion limit, far below the size limit
    frames: list[Case] = [
        ("binary frame", b"\x00\x01binary\xff", "-1", rpc),
        ("not JSON, with a NUL", "\x00 not json", "-1", rpc),
        ("JSON object", '{"messageTypeId": 2, "action": "Heartbeat"}', "-1", rpc),
        ("unknown message type", '[7, "type-7", "Heartbeat", {}]', "type-7", message_type),
        ("numeric message id", '[2, 42, "Heartbeat", {}]', "42", fmt),
        ("cut-off CALL", '[2, "cut-1", "Heartbeat", {', "cut-1", fmt),
        ("5000-deep array", deep, "-1", rpc),
        ("5000-deep CALL", f'[2, "deep-1", "Heartbeat", {{"x": {deep}', "deep-1", fmt),
        (
            "readable but 200 deep",
            f'[2, "deep-2", "Heartbeat", {{"x": {"[" * 200}{"]" * 200}}}]',
            "deep-2",
            fmt,
        ),
        (
            "above the size limit",
            json.dumps(call_frame("Heartbeat", {"pad": "x" * LIMIT}, "big-1")),
            "big-1",
            fmt,
        ),
        (
            "above the size limit in bytes, not in characters",
            json.dumps(
                call_frame("Heartbeat", {"pad": "€" * (LIMIT // 3)}, "big-2"), ensure_ascii=False
            ),
            "big-2",
            fmt,
        ),
        ("above the size limit, no message id", " " * (LIMIT + 1), "-1", rpc),
        (
            "unknown action",
            json.dumps(call_frame("SelfDestruct", {}, "no-such")),
            "no-such",
            "NotImplemented",
        ),
        (
            "action the central system does not take",
            json.dumps(call_frame(not_taken, {}, "not-taken")),
            "not-taken",
            "NotSupported",
        ),
        (
            "wrong type",
            json.dumps(call_frame("StatusNotification", bad_type, "wrong-type")),
            "wrong-type",
            "TypeConstraintViolation",
        ),
        (
            "extra property",
            json.dumps(call_frame("Heartbeat", {"unexpected": 1}, "extra")),
            "extra",
            fmt,
        ),
        ("missing field", json.dumps(call_frame(*missing, "missing")), "missing", "ProtocolError"),
        ("unreadable timestamp", json.dumps(call_frame(*bad_time, "bad-time")), "bad-time", fmt),
        (
            "timestamp a day ahead",
            json.dumps(call_frame(*future, "future")),
            "future",
            "PropertyConstraintViolation",
        ),
    ]
    if v16:  # refused by the handler itself, after the schema check
        values: Json = {
            "connectorId": 1,
            "transactionId": 987654,
            "meterValue": [meter_value(wire(60), sampled("1500"))],
        }
        frames.append(
            (
                "meter values of an unknown transaction",
                json.dumps(call_frame("MeterValues", values, "unknown-tx")),
                "unknown-tx",
                "PropertyConstraintViolation",
            )
        )
    return frames


def kept_as(frame: str | bytes) -> str:
    """How a refused frame is kept: text (a binary frame's bytes decoded, the rest escaped),
    NUL written out, whole up to 64 K characters and else its head."""
    text = frame.decode("utf-8", "backslashreplace") if isinstance(frame, bytes) else frame
    text = text if len(text) <= 65536 else text[:KEPT_HEAD]
    return text.replace("\x00", "\\x00")


@pytest.mark.parametrize("charge_point_id", [CP16, CP201])
async def test_every_refusal_is_spelled_for_the_station_kept_and_the_link_stays_up(
    world: World, charge_point_id: str
) -> None:
    """One frame per way of getting it wrong, on both protocol versions: the CALLERROR names
    the message id we could read ("-1" otherwise, 1.6J §4.2.3 / 2.0.1 Part 4 §4.2.3), its
    code exists in the station's own version (a 1.6 station never sees FormatViolation or
    RpcFrameworkError), the frame is kept with that code, and a Heartbeat is still answered
    after each one. Binary frames (Starlette's ``receive_text`` raised a KeyError) and frames
    nested beyond the parser's recursion limit (a RecursionError) used to end the link."""
    protocol = PROTOCOLS[charge_point_id]
    cases = refusals(protocol)
    answers: dict[str, list[Any]] = {}
    async with raw_link(world.url, charge_point_id, protocol) as link:
        for name, frame, _, _ in cases:
            answers[name] = json.loads(await link.exchange(frame))
            await assert_link_alive(link)

    for name, _, message_id, code in cases:
        answer = answers[name]
        assert answer[:3] == [4, message_id, code], (name, answer)
        assert answer[2] in SPEC_CODES[protocol], (name, answer)
        assert [type(part) for part in answer[3:]] == [str, dict], (name, answer)
    kept = await rejected_frames(world.runtime, charge_point_id)
    assert kept == [(kept_as(frame), code) for _, frame, _, code in cases]


async def test_a_frame_above_what_the_server_reads_closes_with_1009(world: World) -> None:
    """The websocket server buffers at most twice the frame limit (``chargeledger serve``
    passes it as uvicorn's ``ws_max_size``): a larger frame is not read at all and the
    connection closes with 1009 "message too big" (RFC 6455 §7.4.1). The station may
    connect again at once."""
    limit = world.runtime.settings.ocpp.read_limit_bytes
    async with raw_link(world.url, CP16, "ocpp1.6") as link:
        await link.send(json.dumps(call_frame("Heartbeat", {"pad": "x" * limit}, "huge")))
        with pytest.raises(ConnectionClosed) as closed:
            await link.receive()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
    async with raw_link(world.url, CP16, "ocpp1.6") as link:
        await assert_link_alive(link)
    assert await rejected_frames(world.runtime, CP16) == []


async def test_a_100k_deep_frame_under_a_larger_limit_is_answered(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """With a limit above 100 KB (``CHARGELEDGER_OCPP_MAX_FRAME_BYTES``) a frame of 100,000
    ``[`` reaches the JSON parser: it gets a CALLERROR, not a RecursionError that ends the
    connection; so does a CALL whose payload nests that deep."""
    runtime.settings = dataclasses.replace(
        runtime.settings, ocpp=OcppSettings(max_frame_bytes=256 * 1024)
    )
    deep = "[" * 100_000
    async with (
        open_world(runtime, client, login_as) as world,
        raw_link(world.url, CP201, "ocpp2.0.1") as link,
    ):
        garbage = json.loads(await link.exchange(deep))
        await assert_link_alive(link)
        call = json.loads(await link.exchange(f'[2, "deep-1", "Heartbeat", {{"x": {deep}}}]'))
        await assert_link_alive(link)
    assert garbage[:3] == [4, "-1", "RpcFrameworkError"]
    assert call[:3] == [4, "deep-1", "FormatViolation"]
    kept = await rejected_frames(runtime, CP201)
    assert [(len(frame), code) for frame, code in kept] == [
        (KEPT_HEAD, "RpcFrameworkError"),
        (KEPT_HEAD, "FormatViolation"),
    ]


@pytest.mark.parametrize("charge_point_id", [CP16, CP201])
async def test_an_answer_to_our_command_that_cannot_be_read_fails_the_command_at_once(
    world: World, login_as: LoginAs, charge_point_id: str
) -> None:
    """Answers to our CALLs pass the same checks (1.6J §4.2.2, 2.0.1 Part 4 §4.2.2): a
    CALLRESULT nested too deeply, one above the size limit, and a CALLERROR all end the
    operator's command with 409 ``station_call_error`` (not a 500, not a wait for the bus
    timeout); the unreadable ones are kept, none gets a CALLERROR back, the link stays up."""
    protocol = PROTOCOLS[charge_point_id]
    operator = await login_as(Role.OPERATOR)
    path = f"{API}/stations/{world.station_id(charge_point_id)}/commands"
    command = {"kind": "trigger_message", "message": "Heartbeat"}

    def deep(message_id: str) -> str:
        return f'[3, "{message_id}", {{"status": {"[" * 5_000}'

    def big(message_id: str) -> str:
        return json.dumps([3, message_id, {"status": "Accepted", "pad": "x" * LIMIT}])

    def refused(message_id: str) -> str:
        return json.dumps([4, message_id, "NotSupported", "no triggers here", {}])

    async with raw_link(world.url, charge_point_id, protocol) as link:
        await world.wait_link_state(charge_point_id, connected=True)
        for answer_with in (deep, big, refused):
            sent = asyncio.create_task(world.http.post(path, json=command, headers=operator))
            try:
                frame = json.loads(await link.receive())
                assert [frame[0], frame[2]] == [2, "TriggerMessage"], frame
                await link.send(answer_with(frame[1]))
                response = await bounded(sent)
            finally:
                sent.cancel()
            assert response.status_code == 409, response.text
            assert response.json()["error"]["code"] == "station_call_error"
            await assert_link_alive(link)  # and nothing else came back first
    fmt = "FormationViolation" if protocol == "ocpp1.6" else "FormatViolation"
    kept = await rejected_frames(world.runtime, charge_point_id)
    assert [code for _, code in kept] == [fmt, fmt]
