"""OCPP 1.6J sessions end to end: a real ``ocpp`` charge point over a real websocket against the
real server, checked through the REST API and in the database, on SQLite and PostgreSQL.

Why end to end: exactly-once capture (DESIGN §2) lives in the seams between the websocket
frame, the stored reply, the session service and the tables; only real messages through the
real edge exercise all of them together.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from ocpp.v16 import call
from typer.testing import CliRunner

from chargeledger.bootstrap import Runtime
from chargeledger.cli import app
from chargeledger.domain.charging import Measurand, QuarantineReason, ReadingContext, SessionStatus
from chargeledger.domain.identity import Role, Scope
from chargeledger.services import identity
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    BLOCKED_TAG,
    CP16,
    REGISTER,
    UNKNOWN_TAG,
    Json,
    LoginAs,
    Station16,
    World,
    at,
    connected,
    meter_value,
    sampled,
    stored_samples,
    stored_sessions,
    when,
    wire,
)


async def status(station: Station16, connector: int, state: str, seconds: float) -> None:
    """StatusNotification.req (OCPP 1.6 §4.9) with the station's own timestamp."""
    await station.request(
        call.StatusNotification(
            connector_id=connector, error_code="NoError", status=state, timestamp=wire(seconds)
        )
    )


async def test_full_session_is_captured_with_exact_energy_time_split_and_samples(
    world: World,
) -> None:
    """Boot, heartbeat, authorize, start, meter values, stop (OCPP 1.6 §4.1-4.10): one
    completed session whose energy is meterStop - meterStart to the Wh, whose charging and
    idle time come from the connector statuses, with every sample kept as Decimal."""
    async with connected(world.url, Station16) as cp:
        boot = await cp.request(call.BootNotification("T1", "Test", firmware_version="1.2.3"))
        assert boot.status == "Accepted"
        assert boot.interval > 0
        await cp.request(call.Heartbeat())
        await status(cp, 1, "Preparing", -60)

        verdicts = {
            tag: (await cp.request(call.Authorize(id_tag=tag))).id_tag_info["status"]
            for tag in (ACTIVE_TAG, BLOCKED_TAG, UNKNOWN_TAG)
        }
        assert verdicts == {ACTIVE_TAG: "Accepted", BLOCKED_TAG: "Blocked", UNKNOWN_TAG: "Invalid"}

        start = await cp.request(
            call.StartTransaction(
                connector_id=1, id_tag=ACTIVE_TAG, meter_start=5_000_000, timestamp=wire(0)
            )
        )
        assert isinstance(start.transaction_id, int)
        assert start.id_tag_info["status"] == "Accepted"
        tx = start.transaction_id
        await status(cp, 1, "Charging", 0)

        live = (await world.get(f"/sessions/live?station_id={world.station_id(CP16)}"))["items"]
        assert [s["transaction_ref"] for s in live] == [str(tx)]

        await cp.request(
            call.MeterValues(
                connector_id=1,
                transaction_id=tx,
                meter_value=[
                    meter_value(
                        wire(900),
                        sampled("5004.250", unit="kWh"),
                        sampled("16.5", "Power.Active.Import", unit="kW"),
                        sampled("40", "SoC", unit="Percent", context="Sample.Periodic"),
                        *(
                            sampled(amps, "Current.Import", unit="A", phase=phase)
                            for phase, amps in (("L1", "24.1"), ("L2", "23.9"), ("L3", "24.0"))
                        ),
                    )
                ],
            )
        )
        await cp.request(
            call.MeterValues(
                connector_id=1,
                transaction_id=tx,
                meter_value=[
                    meter_value(
                        wire(1800),
                        sampled("5009100"),
                        sampled("16600", "Power.Active.Import", unit="W"),
                        sampled("55", "SoC", unit="Percent"),
                    )
                ],
            )
        )
        await status(cp, 1, "SuspendedEV", 3000)
        stop = await cp.stop_tx(
            tx,
            5_012_345,
            3600,
            id_tag=ACTIVE_TAG,
            reason="EVDisconnected",
            transaction_data=[
                meter_value(wire(0), sampled("5000000", context="Transaction.Begin")),
                meter_value(wire(3600), sampled("5012345", context="Transaction.End")),
            ],
        )
        assert stop.id_tag_info["status"] == "Accepted"
        await status(cp, 1, "Finishing", 3601)
        await status(cp, 1, "Available", 3660)

        station = await world.status(CP16)
        assert station["connected"] is True
        assert station["ocpp_version"] == "1.6"
        assert station["firmware_version"] == "1.2.3"
        assert station["last_heartbeat_at"] is not None
        assert station["last_boot_at"] is not None
        connectors = {(c["evse_id"], c["connector_id"]): c for c in station["connectors"]}
        assert connectors[(1, 1)]["status"] == "Available"
        assert when(connectors[(1, 1)]["status_at"]) == at(3660)

    detail = await world.only_session(CP16)
    assert detail["transaction_ref"] == str(tx)
    assert detail["status"] == "completed"
    assert detail["quarantine_reasons"] == []
    assert detail["ocpp_version"] == "1.6"
    assert detail["evse_id"] == 1
    assert detail["id_tag"] == ACTIVE_TAG
    assert detail["account_id"] == str(world.account_id)
    assert Decimal(detail["meter_start_wh"]) == Decimal(5_000_000)
    assert Decimal(detail["meter_stop_wh"]) == Decimal(5_012_345)
    assert Decimal(detail["energy_wh"]) == Decimal(12_345)
    assert when(detail["started_at"]) == at(0)
    assert when(detail["stopped_at"]) == at(3600)
    assert detail["stop_reason"] == "EVDisconnected"
    assert (detail["charging_seconds"], detail["idle_seconds"]) == (3000, 600)

    samples = {(s["measurand"], s["phase"], when(s["timestamp"])): s for s in detail["samples"]}
    assert len(detail["samples"]) == 11
    register_900 = samples[(REGISTER, None, at(900))]
    assert (Decimal(register_900["value"]), register_900["unit"]) == (Decimal(5_004_250), "Wh")
    power_900 = samples[("Power.Active.Import", None, at(900))]
    assert (Decimal(power_900["value"]), power_900["unit"]) == (Decimal(16_500), "W")
    assert Decimal(samples[("SoC", None, at(1800))]["value"]) == 55
    phases = {
        p: Decimal(samples[("Current.Import", p, at(900))]["value"]) for p in ("L1", "L2", "L3")
    }
    assert phases == {"L1": Decimal("24.1"), "L2": Decimal("23.9"), "L3": Decimal("24.0")}
    contexts = [s["context"] for s in detail["samples"] if s["measurand"] == REGISTER]
    assert contexts == [
        "Transaction.Begin",
        "Sample.Periodic",
        "Sample.Periodic",
        "Transaction.End",
    ]
    assert [c["state"] for c in detail["state_changes"]] == ["charging", "idle"]

    (session,) = await stored_sessions(world.runtime, world.station_id(CP16))
    assert session.status is SessionStatus.COMPLETED
    assert session.energy_wh == Decimal(12_345)
    assert isinstance(session.meter_stop_wh, Decimal)
    assert session.account_id == world.account_id
    stored = await stored_samples(world.runtime, session.id)
    assert all(isinstance(s.value, Decimal) for s in stored)
    current = [s for s in stored if s.measurand is Measurand.CURRENT_IMPORT]
    assert sorted(s.phase or "" for s in current) == ["L1", "L2", "L3"]
    assert {s.context for s in stored} >= {
        ReadingContext.TRANSACTION_BEGIN,
        ReadingContext.SAMPLE_PERIODIC,
        ReadingContext.TRANSACTION_END,
    }


