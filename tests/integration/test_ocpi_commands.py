"""Commands from a roaming partner to our stations (OCPI 2.2.1 §13), sent by the independent
eMSP: START_SESSION reaches a real OCPP 1.6 station as RemoteStartTransaction with the partner's
token, STOP_SESSION stops only the partner's own running session, UNLOCK_CONNECTOR unlocks;
the CommandResponse comes at once and the station's verdict later as a CommandResult at the
eMSP's response_url. Both databases."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v16 import call

from chargeledger.bootstrap import Runtime
from chargeledger.services.roaming.handshake import invite_partner
from tests.integration.ocpi_emsp import EmspProcess
from tests.integration.ocpi_world import partner_account
from tests.integration.ocpp_support import Station16, connected, stored_sessions, wire

RESULT_DEADLINE_S = 60.0  # a safety bound on waiting for the eMSP to hear back, not a schedule


async def result_for(emsp: EmspProcess, uid: str) -> dict[str, Any]:
    """The CommandResult the eMSP received for command ``uid``, once it has arrived."""
    async with asyncio.timeout(RESULT_DEADLINE_S):
        while True:
            for item in await asyncio.to_thread(emsp.received, "command_results"):
                if item.get("uid") == uid:
                    return dict(item)
            await asyncio.sleep(0.05)


async def test_the_emsp_starts_stops_and_unlocks_at_our_station(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    account = await partner_account(ocpi_runtime)
    _, token_a = await invite_partner(
        ocpi_runtime.uow,
        ocpi_runtime.clock,
        name="Test eMSP",
        country_code="NL",
        party_id="EMS",
        account_id=account.id,
    )
    await asyncio.to_thread(emsp.register_with, f"{served}/versions", token_a)
    locations = (await asyncio.to_thread(emsp.pull, "locations"))["items"]
    depot = next(location for location in locations if location["name"] == "Test depot")
    ac = [e for e in depot["evses"] if e["connectors"][0]["power_type"] == "AC_3_PHASE"]
    (card,) = [t["token"] for t in emsp.tokens() if t["token"]["uid"] == "EMSP-RFID-0001"]

    ws_url = served.replace("http://", "ws://").removesuffix("/ocpi") + "/ocpp"
    async with connected(ws_url, Station16) as cp:
        await cp.request(call.BootNotification("T1", "Test"))
        start = await asyncio.to_thread(
            emsp.command,
            "START_SESSION",
            {
                "token": card,
                "location_id": depot["id"],
                "evse_uid": ac[1]["uid"],
                "authorization_reference": "CMD-REF-0001",
            },
        )
        assert start["errors"] == []
        assert start["command_response"]["result"] == "ACCEPTED"
        result = await result_for(emsp, start["uid"])
        assert result["body"]["result"] == "ACCEPTED"
        assert result["strict"] == []  # a valid CommandResult, by the spec's rules too
        (remote,) = [p for action, p in cp.received if action == "RemoteStartTransaction"]
        assert remote["id_tag"] == "EMSP-RFID-0001"
        assert remote["connector_id"] in (1, 2)

        # The station starts the session the eMSP asked for; it is the partner's.
        tx = await cp.request(
            call.StartTransaction(
                connector_id=remote["connector_id"],
                id_tag="EMSP-RFID-0001",
                meter_start=0,
                timestamp=wire(0),
            )
        )
        async with ocpi_runtime.uow() as uow:
            station = await uow.stations.get_by_charge_point_id("CP16-AC")
        assert station is not None
        (session,) = await stored_sessions(ocpi_runtime, station.id)
        assert session.account_id == account.id
        # The partner's command was its yes: the session says so (§13.3.5, §9.3.1).
        await ocpi_runtime.deliver_outbox()
        (pushed,) = await asyncio.to_thread(emsp.received, "sessions")
        assert pushed["body"]["auth_method"] == "COMMAND"
        assert pushed["body"]["authorization_reference"] == "CMD-REF-0001"

        unknown = await asyncio.to_thread(
            emsp.command, "STOP_SESSION", {"session_id": "00000000-0000-0000-0000-000000000000"}
        )
        assert unknown["command_response"]["result"] == "UNKNOWN_SESSION"
        stop = await asyncio.to_thread(
            emsp.command, "STOP_SESSION", {"session_id": str(session.id)}
        )
        assert stop["command_response"]["result"] == "ACCEPTED"
        assert (await result_for(emsp, stop["uid"]))["body"]["result"] == "ACCEPTED"
        (stopped,) = [p for action, p in cp.received if action == "RemoteStopTransaction"]
        assert stopped["transaction_id"] == tx.transaction_id

        cp.answers["UnlockConnector"] = "UnlockFailed"
        unlock = await asyncio.to_thread(
            emsp.command,
            "UNLOCK_CONNECTOR",
            {"location_id": depot["id"], "evse_uid": ac[0]["uid"], "connector_id": "1"},
        )
        assert unlock["command_response"]["result"] == "ACCEPTED"
        assert (await result_for(emsp, unlock["uid"]))["body"]["result"] == "FAILED"

        # Reservations are test_ocpi_reservations.py's; one for decades is refused.
        reserve = await asyncio.to_thread(
            emsp.command,
            "RESERVE_NOW",
            {
                "token": card,
                "expiry_date": "2099-01-01T00:00:00Z",
                "reservation_id": "R1",
                "location_id": depot["id"],
            },
        )
        assert reserve["command_response"]["result"] == "ACCEPTED"
        assert (await result_for(emsp, reserve["uid"]))["body"]["result"] == "REJECTED"
        assert [a for a, _ in cp.received if a == "ReserveNow"] == []

    # The station is gone: an accepted command's result says it failed.
    late = await asyncio.to_thread(
        emsp.command,
        "UNLOCK_CONNECTOR",
        {"location_id": depot["id"], "evse_uid": ac[0]["uid"], "connector_id": "1"},
    )
    assert (await result_for(emsp, late["uid"]))["body"]["result"] == "FAILED"
