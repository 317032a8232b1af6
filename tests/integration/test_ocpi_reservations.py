"""Reservations by a roaming partner's drivers (OCPI 2.2.1 §13.3.5 RESERVE_NOW, §13.3.1
CANCEL_RESERVATION), sent by the independent eMSP to a real OCPP 1.6 station: they count per
token (two of the partner's drivers reserve at once, one driver cannot hold two), go by the
partner's own reservation id (the same id again replaces it, on the station too), report the
station's refusal as the CommandResult's, and are cancelled at the station and in our record;
the reserving driver's start uses the reservation. Both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.v16 import call

from chargeledger.bootstrap import Runtime
from chargeledger.domain.reservations import ReservationStatus
from tests.integration.ocpi_emsp import EmspProcess
from tests.integration.ocpi_world import booted_station, emsp_partner
from tests.integration.ocpp_support import wire
from tests.integration.test_ocpi_commands import result_for


def expiry(minutes: int) -> str:
    moment = datetime.now(UTC) + timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def command(emsp: EmspProcess, name: str, body: dict[str, Any]) -> str:
    """Send ``name``; the CommandResult's ``result`` once it came (ACCEPTED at once)."""
    sent = await asyncio.to_thread(emsp.command, name, body)
    assert sent["errors"] == []
    assert sent["command_response"]["result"] == "ACCEPTED"
    result = await result_for(emsp, sent["uid"])
    assert result["strict"] == []
    return str(result["body"]["result"])


