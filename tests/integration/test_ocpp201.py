"""OCPP 2.0.1 sessions end to end: a real ``ocpp`` charging station over a real websocket
against the real server, checked through the REST API and in the database, on SQLite and
PostgreSQL.

2.0.1 reports a transaction as TransactionEvent Started/Updated/Ended, each with a seqNo
(Part 2 §E, E01-E15); events queued while offline are replayed late, flagged ``offline``, and
need not arrive in order. Whatever the order, one transaction is one session billed to the Wh.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ocpp.v201 import call

from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.identity import Role
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    BLOCKED_TAG,
    CP201,
    REGISTER,
    UNKNOWN_TAG,
    Json,
    LoginAs,
    Station201,
    World,
    at,
    connected,
    meter_value,
    sampled201,
    stored_samples,
    stored_sessions,
    when,
    wire,
)

OCMF_BEGIN = (
    'OCMF|{"FV":"1.0","GI":"TEST DCBM","GS":"0001","PG":"T1","RD":[{"TM":"2024-03-04T08:00:00,'
    '000+0000 S","TX":"B","RV":57.584,"RI":"1-0:1.8.0","RU":"kWh","ST":"G"}]}|'
    '{"SA":"ECDSA-secp256r1-SHA256","SD":"3045022100E1C80E71"}'
)
OCMF_END = OCMF_BEGIN.replace('"TX":"B","RV":57.584', '"TX":"E","RV":58.685')
PUBLIC_KEY = "3059301306072A8648CE3D020106082A8648CE3D030107034200"


def id_token(tag: str, kind: str = "ISO14443") -> Json:
    return {"idToken": tag, "type": kind}


def signed(data: str) -> Json:
    """SignedMeterValueType (2.0.1 Part 2 §2.47): signedMeterData is base64 encoded."""
    return {
        "signedMeterData": base64.b64encode(data.encode()).decode(),
        "signingMethod": "ECDSA-secp256r1-SHA256",
        "encodingMethod": "OCMF",
        "publicKey": PUBLIC_KEY,
    }


def register(seconds: float, wh: float, context: str | None = None, **extra: Any) -> Json:
    return meter_value(wire(seconds), sampled201(wh, context=context, **extra))


async def event(
    station: Station201,
    event_type: str,
    seq_no: int,
    seconds: float,
    trigger: str,
    values: Iterable[Json] = (),
    *,
    tx: str = "TX-201-A",
    state: str | None = None,
    offline: bool | None = None,
    tag: str | None = None,
    stopped_reason: str | None = None,
) -> Any:
    """TransactionEventRequest (2.0.1 Part 2 §E, TransactionEventRequest) on EVSE 1."""
    info: Json = {"transactionId": tx}
    if state is not None:
        info["chargingState"] = state
    if stopped_reason is not None:
        info["stoppedReason"] = stopped_reason
    return await station.request(
        call.TransactionEvent(
            event_type=event_type,
            timestamp=wire(seconds),
            trigger_reason=trigger,
            seq_no=seq_no,
            transaction_info=info,
            meter_value=list(values) or None,
            offline=offline,
            evse={"id": 1, "connectorId": 1},
            id_token=id_token(tag) if tag else None,
        )
    )


def registers(detail: Json) -> list[tuple[Any, Decimal]]:
    return [
        (when(s["timestamp"]), Decimal(s["value"]))
        for s in detail["samples"]
        if s["measurand"] == REGISTER
    ]


async def test_full_transaction_is_captured_with_units_signed_data_and_states(
    world: World,
) -> None:
    """B01 boot, G02 heartbeat, G01 status, C01 authorize, E01-E07 a transaction from Started
    to Ended: one completed session; unitOfMeasure (unit and power-of-ten multiplier) is
    applied exactly; chargingState splits charging from idle time; signedMeterValue is kept
    byte for byte as dispute evidence (DESIGN §1)."""
    async with connected(world.url, Station201) as cs:
        boot = await cs.request(
            call.BootNotification(
                charging_station={"model": "T1", "vendorName": "Test", "firmwareVersion": "2.0.0"},
                reason="PowerUp",
            )
        )
        assert boot.status == "Accepted"
        await cs.request(call.Heartbeat())
        await cs.request(
            call.StatusNotification(
                timestamp=wire(-60), connector_status="Occupied", evse_id=1, connector_id=1
            )
        )
        verdicts = {
            tag: (await cs.request(call.Authorize(id_token=id_token(tag)))).id_token_info["status"]
            for tag in (ACTIVE_TAG, BLOCKED_TAG, UNKNOWN_TAG)
        }
        assert verdicts == {ACTIVE_TAG: "Accepted", BLOCKED_TAG: "Blocked", UNKNOWN_TAG: "Invalid"}

        begin = sampled201(57584, context="Transaction.Begin", signed=signed(OCMF_BEGIN))
        started = await event(
            cs,
            "Started",
            0,
            0,
            "Authorized",
            [meter_value(wire(0), begin)],
            state="Charging",
            tag=ACTIVE_TAG,
        )
        assert started.id_token_info["status"] == "Accepted"
        periodic = meter_value(
            wire(600),
            sampled201(58.1, unit="kWh"),
            sampled201(45, "Power.Active.Import", unit="kW"),
            sampled201(50, "SoC", unit="Percent"),
        )
        await event(cs, "Updated", 1, 600, "MeterValuePeriodic", [periodic])
        await event(
            cs,
            "Updated",
            2,
            1200,
            "ChargingStateChanged",
            [register(1200, 58.6, multiplier=3)],
            state="SuspendedEV",
        )
        end = sampled201(
            58.685, unit="kWh", multiplier=0, context="Transaction.End", signed=signed(OCMF_END)
        )
        await event(
            cs,
            "Ended",
            3,
            1800,
            "EVCommunicationLost",
            [meter_value(wire(1800), end)],
            stopped_reason="EVDisconnected",
        )

        station = await world.status(CP201)
        assert station["connected"] is True
        assert (station["ocpp_version"], station["firmware_version"]) == ("2.0.1", "2.0.0")
        assert station["last_heartbeat_at"] is not None
        assert [(c["evse_id"], c["connector_id"], c["status"]) for c in station["connectors"]] == [
            (1, 1, "Occupied")
        ]

    detail = await world.only_session(CP201)
    assert detail["transaction_ref"] == "TX-201-A"
    assert (detail["status"], detail["quarantine_reasons"]) == ("completed", [])
    assert (detail["ocpp_version"], detail["evse_id"], detail["id_tag"]) == ("2.0.1", 1, ACTIVE_TAG)
    assert detail["account_id"] == str(world.account_id)
    assert Decimal(detail["meter_start_wh"]) == Decimal(57_584)
    assert Decimal(detail["meter_stop_wh"]) == Decimal(58_685)
    assert Decimal(detail["energy_wh"]) == Decimal(1_101)
    assert (when(detail["started_at"]), when(detail["stopped_at"])) == (at(0), at(1800))
    assert detail["stop_reason"] == "EVDisconnected"
    assert (detail["charging_seconds"], detail["idle_seconds"]) == (1200, 600)
    assert registers(detail) == [
        (at(0), Decimal(57_584)),
        (at(600), Decimal(58_100)),
        (at(1200), Decimal(58_600)),
        (at(1800), Decimal(58_685)),
    ]
    power = [s for s in detail["samples"] if s["measurand"] == "Power.Active.Import"]
    assert [(Decimal(s["value"]), s["unit"]) for s in power] == [(Decimal(45_000), "W")]
    events = [(e["seq_no"], e["event_type"], e["offline"]) for e in detail["transaction_events"]]
    assert events == [
        (0, "Started", False),
        (1, "Updated", False),
        (2, "Updated", False),
        (3, "Ended", False),
    ]
    evidence = detail["signed_meter_values"]
    assert [base64.b64decode(v["data"]).decode() for v in evidence] == [OCMF_BEGIN, OCMF_END]
    assert [v["context"] for v in evidence] == ["Transaction.Begin", "Transaction.End"]
    assert {(v["signing_method"], v["encoding_method"], v["public_key"]) for v in evidence} == {
        ("ECDSA-secp256r1-SHA256", "OCMF", PUBLIC_KEY)
    }

    (session,) = await stored_sessions(world.runtime, world.station_id(CP201))
    assert (session.status, session.energy_wh) == (SessionStatus.COMPLETED, Decimal(1_101))
    assert all(
        isinstance(s.value, Decimal) for s in await stored_samples(world.runtime, session.id)
    )


async def test_a_repeated_seq_no_changes_nothing(world: World) -> None:
    """Part 2 §E (seqNo): the CSMS detects duplicates by seqNo. An event resent under a new
    message id, even with different content, is answered and ignored."""
    async with connected(world.url, Station201) as cs:
        await event(cs, "Started", 0, 0, "Authorized", [register(0, 110_000, "Transaction.Begin")])
        await event(cs, "Updated", 1, 600, "MeterValuePeriodic", [register(600, 113_000)])
        await event(cs, "Updated", 1, 900, "MeterValuePeriodic", [register(900, 999_999)])
        await event(cs, "Ended", 2, 1200, "StopAuthorized", [register(1200, 116_000)])
        await event(cs, "Ended", 2, 1500, "StopAuthorized", [register(1500, 118_000)])
        await event(cs, "Started", 0, 300, "Authorized", [register(300, 100_000)])

    detail = await world.only_session(CP201)
    assert registers(detail) == [
        (at(0), Decimal(110_000)),
        (at(600), Decimal(113_000)),
        (at(1200), Decimal(116_000)),
    ]
    assert [e["seq_no"] for e in detail["transaction_events"]] == [0, 1, 2]
    assert (when(detail["started_at"]), when(detail["stopped_at"])) == (at(0), at(1200))
    assert Decimal(detail["energy_wh"]) == Decimal(6_000)
    assert detail["status"] == "completed"


async def test_offline_events_out_of_order_make_one_correct_session(world: World) -> None:
    """E04/E12 offline transactions: queued events come back with ``offline: true`` and in
    any order. An Updated may be the first we hear, Ended may overtake Updated, Started may
    come last; the session still starts at the Started time and reading and bills the Wh."""
    replay = [
        ("Updated", 2, 1200, "MeterValuePeriodic", register(1200, 112_000)),
        ("Ended", 4, 2400, "EVDeparted", register(2400, 118_000, "Transaction.End")),
        ("Updated", 3, 1800, "MeterValuePeriodic", register(1800, 115_000)),
        ("Started", 0, 0, "Authorized", register(0, 100_000, "Transaction.Begin")),
        ("Updated", 1, 600, "MeterValuePeriodic", register(600, 106_000)),
    ]
    async with connected(world.url, Station201) as cs:
        for event_type, seq_no, seconds, trigger, value in replay:
            tag = ACTIVE_TAG if event_type == "Started" else None
            await event(cs, event_type, seq_no, seconds, trigger, [value], offline=True, tag=tag)

    detail = await world.only_session(CP201)
    assert (detail["status"], detail["quarantine_reasons"]) == ("completed", [])
    assert (when(detail["started_at"]), when(detail["stopped_at"])) == (at(0), at(2400))
    assert Decimal(detail["meter_start_wh"]) == Decimal(100_000)
    assert Decimal(detail["meter_stop_wh"]) == Decimal(118_000)
    assert Decimal(detail["energy_wh"]) == Decimal(18_000)
    assert detail["id_tag"] == ACTIVE_TAG
    assert registers(detail) == [
        (at(s), Decimal(wh))
        for s, wh in (
            (0, 100_000),
            (600, 106_000),
            (1200, 112_000),
            (1800, 115_000),
            (2400, 118_000),
        )
    ]
    events = detail["transaction_events"]
    assert [e["seq_no"] for e in events] == [0, 1, 2, 3, 4]
    assert all(e["offline"] for e in events)


async def test_plug_in_first_then_authorized_bills_the_token_account(world: World) -> None:
    """E02 "cable plugin first": the transaction starts when the cable is plugged in (no
    idToken yet) and the idToken comes in a later Updated event with triggerReason
    Authorized (Part 2 §E: the idToken is sent once, in the first event after it is known).
    The session must be billed to the token's account like any other."""
    async with connected(world.url, Station201) as cs:
        await event(
            cs, "Started", 0, 0, "CablePluggedIn", [register(0, 300_000, "Transaction.Begin")]
        )
        await event(cs, "Updated", 1, 30, "Authorized", state="Charging", tag=ACTIVE_TAG)
        await event(cs, "Ended", 2, 1800, "EVDeparted", [register(1800, 310_000)])

    detail = await world.only_session(CP201)
    assert detail["id_tag"] == ACTIVE_TAG
    assert Decimal(detail["energy_wh"]) == Decimal(10_000)
    assert detail["account_id"] == str(world.account_id)


