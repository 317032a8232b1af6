"""The simulator against a bare ``ocpp``-library server over real websockets.

The server here only answers (1.6: increasing integer transactionIds) and records every frame it
receives, so the tests can hold the simulator's truth file against what really went over the
wire: register deltas equal the truth energy to the Wh, each fault looks the way the truth says.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint as Server16Base
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as Server201Base
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from chargeledger.adapters.meter_signatures import OcmfSignatureVerifier
from chargeledger.domain.ocmf import SignatureVerdict, parse_ocmf
from chargeledger.domain.ocmf_energy import signed_energy
from chargeledger.sim import (
    EvseSpec,
    FaultKind,
    SimulationOptions,
    SimulationReport,
    StationSpec,
    TokenSpec,
    meter_identity,
    open_station,
    run_simulation,
)
from chargeledger.sim.cli import main as sim_main
from chargeledger.sim.live import Live
from chargeledger.sim.model import OcppVersion, PowerType, TokenType
from chargeledger.sim.plan import StopReason, draw_session, station_rng

START = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
PASSWORD = "correct-horse-battery-staple"
TOKENS = [TokenSpec("RFID-0001", TokenType.RFID), TokenSpec("APP-0002", TokenType.APP)]
NOW = "2025-03-02T00:00:00Z"
VERIFIER = OcmfSignatureVerifier()


@dataclass
class Received:
    """One CALL frame as the server got it, in arrival order."""

    cp_id: str
    unique_id: str
    action: str
    payload: dict[str, Any]


@dataclass
class Recorder:
    calls: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    connections: Counter[str] = field(default_factory=Counter)
    start_tx: dict[str, int] = field(default_factory=dict)  # StartTransaction msg id -> tx id
    servers: dict[str, Any] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def of(self, cp_id: str, action: str | None = None) -> list[Received]:
        return [
            c for c in self.calls if c.cp_id == cp_id and (action is None or c.action == action)
        ]

    async def wait_for(self, cp_id: str, action: str, count: int = 1) -> None:
        async with asyncio.timeout(10):
            while True:
                self.arrived.clear()
                if len(self.of(cp_id, action)) >= count:
                    return
                await self.arrived.wait()

    async def first_transaction_id(self, cp_id: str) -> int:
        """The id this server assigned to the station's first StartTransaction (the frame is
        logged on arrival, the id once the handler ran: wait for the next frame after it)."""
        async with asyncio.timeout(10):
            while True:
                self.arrived.clear()
                starts = self.of(cp_id, "StartTransaction")
                if starts and starts[0].unique_id in self.start_tx:
                    return self.start_tx[starts[0].unique_id]
                await self.arrived.wait()


class Recording:
    """The websocket as the ``ocpp`` ChargePoint sees it, logging each received CALL."""

    def __init__(self, ws: ServerConnection, cp_id: str, recorder: Recorder) -> None:
        self.ws, self.cp_id, self.recorder = ws, cp_id, recorder

    async def recv(self) -> str:
        raw = await self.ws.recv()
        assert isinstance(raw, str)
        msg = json.loads(raw)
        if msg[0] == 2:
            self.recorder.calls.append(Received(self.cp_id, msg[1], msg[2], msg[3]))
            self.recorder.arrived.set()
        return raw

    async def send(self, raw: str) -> None:
        await self.ws.send(raw)


class Server16(Server16Base):
    recorder: Recorder

    @on("BootNotification")
    def boot(self, **_: Any) -> Any:
        return result16.BootNotification(current_time=NOW, interval=300, status="Accepted")

    @on("Heartbeat")
    def heartbeat(self, **_: Any) -> Any:
        return result16.Heartbeat(current_time=NOW)

    @on("StatusNotification")
    def status(self, **_: Any) -> Any:
        return result16.StatusNotification()

    @on("Authorize")
    def authorize(self, **_: Any) -> Any:
        return result16.Authorize(id_tag_info={"status": "Accepted"})

    @on("StartTransaction")
    def start_tx(self, call_unique_id: str, **_: Any) -> Any:
        tx = next(self.recorder.ids)  # a duplicate frame gets a new id: this server is bare
        self.recorder.start_tx.setdefault(call_unique_id, tx)
        return result16.StartTransaction(transaction_id=tx, id_tag_info={"status": "Accepted"})

    @on("MeterValues")
    def meter_values(self, **_: Any) -> Any:
        return result16.MeterValues()

    @on("StopTransaction")
    def stop_tx(self, **_: Any) -> Any:
        return result16.StopTransaction(id_tag_info={"status": "Accepted"})


class Server201(Server201Base):
    @on("BootNotification")
    def boot(self, **_: Any) -> Any:
        return result201.BootNotification(current_time=NOW, interval=300, status="Accepted")

    @on("Heartbeat")
    def heartbeat(self, **_: Any) -> Any:
        return result201.Heartbeat(current_time=NOW)

    @on("StatusNotification")
    def status(self, **_: Any) -> Any:
        return result201.StatusNotification()

    @on("Authorize")
    def authorize(self, **_: Any) -> Any:
        return result201.Authorize(id_token_info={"status": "Accepted"})

    @on("TransactionEvent")
    def transaction_event(self, **_: Any) -> Any:
        return result201.TransactionEvent()

    @on("MeterValues")
    def meter_values(self, **_: Any) -> Any:
        return result201.MeterValues()


@dataclass
class BareServer:
    url: str
    recorder: Recorder


@pytest.fixture
async def server() -> AsyncIterator[BareServer]:
    recorder = Recorder()

    def check_auth(connection: ServerConnection, request: Request) -> Response | None:
        cp_id = request.path.rsplit("/", 1)[-1]
        expected = "Basic " + base64.b64encode(f"{cp_id}:{PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return connection.respond(401, "unauthorized\n")
        return None

    async def handler(ws: ServerConnection) -> None:
        cp_id = ws.request.path.rsplit("/", 1)[-1] if ws.request else "?"
        recorder.connections[cp_id] += 1
        base = Server16 if ws.subprotocol == "ocpp1.6" else Server201
        cp = base(cp_id, Recording(ws, cp_id, recorder))
        cp.recorder = recorder
        recorder.servers[cp_id] = cp
        with contextlib.suppress(ConnectionClosed):
            await cp.start()

    async with serve(
        handler,
        "127.0.0.1",
        0,
        subprotocols=["ocpp1.6", "ocpp2.0.1"],
        process_request=check_auth,
        compression=None,
    ) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        yield BareServer(f"ws://127.0.0.1:{port}/ocpp", recorder)


# -- what the server saw, per transaction ------------------------------------------------------


@dataclass
class Seen:
    start_wh: Decimal | None = None
    start_ts: str | None = None
    stop_wh: Decimal | None = None
    stop_ts: str | None = None
    stop_reason: str | None = None
    id_tag: str | None = None
    stops: int = 0
    samples: list[tuple[str, Decimal]] = field(default_factory=list)  # arrival order
    seq_nos: list[int] = field(default_factory=list)
    updated_seq_nos: list[int] = field(default_factory=list)
    offline: list[bool] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    signed: list[str] = field(default_factory=list)  # OCMF records sent with the stop


def _register(sampled: list[dict[str, Any]], context: str) -> Decimal | None:
    for value in sampled:
        if (
            value.get("measurand", "Energy.Active.Import.Register")
            == "Energy.Active.Import.Register"
            and value.get("context") == context
        ):
            return Decimal(str(value["value"]))
    return None


def seen16(rec: Recorder, cp_id: str) -> dict[str, Seen]:
    out: dict[str, Seen] = defaultdict(Seen)
    for c in rec.of(cp_id):
        p = c.payload
        if c.action == "StartTransaction":
            s = out[str(rec.start_tx[c.unique_id])]
            s.message_ids.append(c.unique_id)
            s.start_wh, s.start_ts, s.id_tag = Decimal(p["meterStart"]), p["timestamp"], p["idTag"]
        elif c.action == "MeterValues" and "transactionId" in p:
            s = out[str(p["transactionId"])]
            s.message_ids.append(c.unique_id)
            for mv in p["meterValue"]:
                value = _register(mv["sampledValue"], "Sample.Periodic")
                if value is not None:
                    s.samples.append((mv["timestamp"], value))
        elif c.action == "StopTransaction":
            s = out[str(p["transactionId"])]
            s.message_ids.append(c.unique_id)
            s.stops += 1
            s.stop_wh, s.stop_ts, s.stop_reason = (
                Decimal(p["meterStop"]),
                p["timestamp"],
                p["reason"],
            )
            s.signed += [
                v["value"]
                for mv in p.get("transactionData", [])
                for v in mv["sampledValue"]
                if v.get("format") == "SignedData"
            ]
    return out


def seen201(rec: Recorder, cp_id: str) -> dict[str, Seen]:
    out: dict[str, Seen] = defaultdict(Seen)
    for c in rec.of(cp_id, "TransactionEvent"):
        p = c.payload
        s = out[p["transactionInfo"]["transactionId"]]
        s.message_ids.append(c.unique_id)
        s.seq_nos.append(p["seqNo"])
        s.offline.append(bool(p.get("offline", False)))
        sampled = [v for mv in p.get("meterValue", []) for v in mv["sampledValue"]]
        if p["eventType"] == "Started":
            s.start_wh = _register(sampled, "Transaction.Begin")
            s.start_ts, s.id_tag = p["timestamp"], p["idToken"]["idToken"]
        elif p["eventType"] == "Updated":
            s.updated_seq_nos.append(p["seqNo"])
            for mv in p.get("meterValue", []):
                value = _register(mv["sampledValue"], "Sample.Periodic")
                if value is not None:
                    s.samples.append((mv["timestamp"], value))
        else:
            s.stops += 1
            s.stop_wh, s.stop_ts = _register(sampled, "Transaction.End"), p["timestamp"]
            s.signed += [
                base64.b64decode(v["signedMeterValue"]["signedMeterData"]).decode()
                for v in sampled
                if "signedMeterValue" in v
            ]
            s.stop_reason = p["transactionInfo"].get("stoppedReason")
    return out


def seen_all(rec: Recorder, report: SimulationReport) -> dict[tuple[str, str], Seen]:
    out: dict[tuple[str, str], Seen] = {}
    for cp_id, version in {(r.charge_point_id, r.ocpp_version) for r in report.truth}:
        view = seen16(rec, cp_id) if version == "1.6" else seen201(rec, cp_id)
        out.update({(cp_id, ref): s for ref, s in view.items()})
    return out


def assert_billable_match(report: SimulationReport, rec: Recorder) -> None:
    """Every billable session arrived with register values equal to the truth, to the Wh."""
    seen = seen_all(rec, report)
    for r in report.truth:
        if r.expected != "billable":
            continue
        assert r.transaction_ref is not None, r
        s = seen[(r.charge_point_id, r.transaction_ref)]
        assert s.start_wh == Decimal(r.meter_start_wh), r
        assert s.stop_wh == Decimal(r.meter_stop_wh or "nan"), r
        assert s.stop_wh - s.start_wh == Decimal(r.energy_wh), r
        assert s.id_tag == r.id_tag
        if "clock_skew" not in r.faults:
            assert (s.start_ts, s.stop_ts) == (r.started_at, r.stopped_at)
        registers = [v for _, v in sorted(s.samples)]
        assert registers == sorted(registers)
        assert all(s.start_wh <= v <= s.stop_wh for v in registers)


def assert_signed(report: SimulationReport, rec: Recorder, seed: int) -> None:
    """Every stop carried the meter's OCMF record (issue 15): it names the station's meter,
    verifies with the key ``meter_identity`` derives, and proves the true energy; a
    ``tampered_meter`` record proves more than the truth and does not verify; a
    ``bad_meter_signature`` record proves the truth and does not verify either."""
    seen = seen_all(rec, report)
    for r in report.truth:
        if r.meter_stop_wh is None or r.transaction_ref is None:
            continue  # never stopped: no record
        identity = meter_identity(seed, r.charge_point_id)
        texts = set(seen[(r.charge_point_id, r.transaction_ref)].signed)
        assert len(texts) == 1, r  # a duplicated stop repeats the very same record
        record = parse_ocmf(texts.pop())
        assert record.meter_serial == identity.serial
        assert record.identification == r.id_tag
        energy = signed_energy([record]).kwh
        verdict = VERIFIER.check(record, identity.public_key_hex).verdict
        if FaultKind.TAMPERED_METER.value in r.faults:
            assert verdict is SignatureVerdict.INVALID_SIGNATURE, r
            assert energy > Decimal(r.energy_wh) / 1000, r
        elif FaultKind.BAD_METER_SIGNATURE.value in r.faults:
            assert verdict is SignatureVerdict.INVALID_SIGNATURE, r  # not the meter's key
            assert energy == Decimal(r.energy_wh) / 1000, r
        else:
            assert verdict is SignatureVerdict.VALID, r
            assert energy == Decimal(r.energy_wh) / 1000, r
    for cp_id in {r.charge_point_id for r in report.truth if r.ocpp_version == "1.6"}:
        for boot in rec.of(cp_id, "BootNotification"):
            assert boot.payload["meterSerialNumber"] == meter_identity(seed, cp_id).serial


# -- helpers -------------------------------------------------------------------------------------


def ac(evse_id: int, kw: str = "22") -> EvseSpec:
    return EvseSpec(evse_id, 1, Decimal(kw), PowerType.AC_3_PHASE)


def dc(evse_id: int, kw: str = "150") -> EvseSpec:
    return EvseSpec(evse_id, 1, Decimal(kw), PowerType.DC)


def station(cp_id: str, version: str, *evses: EvseSpec) -> StationSpec:
    return StationSpec(cp_id, PASSWORD, OcppVersion(version), evses or (ac(1), dc(2)))


async def simulate(
    server: BareServer,
    stations: Sequence[StationSpec],
    *,
    seed: int = 7,
    duration: float = 3.0,
    hours: float = 10.0,
    sessions: tuple[int, int] = (2, 3),
    faults: dict[FaultKind, float] | None = None,
) -> SimulationReport:
    options = SimulationOptions(
        seed=seed,
        duration_s=duration,
        hours=hours,
        sessions_per_evse=sessions,
        faults=faults or {},
        start_at=START,
    )
    async with asyncio.timeout(duration + 30):
        return await run_simulation(server.url, stations, TOKENS, options)


# -- tests ---------------------------------------------------------------------------------------


async def test_both_versions_complete_sessions_matching_truth(server: BareServer) -> None:
    stations = [station("CP-16", "1.6"), station("CP-201", "2.0.1")]
    report = await simulate(server, stations)
    rec = server.recorder
    assert report.sessions_planned == len(report.truth) >= 8
    assert report.sessions_completed == report.sessions_planned
    assert report.call_errors == 0
    assert not report.stations_failed
    assert {r.ocpp_version for r in report.truth} == {"1.6", "2.0.1"}
    assert all(r.energy_wh > 0 and r.expected == "billable" for r in report.truth)
    assert_billable_match(report, rec)
    assert_signed(report, rec, seed=7)
    assert report.p50_ms is not None
    assert report.p99_ms is not None
    assert report.messages_sent == len(rec.calls)


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


ALL_FAULTS = {kind: 0.04 for kind in FaultKind}


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_each_fault_looks_the_way_the_truth_says(server: BareServer, version: str) -> None:
    specs = [station(f"F{version}-{i}", version) for i in range(5)]
    report = await simulate(server, specs, duration=4.0, faults=ALL_FAULTS)
    rec = server.recorder
    assert report.call_errors == 0
    assert not report.stations_failed
    by_fault = {k: [r for r in report.truth if k.value in r.faults] for k in FaultKind}
    assert all(by_fault.values()), {k: len(v) for k, v in by_fault.items()}
    assert all(len(r.faults) <= 1 for r in report.truth)
    for r in report.truth:
        reason = FaultKind(r.faults[0]).quarantine_reason if r.faults else None
        assert r.expected == ("billable" if reason is None else f"quarantine:{reason.value}")
    assert_billable_match(report, rec)  # transport faults keep the energy to the Wh
    assert_signed(report, rec, seed=7)
    seen = seen_all(rec, report)

    def view(r: Any) -> Seen:
        return seen[(r.charge_point_id, r.transaction_ref)]

    for r in by_fault[FaultKind.DISCONNECT] + by_fault[FaultKind.REORDER]:
        assert rec.connections[r.charge_point_id] >= 2
        assert len(rec.of(r.charge_point_id, "BootNotification")) >= 2
        if version == "2.0.1":
            assert any(view(r).offline)
    assert report.reconnects >= 2
    for r in by_fault[FaultKind.DUPLICATE]:
        assert 2 in Counter(view(r).message_ids).values()  # the very same frame, twice
    for r in by_fault[FaultKind.REORDER]:
        if version == "1.6":
            stamps = [ts for ts, _ in view(r).samples]
            assert stamps != sorted(stamps)
        else:
            assert view(r).updated_seq_nos != sorted(view(r).updated_seq_nos)
            # A CALL in flight when the socket closed is sent again after the reconnect (its
            # answer never came), so a seqNo may arrive twice; none may be missing.
            seq_nos = view(r).seq_nos
            assert sorted(set(seq_nos)) == list(range(max(seq_nos) + 1))
    for r in by_fault[FaultKind.CLOCK_SKEW]:
        s = view(r)
        skew = _seconds(s.start_ts or "") - _seconds(r.started_at)
        assert 300 <= abs(skew) <= 1800
        assert _seconds(s.stop_ts or "") - _seconds(r.stopped_at or "") == skew
    for r in by_fault[FaultKind.ZERO_START_LIFETIME_STOP]:
        assert view(r).start_wh == 0
        assert view(r).stop_wh == Decimal(r.meter_stop_wh or 0)
        assert r.meter_start_wh > 1_000_000
    for r in by_fault[FaultKind.NON_MONOTONIC_REGISTER]:
        registers = [v for _, v in sorted(view(r).samples)]
        assert any(b < a for a, b in itertools.pairwise(registers))
    for r in by_fault[FaultKind.NEGATIVE_ENERGY]:
        s = view(r)
        assert s.start_wh == r.meter_start_wh
        assert s.stop_wh is not None
        assert s.stop_wh < s.start_wh
    for r in by_fault[FaultKind.ENERGY_ABOVE_MAX_POWER]:
        s = view(r)
        assert s.start_wh is not None
        assert s.stop_wh is not None
        max_kw = 22 if r.evse_id == 1 else 150
        hours = Decimal(str(_seconds(r.stopped_at or "") - _seconds(r.started_at))) / 3600
        assert s.stop_wh - s.start_wh > 3 * max_kw * 1000 * hours
    for r in by_fault[FaultKind.TAMPERED_METER]:  # only the signed record was edited
        assert view(r).start_wh == r.meter_start_wh
        assert view(r).stop_wh == r.meter_stop_wh
    for r in by_fault[FaultKind.NO_STOP_RECEIVED]:
        s = view(r)
        assert s.stops == 0
        assert r.stopped_at is None
        assert r.meter_stop_wh is None
        assert s.samples
        assert s.samples[-1][1] <= r.meter_start_wh + r.energy_wh
        later = [
            o
            for o in report.truth
            if (o.charge_point_id, o.evse_id) == (r.charge_point_id, r.evse_id)
            and o.started_at > r.started_at
        ]
        assert later == []  # the EVSE is unusable for the rest of the run


async def test_same_seed_gives_the_same_truth(server: BareServer) -> None:
    specs = [station("D-16", "1.6"), station("D-201", "2.0.1")]
    faults = {FaultKind.DISCONNECT: 0.2, FaultKind.DUPLICATE: 0.2, FaultKind.NEGATIVE_ENERGY: 0.1}
    first = await simulate(server, specs, seed=11, duration=2.0, faults=faults)
    second = await simulate(server, specs, seed=11, duration=2.0, faults=faults)

    def comparable(report: SimulationReport) -> list[dict[str, Any]]:
        rows = [r.to_json_dict() for r in report.truth]
        for row in rows:
            if row["ocpp_version"] == "1.6":
                row["transaction_ref"] = None  # assigned by the server
        return rows

    assert comparable(first) == comparable(second)
    assert len(first.truth) >= 8
    assert first.faults == second.faults
    third = await simulate(server, specs, seed=12, duration=2.0, faults=faults)
    assert comparable(third) != comparable(first)


async def test_remote_start_stop_and_commands_1_6(server: BareServer) -> None:
    rec = server.recorder
    run = asyncio.ensure_future(
        simulate(server, [station("R-16", "1.6")], sessions=(0, 0), hours=4)
    )
    await rec.wait_for("R-16", "StatusNotification", 2)
    cp = rec.servers["R-16"]
    started = await cp.call(call16.RemoteStartTransaction(id_tag="REMOTE-1", connector_id=1))
    assert started.status == "Accepted"
    tx = await rec.first_transaction_id("R-16")
    unknown = await cp.call(call16.RemoteStopTransaction(transaction_id=tx + 1000))
    assert unknown.status == "Rejected"
    for request in (
        call16.ReserveNow(connector_id=2, expiry_date=NOW, id_tag="X", reservation_id=5),
        call16.CancelReservation(reservation_id=5),
        call16.ChangeAvailability(connector_id=2, type="Operative"),
        call16.TriggerMessage(requested_message="StatusNotification", connector_id=2),
        call16.Reset(type="Soft"),
    ):
        assert (await cp.call(request)).status == "Accepted"
    await asyncio.sleep(0.3)  # let the remote session charge a little
    assert (await cp.call(call16.RemoteStopTransaction(transaction_id=tx))).status == "Accepted"
    report = await run
    assert report.call_errors == 0
    [truth] = report.truth
    assert truth.id_tag == "REMOTE-1"
    assert truth.transaction_ref == str(tx)
    s = seen16(rec, "R-16")[str(tx)]
    assert s.stop_reason == "Remote"
    assert s.stop_wh is not None
    assert s.start_wh is not None
    assert s.stop_wh - s.start_wh == truth.energy_wh > 0
    assert not rec.of("R-16", "Authorize")  # authorized by the CSMS already


async def test_remote_start_stop_2_0_1(server: BareServer) -> None:
    rec = server.recorder
    run = asyncio.ensure_future(
        simulate(server, [station("R-201", "2.0.1")], sessions=(0, 0), hours=4)
    )
    await rec.wait_for("R-201", "StatusNotification", 2)
    cp = rec.servers["R-201"]
    token = {"id_token": "APP-9", "type": "Central"}
    started = await cp.call(
        call201.RequestStartTransaction(id_token=token, remote_start_id=42, evse_id=1)
    )
    assert started.status == "Accepted"
    await rec.wait_for("R-201", "TransactionEvent")
    first = rec.of("R-201", "TransactionEvent")[0].payload
    assert first["triggerReason"] == "RemoteStart"
    assert first["transactionInfo"]["remoteStartId"] == 42
    assert first["idToken"] == {"idToken": "APP-9", "type": "Central"}
    tx = first["transactionInfo"]["transactionId"]
    for request in (
        call201.ReserveNow(id=3, expiry_date_time=NOW, id_token=token, evse_id=2),
        call201.CancelReservation(reservation_id=3),
        call201.ChangeAvailability(operational_status="Operative", evse={"id": 2}),
        call201.TriggerMessage(requested_message="MeterValues", evse={"id": 1}),
        call201.TriggerMessage(requested_message="TransactionEvent", evse={"id": 1}),
        call201.Reset(type="Immediate"),
    ):
        assert (await cp.call(request)).status == "Accepted"
    # B12: a reset on idle waits for the running transaction
    assert (await cp.call(call201.Reset(type="OnIdle"))).status == "Scheduled"
    await rec.wait_for("R-201", "MeterValues")
    await asyncio.sleep(0.3)
    assert (await cp.call(call201.RequestStopTransaction(transaction_id=tx))).status == "Accepted"
    unknown = await cp.call(call201.RequestStopTransaction(transaction_id="no-such-tx"))
    assert unknown.status == "Rejected"
    report = await run
    assert report.call_errors == 0
    [triggered] = rec.of("R-201", "MeterValues")
    assert triggered.payload["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
    [truth] = report.truth
    s = seen201(rec, "R-201")[tx]
    assert truth.transaction_ref == tx
    assert s.stop_reason == "Remote"
    assert s.stop_wh is not None
    assert s.start_wh is not None
    assert s.stop_wh - s.start_wh == truth.energy_wh > 0


async def test_raw_frames_and_credentials(server: BareServer) -> None:
    async with open_station(server.url, station("RAW-16", "1.6")) as sim:
        reply = await sim.send_raw('[2,"bad-1","NoSuchAction",{}]')
        assert reply is not None
        assert json.loads(reply)[:3] == [4, "bad-1", "NotSupported"]
        assert await sim.send_raw("{not json", wait_s=0.3) is None  # this server stays silent
        beat = await sim.call(call16.Heartbeat())
        assert beat.current_time == NOW
    wrong = StationSpec("RAW-201", "wrong-password-123456", OcppVersion.V201, (ac(1),))
    with pytest.raises(ConnectionError, match="401"):
        async with open_station(server.url, wrong):
            pass


async def test_compressed_time_stays_inside_the_simulated_day(server: BareServer) -> None:
    report = await simulate(server, [station("T-201", "2.0.1")], duration=2.0, hours=24)
    end = START.timestamp() + 24 * 3600
    stamps = [
        _seconds(c.payload["timestamp"])
        for c in server.recorder.of("T-201")
        if "timestamp" in c.payload
    ]
    assert stamps
    assert all(START.timestamp() <= t <= end for t in stamps)
    assert report.sessions_completed == report.sessions_planned >= 4


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_offline_start_is_queued_and_replayed_in_order(
    server: BareServer, version: str
) -> None:
    """A transaction that starts and stops while the station is offline: everything waits,
    then goes out in order after a fresh BootNotification; 1.6 MeterValues carry the id the
    CSMS assigned on replay, 2.0.1 events say ``offline: true``."""
    rec = server.recorder
    cp_id = f"OFF-{version}"
    async with open_station(server.url, station(cp_id, version, ac(1))) as sim:
        await rec.wait_for(cp_id, "BootNotification")
        await sim.link.go_offline()
        rng = station_rng(1, cp_id)
        plan = draw_session(rng, f"{cp_id}/1/0", ac(1), 0, 600, 3600, TOKENS[:1])
        live = Live(plan=plan, meter_start_wh=5_000_000)
        sim.send_begin(live, 600)
        sim.send_sample(live, 900, 0, 5_001_000)
        sim.send_sample(live, 1200, 1, 5_002_000)
        live.stop_reason = StopReason.EV_DISCONNECTED
        sim.send_end(live, 1500, 5_002_500)
        await asyncio.sleep(0.2)
        assert len(rec.of(cp_id)) == 1  # only the first BootNotification got through
        assert await sim.link.come_back()
        action = "StopTransaction" if version == "1.6" else "TransactionEvent"
        await rec.wait_for(cp_id, action, 1 if version == "1.6" else 4)
    actions = [c.action for c in rec.of(cp_id)]
    assert actions[:2] == ["BootNotification", "BootNotification"]
    view = (seen16 if version == "1.6" else seen201)(rec, cp_id)
    [(ref, s)] = view.items()
    assert (s.start_wh, s.stop_wh) == (Decimal(5_000_000), Decimal(5_002_500))
    assert [v for _, v in s.samples] == [Decimal(5_001_000), Decimal(5_002_000)]
    if version == "1.6":
        assert ref == sim.transaction_ref(live)
        assert actions.index("StartTransaction") < actions.index("MeterValues")
    else:
        assert s.seq_nos == [0, 1, 2, 3]
        assert all(s.offline)


async def test_command_line_json_progress_and_truth_file(
    server: BareServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stations = tmp_path / "stations.json"
    stations.write_text(
        json.dumps(
            [
                {
                    "charge_point_id": "CLI-1",
                    "password": PASSWORD,
                    "ocpp_version": "1.6",
                    "evses": [
                        {
                            "evse_id": 1,
                            "connector_id": 1,
                            "max_power_kw": 11,
                            "power_type": "AC_3_PHASE",
                        }
                    ],
                }
            ]
        )
    )
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps([{"uid": "RFID-9", "type": "rfid"}]))
    truth = tmp_path / "truth.jsonl"
    argv = [
        "run", "--url", server.url, "--stations", str(stations), "--tokens", str(tokens),
        "--seed", "7", "--duration", "1.5", "--hours", "6", "--faults", "duplicate=0.5",
        "--truth", str(truth), "--progress", "json",
    ]  # fmt: skip
    assert await asyncio.to_thread(sim_main, argv) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    progress = [line for line in lines if line["event"] == "progress"]
    assert progress
    assert progress[-1]["done"] == progress[-1]["total"] >= 2
    assert lines[-1]["event"] == "report"
    assert lines[-1]["sessions_failed"] == 0
    records = [json.loads(line) for line in truth.read_text().splitlines()]
    assert len(records) == progress[-1]["total"]
    assert {"duplicate"} == {f for r in records for f in r["faults"]}
    assert all(isinstance(r["energy_wh"], str) and r["id_tag"] == "RFID-9" for r in records)
    assert await asyncio.to_thread(sim_main, [*argv[:2], "ws://example.com/ocpp", *argv[3:]]) == 2
