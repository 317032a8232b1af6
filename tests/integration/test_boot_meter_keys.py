"""A booting station is asked for its meters' public keys (issue 15), on SQLite and PostgreSQL,
over real websockets with the real simulator: OCPP 1.6 GetConfiguration ``MeterPublicKey<n>``
and 2.0.1 GetVariables ``FiscalMetering.PublicKey`` (OCA application note "Signed Meter Values
in OCPP" §3.3.1, §4.3.2). What it states is recorded as reported (``station_config``), never
trusted: the same key again changes nothing, another key retires it, a station that cannot tell
records nothing and keeps its connection, and a record checked with a reported key stays
``unknown_key`` until an operator confirms the key (REST and CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from typer.testing import CliRunner

from chargeledger.bootstrap import Runtime
from chargeledger.cli import app
from chargeledger.domain.catalog import OcppVersion, PowerType
from chargeledger.domain.charging import ReadingContext
from chargeledger.domain.configured_keys import KeyReading
from chargeledger.domain.identity import Role
from chargeledger.services.charging.configured_keys import record_configured_keys
from chargeledger.services.charging.meter_keys import key_for
from chargeledger.services.charging.signed_data import REPORTED_ONLY
from chargeledger.services.transactions import in_transaction
from chargeledger.sim import MeterKeyAnswer, SimulationOptions, meter_identity, open_station
from chargeledger.sim.model import EvseSpec, StationSpec, TokenSpec
from chargeledger.sim.ocmf_meter import MeteredTransaction, meter_key, oca_public_key, signed_record
from chargeledger.sim.station import Station as SimStation
from chargeledger.sim.station16 import register as register16
from chargeledger.sim.station16 import signed_data
from chargeledger.sim.station201 import id_token, meter_value, signed_meter_value
from chargeledger.sim.station201 import register as register201
from tests.integration.ocpp_server import STATION_PASSWORD
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    CP16,
    CP201,
    LoginAs,
    World,
    at,
    bounded,
    call_frame,
    open_world,
    raw_link,
    rejected_frames,
    wire,
)

SEED, OTHER_SEED = 31, 32
START_WH, STOP_WH = 1_000_000, 1_010_000  # 10 kWh in the hour from T0
VERSIONS = {CP16: OcppVersion.V16, CP201: OcppVersion.V201}
POWER = {CP16: (Decimal(22), PowerType.AC_3_PHASE), CP201: (Decimal(150), PowerType.DC)}
NAMES = {CP16: "MeterPublicKey1", CP201: "FiscalMetering[EVSE 1].PublicKey"}


class KeyReads(logging.Handler):
    """How each of the server's reads of a station's meter keys ended, as the server logs it
    (``meter_key_read`` on the record), with an event to wait on."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.outcomes: dict[str, list[str]] = {}
        self.changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        outcome = getattr(record, "meter_key_read", None)
        if outcome is not None:
            self.outcomes.setdefault(str(getattr(record, "charge_point_id", "")), []).append(
                outcome
            )
            self.changed.set()

    def count(self, charge_point_id: str) -> int:
        return len(self.outcomes.get(charge_point_id, []))

    async def outcome(self, charge_point_id: str, number: int) -> str:
        """The ``number``-th outcome (from 0) of the station's reads, once it has happened."""
        while self.count(charge_point_id) <= number:
            self.changed.clear()
            await self.changed.wait()
        return self.outcomes[charge_point_id][number]


@pytest.fixture
def reads(caplog: pytest.LogCaptureFixture) -> Iterator[KeyReads]:
    caplog.set_level(logging.INFO, logger="chargeledger.stations")
    handler = KeyReads()
    logger = logging.getLogger("chargeledger.stations")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
async def world(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs, reads: KeyReads
) -> AsyncIterator[World]:
    async with open_world(runtime, client, login_as) as served:
        yield served


def spec(charge_point_id: str) -> StationSpec:
    """The seeded station with its two EVSEs: one meter signs for both (a key per station)."""
    kw, power = POWER[charge_point_id]
    evses = tuple(EvseSpec(evse_id, 1, kw, power) for evse_id in (1, 2))
    return StationSpec(charge_point_id, STATION_PASSWORD, VERSIONS[charge_point_id], evses)


