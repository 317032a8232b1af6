"""Sessions and CDRs pushed to the roaming partner (OCPI 2.2.1 §9.2.2, §10.2.2): a partner's
session's start and end, and the charge of its session, announce in their own transactions
what the outbox then PUTs (the session, as it stands) and POSTs (the CDR) to the independent
eMSP, which validates them; once, however often the outbox runs; and again later when the
partner was down. Both databases."""

from __future__ import annotations

import asyncio

from ocpp.v16 import call

from chargeledger.bootstrap import Runtime
from chargeledger.domain.outbox import Channel, MessageState
from chargeledger.services.roaming.handshake import invite_partner
from chargeledger.services.roaming.tokens import pull_partner_tokens
from tests.integration.ocpi_emsp import EmspProcess
from tests.integration.ocpp_support import Station16, connected, stored_sessions, wire
from tests.integration.test_ocpi_tokens import partner_account


async def charge_one_session(ws_url: str, connector: int, seconds: float) -> None:
    async with connected(ws_url, Station16) as cp:
        await cp.request(call.BootNotification("T1", "Test"))
        start = await cp.request(
            call.StartTransaction(
                connector_id=connector,
                id_tag="EMSP-RFID-0001",
                meter_start=0,
                timestamp=wire(seconds),
            )
        )
        await cp.request(
            call.StopTransaction(
                meter_stop=5_000,
                timestamp=wire(seconds + 1800),
                transaction_id=start.transaction_id,
            )
        )


async def ocpi_messages(runtime: Runtime) -> list[tuple[MessageState, int]]:
    """The sessions' and CDRs' pushes (the locations' are ``test_ocpi_location_push``'s)."""
    async with runtime.uow() as uow:
        page = await uow.outbox.list(None, limit=100, offset=0)
    return [
        (m.state, m.attempts)
        for m in page.items
        if m.channel is Channel.OCPI and m.notice.topic in ("ocpi.session", "ocpi.cdr")
    ]


async def test_a_partner_session_s_cdr_is_pushed_once_and_again_after_an_outage(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    rt = ocpi_runtime
    account = await partner_account(rt)
    partner, token_a = await invite_partner(
        rt.uow, rt.clock, name="Test eMSP", country_code="NL", party_id="EMS", account_id=account.id
    )
    await asyncio.to_thread(emsp.register_with, f"{served}/versions", token_a)
    await pull_partner_tokens(rt.roaming, partner.id)
    ws_url = served.replace("http://", "ws://").removesuffix("/ocpi") + "/ocpp"

    async with connected(ws_url, Station16) as cp:
        await cp.request(call.BootNotification("T1", "Test"))
        start = await cp.request(
            call.StartTransaction(
                connector_id=1, id_tag="EMSP-RFID-0001", meter_start=0, timestamp=wire(0)
            )
        )
        # While it runs, the partner gets the session (§9.2.2), with price()'s cost so far.
        await rt.deliver_outbox()
        (running,) = await asyncio.to_thread(emsp.received, "sessions")
        assert running["method"] == "PUT"
        assert running["body"]["status"] == "ACTIVE"
        assert running["body"]["cdr_token"]["uid"] == "EMSP-RFID-0001"
        assert running["strict"] == []
        await cp.request(
            call.StopTransaction(
                meter_stop=5_000, timestamp=wire(1800), transaction_id=start.transaction_id
            )
        )
    await rt.quiesce()  # the stop's settling runs in the background
    report = await rt.deliver_outbox()
    async with rt.uow() as uow:
        errors = [m.last_error for m in (await uow.outbox.list(None, limit=9, offset=0)).items]
    assert report.dead == report.retrying == 0, (report, errors, emsp.received("rejected"))
    (pushed,) = await asyncio.to_thread(emsp.received, "cdrs")
    async with rt.uow() as uow:
        station = await uow.stations.get_by_charge_point_id("CP16-AC")
    assert station is not None
    (session,) = await stored_sessions(rt, station.id)
    assert pushed["method"] == "POST"
    assert pushed["body"]["id"] == str(session.id)
    assert pushed["body"]["cdr_token"]["uid"] == "EMSP-RFID-0001"
    assert pushed["body"]["cdr_token"]["party_id"] == "EMS"
    assert pushed["strict"] == []
    assert await asyncio.to_thread(emsp.validate, "cdr", pushed["body"]) == []
    (_, ended) = await asyncio.to_thread(emsp.received, "sessions")
    assert ended["body"]["status"] == "COMPLETED"
    assert ended["body"]["id"] == str(session.id)
    assert ended["body"]["total_cost"] == pushed["body"]["total_cost"]  # one price()
    assert ended["body"]["kwh"] == pushed["body"]["total_energy"] == 5
    assert ended["strict"] == []

    await rt.deliver_outbox()  # again: nothing of the session goes twice
    assert len(await asyncio.to_thread(emsp.received, "cdrs")) == 1
    assert len(await asyncio.to_thread(emsp.received, "sessions")) == 2

    # The partner is down: the next CDR waits in the outbox, retried with backoff.
    emsp.stop()
    await charge_one_session(ws_url, 2, 3600)
    await rt.quiesce()
    down = await rt.deliver_outbox()
    assert down.retrying >= 3, down  # its start, its end and its CDR (and its station's news)
    assert (
        sorted(await ocpi_messages(rt))
        == [(MessageState.DELIVERED, 1)] * 3 + [(MessageState.PENDING, 1)] * 3
    )