async def test_partner_drivers_reserve_replace_and_cancel(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    rt = ocpi_runtime
    partner = await emsp_partner(rt, served, emsp)
    assert partner.account_id is not None
    locations = (await asyncio.to_thread(emsp.pull, "locations"))["items"]
    depot = next(location for location in locations if location["name"] == "Test depot")
    ac = [e["uid"] for e in depot["evses"] if e["connectors"][0]["power_type"] == "AC_3_PHASE"]
    cards = {t["token"]["uid"]: t["token"] for t in emsp.tokens()}
    first, second = cards["EMSP-RFID-0001"], cards["EMSP-APP-0001"]

    def reserve(token: dict[str, Any], ref: str, evse: str, minutes: int) -> dict[str, Any]:
        return {
            "token": token,
            "expiry_date": expiry(minutes),
            "reservation_id": ref,
            "location_id": depot["id"],
            "evse_uid": evse,
        }

    async with booted_station(served) as cp:
        # Two of the partner's drivers at once: one reservation per token, not per account.
        assert await command(emsp, "RESERVE_NOW", reserve(first, "R1", ac[0], 10)) == "ACCEPTED"
        assert await command(emsp, "RESERVE_NOW", reserve(second, "R2", ac[1], 10)) == "ACCEPTED"
        # One driver cannot hold two EVSEs; an EVSE cannot be held twice.
        assert await command(emsp, "RESERVE_NOW", reserve(first, "R3", ac[1], 10)) in (
            "REJECTED",
            "EVSE_OCCUPIED",
        )
        # The same id again replaces it (a new expiry), at the station under the same number.
        assert await command(emsp, "RESERVE_NOW", reserve(first, "R1", ac[0], 20)) == "ACCEPTED"
        sent = [p for action, p in cp.received if action == "ReserveNow"]
        assert len(sent) == 3
        assert sent[0]["reservation_id"] == sent[2]["reservation_id"] != sent[1]["reservation_id"]
        assert sent[0]["id_tag"] == "EMSP-RFID-0001"
        assert sent[0]["expiry_date"] < sent[2]["expiry_date"]
        async with rt.uow() as uow:
            r1 = await uow.reservations.by_external_ref(partner.account_id, "R1")
            r2 = await uow.reservations.by_external_ref(partner.account_id, "R2")
            assert await uow.reservations.by_external_ref(partner.account_id, "R3") is None
        assert r1 is not None
        assert r2 is not None
        assert r1.number == sent[0]["reservation_id"]

        # Another driver on an EVSE R2 holds: refused before the station is asked.
        third = cards["EMSP-RFID-0003"]
        held = await command(emsp, "RESERVE_NOW", reserve(third, "R4", ac[1], 10))
        assert held == "EVSE_OCCUPIED"
        assert len([a for a, _ in cp.received if a == "ReserveNow"]) == 3

        # Cancelled at the station, then in the record; an unknown id is said so.
        assert await command(emsp, "CANCEL_RESERVATION", {"reservation_id": "R2"}) == "ACCEPTED"
        (cancelled,) = [p for action, p in cp.received if action == "CancelReservation"]
        assert cancelled["reservation_id"] == r2.number
        unknown = await command(emsp, "CANCEL_RESERVATION", {"reservation_id": "NOPE"})
        assert unknown == "UNKNOWN_RESERVATION"

        # The reserving driver starts on the reserved EVSE: the reservation is used.
        tx = await cp.start_tx("EMSP-RFID-0001", 0, connector=r1.evse_id)
        await cp.request(
            call.StopTransaction(meter_stop=2_000, timestamp=wire(900), transaction_id=tx)
        )
    async with rt.uow() as uow:
        ended_r1 = await uow.reservations.get(r1.id)
        ended_r2 = await uow.reservations.get(r2.id)
    assert ended_r1 is not None
    assert ended_r1.status is ReservationStatus.USED
    assert ended_r2 is not None
    assert ended_r2.status is ReservationStatus.CANCELLED


async def one_reservation(emsp: EmspProcess, ref: str) -> dict[str, Any]:
    """RESERVE_NOW of the eMSP's first card on an AC EVSE of the depot, for 10 minutes."""
    locations = (await asyncio.to_thread(emsp.pull, "locations"))["items"]
    depot = next(location for location in locations if location["name"] == "Test depot")
    evse = next(e["uid"] for e in depot["evses"] if e["connectors"][0]["power_type"] != "DC")
    (card,) = [t["token"] for t in emsp.tokens() if t["token"]["uid"] == "EMSP-RFID-0001"]
    return {
        "token": card,
        "expiry_date": expiry(10),
        "reservation_id": ref,
        "location_id": depot["id"],
        "evse_uid": evse,
    }


async def test_a_station_s_refusal_is_the_partner_s_result(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    rt = ocpi_runtime
    partner = await emsp_partner(rt, served, emsp)
    assert partner.account_id is not None
    body = await one_reservation(emsp, "R9")
    async with booted_station(served) as cp:
        cp.answers["ReserveNow"] = "Faulted"
        assert await command(emsp, "RESERVE_NOW", body) == "EVSE_INOPERATIVE"
    async with rt.uow() as uow:
        refused = await uow.reservations.by_external_ref(partner.account_id, "R9")
    assert refused is None  # nothing is kept of a refused reservation


async def test_the_same_reservation_sent_twice_at_once_is_one_reservation(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    """A partner that sends its RESERVE_NOW again before the first was answered (a retry, two
    of its workers): the token's and the EVSE's locks make them take turns, the second
    replaces the first, and one reservation is held."""
    rt = ocpi_runtime
    partner = await emsp_partner(rt, served, emsp)
    assert partner.account_id is not None
    body = await one_reservation(emsp, "R7")
    async with booted_station(served) as cp:
        results = await asyncio.gather(*(command(emsp, "RESERVE_NOW", body) for _ in range(2)))
        assert "ACCEPTED" in results
        assert set(results) <= {"ACCEPTED", "REJECTED"}  # REJECTED: busy, nothing was done
        async with rt.uow() as uow:
            held = await uow.reservations.active_of_account(partner.account_id)
        assert len(held) == 1
        assert held[0].external_ref == "R7"
        numbers = {p["reservation_id"] for action, p in cp.received if action == "ReserveNow"}
        assert numbers == {held[0].number}  # a replacement goes under the same number