@contextlib.asynccontextmanager
async def booted(
    world: World,
    reads: KeyReads,
    charge_point_id: str,
    *,
    seed: int = SEED,
    answer: MeterKeyAnswer = MeterKeyAnswer.KEY,
) -> AsyncIterator[tuple[SimStation, str]]:
    """The real simulated station, booted and still connected once the server has dealt with
    what it answered about its meter keys; with how that read ended."""
    number = reads.count(charge_point_id)
    options = SimulationOptions(seed=seed, meter_key_answer=answer)
    async with open_station(world.url, spec(charge_point_id), options) as station:
        yield station, await bounded(reads.outcome(charge_point_id, number))


def keys_path(world: World, charge_point_id: str) -> str:
    return f"/stations/{world.station_id(charge_point_id)}/meter-keys"


@pytest.mark.parametrize("charge_point_id", [CP16, CP201])
async def test_a_booting_station_tells_its_key_once_and_a_new_key_retires_it(
    world: World, reads: KeyReads, charge_point_id: str
) -> None:
    identity, path = meter_identity(SEED, charge_point_id), keys_path(world, charge_point_id)
    async with booted(world, reads, charge_point_id) as (_, outcome):
        assert outcome == "recorded"
    (key,) = await world.get(path)
    assert key["source"] == "station_config"
    assert (key["public_key"], key["curve"]) == (identity.public_key_hex, "secp256r1")
    assert (key["meter_serial"], key["evse_id"], key["retired_at"]) == (identity.serial, 1, None)
    assert NAMES[charge_point_id] in key["note"]
    station_id = world.station_id(charge_point_id)
    async with world.runtime.uow() as uow:
        assert await key_for(uow, station_id, identity.serial, datetime.now(UTC)) is None
        station = await uow.stations.get(station_id)
    assert station is not None
    # 1.6 BootNotification meterSerialNumber becomes the station's meter serial.
    assert station.meter_serial == (identity.serial if charge_point_id == CP16 else None)

    async with booted(world, reads, charge_point_id) as (_, outcome):  # rebooted
        assert outcome == "recorded"
    assert await world.get(path) == [key]

    other = meter_identity(OTHER_SEED, charge_point_id)  # the meter was replaced
    async with booted(world, reads, charge_point_id, seed=OTHER_SEED) as (_, outcome):
        assert outcome == "recorded"
    old, new = await world.get(path)
    assert (old["id"], old["public_key"]) == (key["id"], identity.public_key_hex)
    assert old["retired_at"] is not None
    assert (new["public_key"], new["meter_serial"]) == (other.public_key_hex, other.serial)
    assert (new["source"], new["retired_at"]) == ("station_config", None)
    async with world.runtime.uow() as uow:
        kept = await uow.stations.get(station_id)
    assert kept is not None
    assert kept.meter_serial == station.meter_serial  # not overwritten


@pytest.mark.parametrize("answer", [MeterKeyAnswer.UNKNOWN, MeterKeyAnswer.ERROR])
@pytest.mark.parametrize("charge_point_id", [CP16, CP201])
async def test_a_station_that_cannot_tell_records_nothing_and_stays_connected(
    world: World, reads: KeyReads, charge_point_id: str, answer: MeterKeyAnswer
) -> None:
    async with booted(world, reads, charge_point_id, answer=answer) as (station, outcome):
        assert outcome == ("none" if answer is MeterKeyAnswer.UNKNOWN else "refused")
        assert await station.call(station.heartbeat_payload()) is not None
        assert (await world.status(charge_point_id))["connected"] is True
    assert await world.get(keys_path(world, charge_point_id)) == []
    assert await rejected_frames(world.runtime, charge_point_id) == []


BOOTS = {
    "ocpp1.6": {"chargePointVendor": "Test", "chargePointModel": "T1"},
    "ocpp2.0.1": {"chargingStation": {"model": "T1", "vendorName": "Test"}, "reason": "PowerUp"},
}
ASKED = {"ocpp1.6": "GetConfiguration", "ocpp2.0.1": "GetVariables"}