async def test_start_resent_under_a_new_message_id_gets_the_same_transaction(world: World) -> None:
    """A station that lost our StartTransaction.conf sends the same start again under a new
    message id (OCPP 1.6 §4.8, queued-message retry): it must get the same transactionId,
    and there must still be one session."""
    async with connected(world.url, Station16) as cp:
        first = await cp.start_tx(ACTIVE_TAG, 1_000_000, 0)
        again = await cp.start_tx(ACTIVE_TAG, 1_000_000, 0)
        assert again == first
    sessions = await stored_sessions(world.runtime, world.station_id(CP16))
    assert [s.transaction_ref for s in sessions] == [str(first)]


async def test_stop_sent_twice_keeps_the_first_result(world: World) -> None:
    """A StopTransaction repeated under a new message id (a retry after a lost .conf) gets a
    normal .conf and changes nothing: the first meterStop and stop time stay billed."""
    async with connected(world.url, Station16) as cp:
        tx = await cp.start_tx(ACTIVE_TAG, 2_000_000, 0)
        await cp.stop_tx(tx, 2_007_000, 1800, reason="Local")
        again = await cp.stop_tx(tx, 2_009_999, 2400, reason="Remote")
        assert again.id_tag_info is None
    detail = await world.only_session(CP16)
    assert detail["status"] == "completed"
    assert Decimal(detail["meter_stop_wh"]) == Decimal(2_007_000)
    assert Decimal(detail["energy_wh"]) == Decimal(7_000)
    assert when(detail["stopped_at"]) == at(1800)
    assert detail["stop_reason"] == "Local"


