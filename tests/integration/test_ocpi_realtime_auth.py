"""Real-time authorisation of roaming tokens (OCPI 2.2.1 §12.2.1.2) at a real OCPP station,
against the independent eMSP: a token pulled with whitelist NEVER is decided by its eMSP's
answer at each arrival (asked once for the Authorize and the start that follows), the session
and its CDR carry the answer's ``authorization_reference`` with ``auth_method``
AUTH_REQUEST; the eMSP's refusals are the station's; and with the eMSP down, a NEVER token is
refused while an ALLOWED_OFFLINE one is decided by the pulled list. Both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from ocpp.v16 import call
from ocpp.v201 import call as call201

from chargeledger.bootstrap import Runtime
from chargeledger.domain.roaming import RoamingPartner
from chargeledger.services.roaming.tokens import pull_partner_tokens
from tests.integration.ocpi_emsp import EmspProcess
from tests.integration.ocpi_world import booted_station, emsp_partner, ocpp_url
from tests.integration.ocpp_support import Station16, Station201, connected, stored_sessions

NEVER = "EMSP-RFID-0003"  # the test eMSP's card with whitelist NEVER
OFFLINE = "EMSP-RFID-0009"


async def authorize(cp: Station16, uid: str) -> str:
    return str((await cp.request(call.Authorize(id_tag=uid))).id_tag_info["status"])


def emsp_token(emsp: EmspProcess, uid: str) -> dict[str, Any]:
    (found,) = [t["token"] for t in emsp.tokens() if t["token"]["uid"] == uid]
    return dict(found)


async def add_offline_token(rt: Runtime, emsp: EmspProcess, partner: RoamingPartner) -> None:
    card = emsp_token(emsp, NEVER) | {"uid": OFFLINE, "whitelist": "ALLOWED_OFFLINE"}
    await asyncio.to_thread(emsp.put_token, card)
    await pull_partner_tokens(rt.roaming, partner.id)


async def test_the_emsp_decides_a_never_token_and_the_cdr_names_its_answer(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    rt = ocpi_runtime
    await emsp_partner(rt, served, emsp)
    async with booted_station(served) as cp:
        assert await authorize(cp, NEVER) == "Accepted"
        tx = await cp.start_tx(NEVER, 0)
        asked = await asyncio.to_thread(emsp.received, "authorizations")
        assert len(asked) == 1  # the Authorize and the start of one arrival: asked once
        (question,) = asked
        assert question["method"] == "POST"
        assert question["path"].endswith(f"/tokens/{NEVER}/authorize")
        assert question["query"].get("type") == "RFID"
        assert question["strict"] == []
        reference = question["stored"]["authorization_reference"]
        await cp.stop_tx(tx, 4_000, 1_800)
    await rt.quiesce()
    await rt.deliver_outbox()

    pushed_sessions = await asyncio.to_thread(emsp.received, "sessions")
    (cdr,) = await asyncio.to_thread(emsp.received, "cdrs")
    for body in [entry["body"] for entry in pushed_sessions] + [cdr["body"]]:
        assert body["authorization_reference"] == reference
        assert body["auth_method"] == "AUTH_REQUEST"
        assert body["cdr_token"]["contract_id"] == "NL-EMS-C00000003-X"
    assert await asyncio.to_thread(emsp.validate, "cdr", cdr["body"]) == []
    assert cdr["strict"] == []


async def test_the_emsp_s_refusals_are_the_station_s(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    rt = ocpi_runtime
    await emsp_partner(rt, served, emsp)
    card = emsp_token(emsp, NEVER)
    async with booted_station(served) as cp:
        await asyncio.to_thread(emsp.put_token, card, "BLOCKED")
        assert await authorize(cp, NEVER) == "Blocked"
        assert len(await asyncio.to_thread(emsp.received, "authorizations")) == 1
        # A refusal is not used again: the next arrival asks anew.
        await asyncio.to_thread(emsp.put_token, card, "NOT_ALLOWED")
        assert await authorize(cp, NEVER) == "Invalid"
        await asyncio.to_thread(emsp.put_token, card, "NO_CREDIT")
        assert await authorize(cp, NEVER) == "Blocked"  # 1.6 has no NoCredit
    async with connected(ocpp_url(served), Station201) as cp201:
        await cp201.request(
            call201.BootNotification(
                charging_station={"model": "T2", "vendorName": "Test"}, reason="PowerUp"
            )
        )
        answer = await cp201.request(
            call201.Authorize(id_token={"idToken": NEVER, "type": "ISO14443"})
        )
        assert answer.id_token_info["status"] == "NoCredit"
    async with rt.uow() as uow:
        station = await uow.stations.get_by_charge_point_id("CP16-AC")
    assert station is not None
    assert await stored_sessions(rt, station.id) == []


async def test_with_the_emsp_down_never_is_refused_and_allowed_offline_is_listed(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    rt = ocpi_runtime
    partner = await emsp_partner(rt, served, emsp)
    await add_offline_token(rt, emsp, partner)
    async with booted_station(served) as cp:
        emsp.stop()
        assert await authorize(cp, NEVER) == "Invalid"  # no answer: never from a list
        assert await authorize(cp, OFFLINE) == "Accepted"  # no answer: the list decides
    async with rt.uow() as uow:
        for uid in (NEVER, OFFLINE):
            answer = await uow.roaming.latest_answer(
                uid, rt.clock.now() - timedelta(hours=1), rt.clock.now()
            )
            assert answer is not None  # the question was asked and kept
            assert answer.allowed is None  # unanswered