async def test_ended_without_reading_overtaking_updates_still_bills_the_last_register(
    world: World,
) -> None:
    """Part 2 §E: meterValue is optional in an Ended event; the stop reading is then the last
    register the station reported. When offline Updated events arrive after the Ended, their
    readings (earlier in station time than the stop) are the last register."""
    async with connected(world.url, Station201) as cs:
        await event(cs, "Started", 0, 0, "Authorized", [register(0, 200_000, "Transaction.Begin")])
        await event(cs, "Ended", 3, 1800, "EVDeparted", offline=True)
        await event(
            cs, "Updated", 1, 600, "MeterValuePeriodic", [register(600, 203_000)], offline=True
        )
        await event(
            cs, "Updated", 2, 1200, "MeterValuePeriodic", [register(1200, 206_000)], offline=True
        )

    detail = await world.only_session(CP201)
    assert Decimal(detail["meter_stop_wh"]) == Decimal(206_000)
    assert Decimal(detail["energy_wh"]) == Decimal(6_000)


async def test_operator_commands_reach_the_station(world: World, login_as: LoginAs) -> None:
    """F01 RequestStartTransaction (idToken of type Central: the CSMS authorised it), F03
    RequestStopTransaction, H01 ReserveNow and B11/B12 Reset (soft: OnIdle, answered
    Scheduled; hard on one EVSE: Immediate), sent through REST by an operator; the REST
    answer is the station's own status."""
    operator = await login_as(Role.OPERATOR)
    path = f"/stations/{world.station_id(CP201)}/commands"
    async with connected(world.url, Station201) as cs:
        cs.answers["ReserveNow"] = "Occupied"
        await cs.request(call.Heartbeat())  # answered: the server now routes commands to us
        start = {"kind": "remote_start", "evse_id": 1, "id_tag": ACTIVE_TAG}
        assert (await world.post(path, start, operator))["status"] == "Accepted"
        stop = {"kind": "remote_stop", "transaction_ref": "TX-201-A"}
        assert (await world.post(path, stop, operator))["status"] == "Accepted"
        reserve = {
            "kind": "reserve_now",
            "evse_id": 2,
            "id_tag": ACTIVE_TAG,
            "reservation_id": 42,
            "expires_at": "2030-01-01T12:00:00Z",
        }
        assert (await world.post(path, reserve, operator))["status"] == "Occupied"
        cs.answers["Reset"] = "Scheduled"
        soft = {"kind": "reset", "reset_type": "soft"}
        assert (await world.post(path, soft, operator))["status"] == "Scheduled"
        cs.answers["Reset"] = "Accepted"
        hard = {"kind": "reset", "reset_type": "hard", "evse_id": 2}
        assert (await world.post(path, hard, operator))["status"] == "Accepted"

    *received, (a_soft, soft_payload), (a_hard, hard_payload) = cs.received
    assert (a_soft, soft_payload) == ("Reset", {"type": "OnIdle"})
    assert (a_hard, hard_payload) == ("Reset", {"type": "Immediate", "evse_id": 2})
    (a_start, start_payload), (a_stop, stop_payload), (a_reserve, reserve_payload) = received
    assert (a_start, a_stop, a_reserve) == (
        "RequestStartTransaction",
        "RequestStopTransaction",
        "ReserveNow",
    )
    assert start_payload["id_token"] == {"id_token": ACTIVE_TAG, "type": "Central"}
    assert start_payload["evse_id"] == 1
    assert isinstance(start_payload["remote_start_id"], int)
    assert stop_payload == {"transaction_id": "TX-201-A"}
    assert reserve_payload["id"] == 42
    assert reserve_payload["evse_id"] == 2
    assert reserve_payload["id_token"] == {"id_token": ACTIVE_TAG, "type": "Central"}
    assert when(reserve_payload["expiry_date_time"]) == when("2030-01-01T12:00:00Z")