async def test_offline_replay_after_reconnect_orders_samples_and_keeps_energy(
    world: World,
) -> None:
    """The connection drops mid-session; the station queues MeterValues and replays them
    after reconnecting, late and in shuffled order (OCPP 1.6 §4.7 / §4.10 queued
    transaction messages). The server orders them by station time and bills
    meterStop - meterStart; the registers are monotonic in station time, so no quarantine."""
    async with connected(world.url, Station16) as cp:
        tx = await cp.start_tx(ACTIVE_TAG, 7_000_000, 0, connector=2)
        await cp.registers(tx, 2, (300, 7_001_000))
    await world.wait_closed_on_server(CP16)

    async with connected(world.url, Station16) as cp:
        await cp.request(call.BootNotification("T1", "Test"))
        assert (await world.status(CP16))["connected"] is True
        shuffled = [(1500, 7_005_000), (600, 7_002_000), (1800, 7_006_000), (900, 7_003_000)]
        await cp.registers(tx, 2, *shuffled, (1200, 7_004_000))
        await cp.stop_tx(tx, 7_006_500, 2100, reason="Local")

    detail = await world.only_session(CP16)
    assert detail["status"] == "completed", detail["quarantine_reasons"]
    assert detail["evse_id"] == 2
    assert Decimal(detail["energy_wh"]) == Decimal(6_500)
    times = [when(s["timestamp"]) for s in detail["samples"]]
    assert times == sorted(times)
    assert times == [at(t) for t in (300, 600, 900, 1200, 1500, 1800)]
    assert [Decimal(s["value"]) for s in detail["samples"]] == [
        Decimal(v) for v in (7_001_000, 7_002_000, 7_003_000, 7_004_000, 7_005_000, 7_006_000)
    ]


async def test_stop_for_an_unknown_transaction_is_kept_for_review(world: World) -> None:
    """A StopTransaction for a transactionId we never issued (a start lost before it reached
    us) is answered normally (OCPP 1.6 §4.10: the central system cannot refuse a stop) and
    stored as a session quarantined ``unknown_transaction``: never dropped (DESIGN §2)."""
    async with connected(world.url, Station16) as cp:
        answer = await cp.stop_tx(
            987_654,
            4_512_000,
            1800,
            id_tag=ACTIVE_TAG,
            reason="Local",
            transaction_data=[
                meter_value(wire(0), sampled("4500000", context="Transaction.Begin")),
                meter_value(wire(1800), sampled("4512000", context="Transaction.End")),
            ],
        )
        assert answer.id_tag_info["status"] == "Accepted"
    detail = await world.only_session(CP16)
    assert detail["transaction_ref"] == "987654"
    assert detail["status"] == "quarantined"
    assert detail["quarantine_reasons"] == [QuarantineReason.UNKNOWN_TRANSACTION.value]
    assert Decimal(detail["meter_stop_wh"]) == Decimal(4_512_000)
    assert Decimal(detail["meter_start_wh"]) == Decimal(4_500_000)
    assert detail["account_id"] == str(world.account_id)
    assert len(detail["samples"]) == 2


async def test_driver_sees_only_the_sessions_of_the_own_account(
    world: World, login_as: LoginAs
) -> None:
    """DESIGN §6: a driver is bound to an account and sees that account's sessions only; a
    session of another account is not found (404), not merely forbidden."""
    async with connected(world.url, Station16) as cp:
        tx = await cp.start_tx(ACTIVE_TAG, 1_000, 0)
        await cp.stop_tx(tx, 2_000, 600)
    own = await login_as(Role.DRIVER, world.account_id)
    other = await login_as(Role.DRIVER)

    mine = (await world.get("/sessions", own))["items"]
    assert [s["transaction_ref"] for s in mine] == [str(tx)]
    detail = await world.get(f"/sessions/{mine[0]['id']}", own)
    assert Decimal(detail["energy_wh"]) == Decimal(1_000)

    assert (await world.get("/sessions", other))["items"] == []
    missing = await world.get(f"/sessions/{mine[0]['id']}", other, status=404)
    assert missing["error"]["code"] == "session_not_found"


