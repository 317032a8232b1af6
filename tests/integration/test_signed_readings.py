"""Each signed reading of a session gets a verdict in the session's detail (issue 15): under
the registry's key when the operator registered one, else only "valid with the key the station
reported" (unknown_key), and how the records match the session (energy, times, meter)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chargeledger.domain.identity import Role
from chargeledger.services.charging.signed_data import REPORTED_ONLY
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    CP16,
    LoginAs,
    Station16,
    World,
    connected,
    meter_value,
    wire,
)
from tests.unit.ocmf_samples import row

OCA = row("ocpp16:oca-signed-meter-values-note-example")  # DZG, secp256k1, 0.636 kWh
OTHER_KEY = row("pyocmf:keba-wrong-public-key")["public_key"]  # a secp256r1 key
METER = "1DZG0028225179"


async def session_with_oca_record(world: World, meter_start: int, meter_stop: int) -> Any:
    async with connected(world.url, Station16) as cp:
        tx = await cp.start_tx(ACTIVE_TAG, meter_start, 0)
        data = [meter_value(wire(7200), OCA["sampled_value"])]
        await cp.stop_tx(tx, meter_stop, 7200, reason="Local", transaction_data=data)
    (item,) = [s for s in await world.sessions_of(CP16) if s["transaction_ref"] == str(tx)]
    return item["id"]


async def signed_of(world: World, session_id: str) -> Any:
    return await world.get(f"/sessions/{session_id}")


async def test_verdicts_follow_the_registry(world: World, login_as: LoginAs) -> None:
    session_id = await session_with_oca_record(world, 108_178, 108_814)
    detail = await signed_of(world, session_id)
    (value,) = detail["signed_meter_values"]
    assert (value["verdict"], value["detail"], value["key_source"]) == (
        "unknown_key",
        REPORTED_ONLY,
        "station",
    )
    assert value["meter_serial"] == METER
    assert Decimal(value["energy_kwh"]) == Decimal("0.636")
    assert Decimal(detail["signed_energy_kwh"]) == Decimal("0.636")
    codes = {issue["code"] for issue in detail["signed_issues"]}
    assert "signed_energy_mismatch" not in codes
    assert "time_not_synchronised" in codes  # the DZG record's times are informative (I)

    operator = await login_as(Role.OPERATOR)
    keys = f"/stations/{world.station_id(CP16)}/meter-keys"
    await world.post(
        keys,
        {
            "meter_serial": METER,
            "public_key": OCA["public_key"],
            "valid_from": "2020-01-01T00:00:00Z",
        },
        operator,
        status=201,
    )
    (value,) = (await signed_of(world, session_id))["signed_meter_values"]
    assert (value["verdict"], value["key_source"]) == ("valid", "operator")

    # The meter's key in force when it signed is another one: the record is not authentic.
    await world.post(
        keys,
        {"meter_serial": METER, "public_key": OTHER_KEY, "valid_from": "2021-01-01T00:00:00Z"},
        operator,
        status=201,
    )
    (value,) = (await signed_of(world, session_id))["signed_meter_values"]
    assert value["verdict"] == "invalid_signature"
    assert "secp256r1" in value["detail"]


async def test_a_contradicting_record_is_named_in_the_detail(world: World) -> None:
    session_id = await session_with_oca_record(world, 1_000_000, 1_020_000)
    detail = await signed_of(world, session_id)
    assert detail["quarantine_reasons"] == ["signed_energy_mismatch"]
    (mismatch,) = [i for i in detail["signed_issues"] if i["code"] == "signed_energy_mismatch"]
    assert "0.636" in mismatch["message"]
    assert "20" in mismatch["message"]
