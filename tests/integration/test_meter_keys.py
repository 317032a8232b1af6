"""The meter key registry (issue 15) on SQLite and PostgreSQL: operators register a meter's
key (normalised, one in force per meter, history kept), finance reads them, and a key a
station sends with its signed data is recorded as reported, never as trusted."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from ocpp.v201 import call as call201

from chargeledger.domain.identity import Role
from chargeledger.domain.meter_keys import KeySource
from chargeledger.services.charging.meter_keys import key_for
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    CP201,
    LoginAs,
    Station201,
    World,
    connected,
    meter_value,
    sampled201,
    wire,
)
from tests.unit.ocmf_samples import row

KEBA_KEY = row("safe:xml/test_ocmf_keba_kcp30.xml#0")["public_key"]  # secp256r1, upper hex
NEW_KEY = row("pyocmf:keba-wrong-public-key")["public_key"]  # another secp256r1 key
LEM = row("ocpp201:constructed-transactionevent-lem-dcbm")


def keys_path(world: World, charge_point_id: str = CP201) -> str:
    return f"/stations/{world.station_id(charge_point_id)}/meter-keys"


async def test_a_new_key_retires_the_previous_one_and_history_stays(
    world: World, login_as: LoginAs
) -> None:
    operator, finance = await login_as(Role.OPERATOR), await login_as(Role.FINANCE)
    path = keys_path(world)
    first = await world.post(
        path,
        {"meter_serial": "KEBA-1", "public_key": KEBA_KEY, "valid_from": "2026-01-01T00:00:00Z"},
        operator,
        status=201,
    )
    assert first["public_key"] == KEBA_KEY.lower()
    assert (first["curve"], first["source"], first["retired_at"]) == ("secp256r1", "operator", None)
    # The same key in another spelling (base64 DER) is the same key: nothing new.
    again = await world.post(
        path,
        {
            "meter_serial": "KEBA-1",
            "public_key": base64.b64encode(bytes.fromhex(KEBA_KEY)).decode(),
        },
        operator,
        status=201,
    )
    assert again["id"] == first["id"]
    second = await world.post(
        path,
        {
            "meter_serial": "KEBA-1",
            "public_key": NEW_KEY,
            "valid_from": "2026-03-01T00:00:00Z",
            "note": "meter exchanged",
        },
        operator,
        status=201,
    )
    listed = await world.get(path, finance)
    assert [(k["id"], k["retired_at"]) for k in listed] == [
        (first["id"], "2026-03-01T00:00:00Z"),
        (second["id"], None),
    ]
    station_id = world.station_id(CP201)
    async with world.runtime.uow() as uow:
        february = await key_for(uow, station_id, "KEBA-1", datetime(2026, 2, 1, tzinfo=UTC))
        april = await key_for(uow, station_id, "KEBA-1", datetime(2026, 4, 1, tzinfo=UTC))
        before = await key_for(uow, station_id, "KEBA-1", datetime(2025, 12, 1, tzinfo=UTC))
    found = [None if key is None else str(key.id) for key in (before, february, april)]
    assert found == [None, first["id"], second["id"]]


async def test_who_may_register_and_what_is_refused(world: World, login_as: LoginAs) -> None:
    path = keys_path(world)
    body = {"meter_serial": "M-1", "public_key": KEBA_KEY}
    for role in (Role.FINANCE, Role.DRIVER):
        await world.post(path, body, await login_as(role), status=403)
    await world.get(path, await login_as(Role.DRIVER), status=403)
    operator = await login_as(Role.OPERATOR)
    refused = await world.post(path, {**body, "public_key": "not a key"}, operator, status=422)
    assert refused["error"]["code"] == "invalid_public_key"
    bare = KEBA_KEY[-128:]  # X||Y without its curve
    assert (await world.post(path, {**body, "public_key": bare}, operator, status=422))["error"][
        "code"
    ] == "invalid_public_key"
    with_curve = await world.post(
        path, {**body, "public_key": bare, "curve": "secp256r1"}, operator, status=201
    )
    assert with_curve["public_key"] == KEBA_KEY.lower()
    missing = "/stations/00000000-0000-0000-0000-000000000000/meter-keys"
    assert (await world.post(missing, body, operator, status=404))["error"][
        "code"
    ] == "station_not_found"


async def ended_with_signed_value(cs: Station201, tx: str) -> None:
    """A 2.0.1 transaction whose Ended event carries the LEM record with KEBA's
    ``{"UK": hex}`` key wrapping."""
    signed = dict(LEM["sampled_value"]["signedMeterValue"])
    signed["publicKey"] = base64.b64encode(json.dumps({"UK": LEM["public_key"]}).encode()).decode()
    begin = sampled201(57.584, unit="kWh", context="Transaction.Begin")
    end = sampled201(58.685, unit="kWh", context="Transaction.End", signed=signed)
    for seq_no, (event_type, value) in enumerate((("Started", begin), ("Ended", end))):
        await cs.request(
            call201.TransactionEvent(
                event_type=event_type,
                timestamp=wire(seq_no * 1800),
                trigger_reason="Authorized" if seq_no == 0 else "EVCommunicationLost",
                seq_no=seq_no,
                transaction_info={"transactionId": tx},
                meter_value=[meter_value(wire(seq_no * 1800), value)],
                evse={"id": 1, "connectorId": 1},
                id_token={"idToken": ACTIVE_TAG, "type": "ISO14443"} if seq_no == 0 else None,
            )
        )


async def test_a_key_the_station_sends_is_recorded_as_reported_once(
    world: World, login_as: LoginAs
) -> None:
    async with connected(world.url, Station201) as cs:
        await ended_with_signed_value(cs, "REPORTED-1")
        await ended_with_signed_value(cs, "REPORTED-2")
    listed = await world.get(keys_path(world), await login_as(Role.FINANCE))
    assert [(k["meter_serial"], k["source"], k["public_key"]) for k in listed] == [
        ("1211751603", KeySource.STATION.value, LEM["public_key"].lower())
    ]
    async with world.runtime.uow() as uow:  # reported keys confirm nothing
        found = await key_for(uow, world.station_id(CP201), "1211751603", datetime.now(UTC))
    assert found is None