async def test_operator_commands_reach_the_station_and_return_its_answer(
    world: World, login_as: LoginAs
) -> None:
    """OCPP 1.6 §5.11 RemoteStartTransaction, §5.12 RemoteStopTransaction, §5.13 ReserveNow,
    §5.1 CancelReservation, §5.2 ChangeAvailability, §5.17 TriggerMessage and §5.14 Reset (hard
    and soft), sent by an operator through REST: the station gets the fields it needs, and the
    REST answer is the station's own status word (here one is Rejected, to tell it from a
    constant)."""
    operator = await login_as(Role.OPERATOR)
    path = f"/stations/{world.station_id(CP16)}/commands"
    async with connected(world.url, Station16) as cp:
        await cp.request(call.BootNotification("T1", "Test"))
        tx = await cp.start_tx(ACTIVE_TAG, 100, 0, connector=2)
        cp.answers["CancelReservation"] = "Rejected"
        commands: list[tuple[Json, str, Json, str]] = [
            (
                {"kind": "remote_start", "evse_id": 1, "id_tag": ACTIVE_TAG},
                "RemoteStartTransaction",
                {"id_tag": ACTIVE_TAG, "connector_id": 1},
                "Accepted",
            ),
            (
                {"kind": "remote_stop", "transaction_ref": str(tx)},
                "RemoteStopTransaction",
                {"transaction_id": tx},
                "Accepted",
            ),
            (
                {
                    "kind": "reserve_now",
                    "evse_id": 1,
                    "id_tag": ACTIVE_TAG,
                    "reservation_id": 77,
                    "expires_at": "2030-01-01T12:00:00Z",
                },
                "ReserveNow",
                {"connector_id": 1, "id_tag": ACTIVE_TAG, "reservation_id": 77},
                "Accepted",
            ),
            (
                {"kind": "cancel_reservation", "reservation_id": 77},
                "CancelReservation",
                {"reservation_id": 77},
                "Rejected",
            ),
            (
                {"kind": "change_availability", "evse_id": 2, "operative": False},
                "ChangeAvailability",
                {"connector_id": 2, "type": "Inoperative"},
                "Accepted",
            ),
            (
                {"kind": "trigger_message", "message": "StatusNotification", "evse_id": 1},
                "TriggerMessage",
                {"requested_message": "StatusNotification", "connector_id": 1},
                "Accepted",
            ),
            ({"kind": "reset", "reset_type": "hard"}, "Reset", {"type": "Hard"}, "Accepted"),
            ({"kind": "reset", "reset_type": "soft"}, "Reset", {"type": "Soft"}, "Accepted"),
        ]
        answers = [(await world.post(path, body, operator))["status"] for body, *_ in commands]

    assert answers == [status for *_, status in commands]
    assert [action for action, _ in cp.received] == [action for _, action, _, _ in commands]
    for (_, _, expected, _), (action, payload) in zip(commands, cp.received, strict=True):
        assert {k: payload.get(k) for k in expected} == expected, action
    reserve = dict(cp.received)["ReserveNow"]
    assert when(reserve["expiry_date"]) == when("2030-01-01T12:00:00Z")


async def test_the_cli_resets_a_station(world: World, runtime: Runtime) -> None:
    """``chargeledger stations command ID reset --reset-type hard``: through the running
    server's REST route, with an API key of scope stations:command; the station's answer is
    printed."""
    async with runtime.uow() as uow:
        _, secret = await identity.create_api_key(
            uow, runtime.clock, name="shell", scopes=[Scope.STATIONS_COMMAND]
        )
        await uow.commit()
    server = world.url.replace("ws://", "http://").removesuffix("/ocpp")
    args = ["stations", "command", str(world.station_id(CP16)), "reset"]
    args += ["--reset-type", "hard", "--server", server, "--api-key", secret]
    async with connected(world.url, Station16) as cp:
        await cp.request(call.Heartbeat())  # answered: the server routes commands to us
        result = await asyncio.to_thread(CliRunner().invoke, app, args)
    assert result.exit_code == 0, result.output
    assert "station answered: Accepted" in result.output
    assert cp.received == [("Reset", {"type": "Hard"})]


async def test_starts_on_two_connectors_in_the_same_second_are_two_transactions(
    world: World,
) -> None:
    """A retried StartTransaction is recognised by its content (OCPP 1.6 §4.8 has no other
    identity), but a start on another connector is another transaction, even in the same
    second with the same idTag (a free-vend station uses one idTag for every connector)."""
    async with connected(world.url, Station16) as cp:
        one = await cp.start_tx(ACTIVE_TAG, 1_000, 0, connector=1)
        two = await cp.start_tx(ACTIVE_TAG, 2_000, 0, connector=2)
    sessions = await stored_sessions(world.runtime, world.station_id(CP16))
    assert one != two
    assert sorted((s.evse_id, s.meter_start_wh) for s in sessions) == [
        (1, Decimal(1_000)),
        (2, Decimal(2_000)),
    ]