@pytest.mark.parametrize("charge_point_id", [CP16, CP201])
async def test_an_unreadable_answer_or_a_station_that_leaves_changes_nothing(
    world: World, reads: KeyReads, charge_point_id: str
) -> None:
    protocol = f"ocpp{VERSIONS[charge_point_id].value}"
    async with raw_link(world.url, charge_point_id, protocol) as link:
        await link.send(call_frame("BootNotification", BOOTS[protocol]))
        assert json.loads(await link.receive())[0] == 3  # the boot's answer comes first
        request = json.loads(await link.receive())
        assert request[:1] + request[2:3] == [2, ASKED[protocol]]
        await link.send([3, request[1], {"configurationKey": "not a list", "getVariableResult": 1}])
        assert await bounded(reads.outcome(charge_point_id, 0)) == "refused"
        assert (await link.call("Heartbeat", {}))[0] == 3  # the connection is fine
    async with raw_link(world.url, charge_point_id, protocol) as link:  # rebooted
        assert (await link.call("BootNotification", BOOTS[protocol]))[0] == 3
        assert json.loads(await link.receive())[2] == ASKED[protocol]
    await world.wait_closed_on_server(charge_point_id)
    # Left unanswered, the request ended with the connection: it never reaches the library's
    # response timeout (which would log ``no_answer``).
    await bounded(world.runtime.quiesce())
    assert reads.outcomes[charge_point_id] == ["refused"]
    assert await world.get(keys_path(world, charge_point_id)) == []


def metered(charge_point_id: str) -> MeteredTransaction:
    return MeteredTransaction(
        meter_serial=meter_identity(SEED, charge_point_id).serial,
        gateway_serial=charge_point_id,
        pagination=1,
        id_tag=ACTIVE_TAG,
        id_type="ISO14443",
        evse=f"{charge_point_id}*1",
        started_at=at(0),
        start_wh=START_WH,
        stopped_at=at(3600),
        stop_wh=STOP_WH,
    )


async def signed_session(world: World, station: SimStation, charge_point_id: str) -> str:
    """One transaction of the simulated station, its meter's signed record with the stop (1.6
    SignedData without a key; 2.0.1 signedMeterValue with it); the session's id."""
    record = signed_record(meter_key(SEED, charge_point_id), metered(charge_point_id))
    begin, end = ReadingContext.TRANSACTION_BEGIN, ReadingContext.TRANSACTION_END
    if charge_point_id == CP16:
        started = await station.call(
            call16.StartTransaction(
                connector_id=1, id_tag=ACTIVE_TAG, meter_start=START_WH, timestamp=wire(0)
            )
        )
        ref = str(started.transaction_id)
        data = [
            {"timestamp": wire(0), "sampled_value": [register16(START_WH, begin)]},
            {
                "timestamp": wire(3600),
                "sampled_value": [register16(STOP_WH, end), signed_data(record)],
            },
        ]
        stop = call16.StopTransaction(
            meter_stop=STOP_WH,
            timestamp=wire(3600),
            transaction_id=started.transaction_id,
            reason="Local",
            transaction_data=data,
        )
        assert await station.call(stop) is not None
    else:
        ref = "TX-BOOT-KEYS"
        key = meter_identity(SEED, charge_point_id).public_key_hex
        signed_end = {
            **register201(STOP_WH, end),
            "signed_meter_value": signed_meter_value(record, key),
        }
        for seq_no, kind, trigger, value, extra in (
            (
                0,
                "Started",
                "Authorized",
                register201(START_WH, begin),
                {"id_token": id_token(TokenSpec(ACTIVE_TAG))},
            ),
            (1, "Ended", "EVCommunicationLost", signed_end, {}),
        ):
            event = call201.TransactionEvent(
                event_type=kind,
                timestamp=wire(seq_no * 3600),
                trigger_reason=trigger,
                seq_no=seq_no,
                transaction_info={"transaction_id": ref},
                meter_value=[meter_value(wire(seq_no * 3600), [value])],
                evse={"id": 1, "connector_id": 1},
                **extra,
            )
            assert await station.call(event) is not None
    (item,) = [s for s in await world.sessions_of(charge_point_id) if s["transaction_ref"] == ref]
    return str(item["id"])


