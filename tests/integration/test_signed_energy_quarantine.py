"""A session whose signed meter energy (OCMF) contradicts the energy we would bill is held
back (issue 15: ``signed_energy_mismatch``), over real OCPP 1.6 and 2.0.1 connections.

Real records from the shared conformance data: the OCA application note's DZG record (0.636
kWh, carried in a 1.6 ``SignedData`` value as a JSON string) and a LEM DCBM record (1.101 kWh,
carried as a 2.0.1 ``signedMeterValue`` with KEBA's ``{"UK": ...}`` key wrapping). Signed data
may also come after the stop (a 1.6 DataTransfer): the closed session is judged again, and
reasons only accumulate.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    CP16,
    CP201,
    Json,
    Station16,
    Station201,
    World,
    connected,
    meter_value,
    sampled201,
    wire,
)
from tests.unit.ocmf_samples import row

OCA = row("ocpp16:oca-signed-meter-values-note-example")  # 0.636 kWh signed
LEM = row("ocpp201:constructed-transactionevent-lem-dcbm")  # 57.584 -> 58.685 kWh signed
MISMATCH: tuple[str, list[str]] = ("quarantined", ["signed_energy_mismatch"])
MATCH: tuple[str, list[str]] = ("completed", [])


async def verdicts(world: World, charge_point_id: str) -> dict[str, tuple[str, list[str]]]:
    return {
        s["transaction_ref"]: (s["status"], s["quarantine_reasons"])
        for s in await world.sessions_of(charge_point_id)
    }


async def stop16(
    cp: Station16, meter_start: int, meter_stop: int, window: int, signed: Json | None
) -> str:
    """A two-hour 1.6 transaction (22 kW AC may deliver 20 kWh in it) whose StopTransaction
    carries ``signed`` in transactionData (OCPP 1.6 §6.50, format SignedData)."""
    base = window * 3 * 3600
    tx = await cp.start_tx(ACTIVE_TAG, meter_start, base)
    extra: dict[str, Any] = {}
    if signed is not None:
        extra["transaction_data"] = [meter_value(wire(base + 7200), signed)]
    await cp.stop_tx(tx, meter_stop, base + 7200, reason="Local", **extra)
    return str(tx)


async def data_transfer(cp: Station16, transaction_ref: str, ocmf: str) -> str:
    """Signed data after the stop, by DataTransfer (a vendor convention of 1.6)."""
    answer = await cp.request(
        call16.DataTransfer(
            vendor_id="com.example",
            message_id="SignedMeterValue",
            data=json.dumps({"transactionId": int(transaction_ref), "signedMeterData": ocmf}),
        )
    )
    return str(answer.status)


async def test_ocpp16_signed_energy_against_the_billed_energy(world: World) -> None:
    """The OCA record proves 0.636 kWh: beside 20 kWh billed the session is held, beside the
    636 Wh of the same meter's register it completes. A DataTransfer after the stop judges the
    closed session again: a contradicting record holds it, a matching one changes nothing."""
    carried = OCA["sampled_value"]  # {"format": "SignedData", "value": "{\"signedMeterData\"..."}
    async with connected(world.url, Station16) as cp:
        held = await stop16(cp, 1_000_000, 1_020_000, 0, carried)
        billed = await stop16(cp, 108_178, 108_814, 1, carried)
        late = await stop16(cp, 2_000_000, 2_020_000, 2, None)
        late_ok = await stop16(cp, 3_000_000, 3_000_636, 3, None)
        before = await verdicts(world, CP16)
        assert (before[late], before[late_ok]) == (MATCH, MATCH)
        assert await data_transfer(cp, late, OCA["decoded_ocmf"]) == "Accepted"
        assert await data_transfer(cp, late_ok, OCA["decoded_ocmf"]) == "Accepted"

    after = await verdicts(world, CP16)
    assert after == {held: MISMATCH, billed: MATCH, late: MISMATCH, late_ok: MATCH}
    detail = await world.get(f"/sessions/{(await world.sessions_of(CP16))[0]['id']}")
    assert detail["signed_meter_values"]  # the evidence is kept beside the verdict


def uk_wrapped(hex_der: str) -> str:
    """KEBA P30's 2.0.1 publicKey: base64 of {"UK": "<hex DER>"}."""
    return base64.b64encode(json.dumps({"UK": hex_der}).encode()).decode()


async def ended201(cs: Station201, tx: str, begin_kwh: float, end_kwh: float) -> None:
    """Started with the begin register, Ended with the end register and the LEM record as
    its signedMeterValue (2.0.1 Part 2 §2.46)."""
    signed = dict(LEM["sampled_value"]["signedMeterValue"])
    signed["publicKey"] = uk_wrapped(LEM["public_key"])
    begin = sampled201(begin_kwh, unit="kWh", context="Transaction.Begin")
    end = sampled201(end_kwh, unit="kWh", context="Transaction.End", signed=signed)
    for seq_no, (event_type, seconds, value) in enumerate(
        (("Started", 0, begin), ("Ended", 1800, end))
    ):
        await cs.request(
            call201.TransactionEvent(
                event_type=event_type,
                timestamp=wire(seconds),
                trigger_reason="Authorized" if seq_no == 0 else "EVCommunicationLost",
                seq_no=seq_no,
                transaction_info={"transactionId": tx},
                meter_value=[meter_value(wire(seconds), value)],
                evse={"id": 1, "connectorId": 1},
                id_token={"idToken": ACTIVE_TAG, "type": "ISO14443"} if seq_no == 0 else None,
            )
        )


async def test_ocpp201_signed_energy_against_the_billed_energy(world: World) -> None:
    """The LEM record proves 1.101 kWh: 20 kWh billed beside it is held; 1.101 kWh completes."""
    async with connected(world.url, Station201) as cs:
        await ended201(cs, "SIGNED-MISMATCH", 57.584, 77.584)
        await ended201(cs, "SIGNED-MATCH", 57.584, 58.685)

    assert await verdicts(world, CP201) == {"SIGNED-MISMATCH": MISMATCH, "SIGNED-MATCH": MATCH}