@pytest.mark.parametrize("charge_point_id", [CP16, CP201])
async def test_a_record_under_a_reported_key_is_unknown_key_until_the_key_is_confirmed(
    world: World, reads: KeyReads, login_as: LoginAs, charge_point_id: str
) -> None:
    identity, path = meter_identity(SEED, charge_point_id), keys_path(world, charge_point_id)
    async with booted(world, reads, charge_point_id) as (station, outcome):
        assert outcome == "recorded"
        session_id = await signed_session(world, station, charge_point_id)
    (value,) = (await world.get(f"/sessions/{session_id}"))["signed_meter_values"]
    assert (value["verdict"], value["detail"]) == ("unknown_key", REPORTED_ONLY)
    # 1.6 SignedData carries no key (``public_key`` is what came with the value): the key the
    # configuration stated is what the record is checked with.
    source = "station_config" if charge_point_id == CP16 else "station"
    assert (value["key_source"], value["public_key"] is None) == (source, charge_point_id == CP16)
    (reported,) = await world.get(path)  # the key sent with the record is the same: no new row

    confirm = f"{path}/{reported['id']}/confirm"
    for role in (Role.FINANCE, Role.DRIVER):
        await world.post(confirm, {}, await login_as(role), status=403)
    operator = await login_as(Role.OPERATOR)
    refused = await world.post(confirm, {"meter_serial": "ANOTHER-1"}, operator, status=422)
    assert refused["error"]["code"] == "meter_serial_mismatch"
    body = {"valid_from": "2024-01-01T00:00:00Z", "note": "checked against the type plate"}
    confirmed = await world.post(confirm, body, operator, status=201)
    assert (confirmed["source"], confirmed["meter_serial"], confirmed["evse_id"]) == (
        "operator",
        identity.serial,
        1,
    )
    assert confirmed["public_key"] == identity.public_key_hex
    assert confirmed["valid_from"] == "2024-01-01T00:00:00Z"
    assert (await world.post(confirm, {}, operator, status=201))["id"] == confirmed["id"]
    (value,) = (await world.get(f"/sessions/{session_id}"))["signed_meter_values"]
    assert (value["verdict"], value["key_source"]) == ("valid", "operator")
    listed = await world.get(path)
    assert [(k["source"], k["retired_at"]) for k in listed] == [
        ("operator", None),  # valid from 2024: listed first
        ("station_config", None),  # the report stays as it was
    ]

    not_reported = await world.post(f"{path}/{confirmed['id']}/confirm", {}, operator, status=409)
    assert not_reported["error"]["code"] == "meter_key_not_reported"
    missing = await world.post(f"{path}/{uuid.uuid4()}/confirm", {}, operator, status=404)
    assert missing["error"]["code"] == "meter_key_not_found"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the CLI reads its database
async def test_the_cli_confirms_a_key_filed_under_its_evse_with_the_type_plates_serial(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A station stating a key per EVSE without naming the meters: the keys are filed under
    their EVSEs, and confirming one needs the serial from the type plate."""
    station_id = world.station_id(CP201)
    one, two = (meter_identity(SEED, name).public_key_hex for name in ("EVSE-1", "EVSE-2"))
    readings = [
        KeyReading(1, oca_public_key(one), "FiscalMetering[EVSE 1].PublicKey"),
        KeyReading(2, oca_public_key(two), "FiscalMetering[EVSE 2].PublicKey"),
    ]
    await in_transaction(runtime.uow, record_configured_keys, runtime.clock, station_id, readings)
    listed = sorted(await world.get(keys_path(world, CP201)), key=lambda k: k["evse_id"])
    assert [(k["evse_id"], k["meter_serial"]) for k in listed] == [(1, None), (2, None)]
    first = listed[0]

    monkeypatch.setenv("CHARGELEDGER_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("CHARGELEDGER_DATA_DIR", str(runtime.settings.data_dir))
    runner = CliRunner()
    args = ["stations", "meter-keys", "confirm", str(station_id), first["id"]]
    listed = await asyncio.to_thread(
        runner.invoke, app, ["stations", "meter-keys", "list", str(station_id)]
    )
    assert listed.exit_code == 0, listed.output
    assert first["id"] in listed.output  # whole, for confirm
    unnamed = await asyncio.to_thread(runner.invoke, app, args)
    assert unnamed.exit_code == 1
    assert "meter_serial_required" in unnamed.output
    named = await asyncio.to_thread(runner.invoke, app, [*args, "--meter-serial", "EM-0001"])
    assert named.exit_code == 0, named.output
    assert "meter EM-0001" in named.output
    async with runtime.uow() as uow:
        trusted = await key_for(uow, station_id, "EM-0001", datetime.now(UTC))
    assert trusted is not None
    assert (trusted.public_key, trusted.evse_id, trusted.source.value) == (one, 1, "operator")
