"""Sessions and CDRs pushed to the roaming partner (OCPI 2.2.1 §9.2.2, §10.2.2): a partner's
session's start and end, and the charge of its session, announce in their own transactions
what the outbox then PUTs (the session, as it stands) and POSTs (the CDR) to the independent
eMSP, which validates them; once, however often the outbox runs; and again later when the
partner was down. Both databases."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from ocpp.v16 import call

from chargeledger.bootstrap import Runtime
from chargeledger.domain.disputes import DisputeReason, Resolution, Subject
from chargeledger.domain.outbox import Channel, MessageState
from chargeledger.services.billing.repricing import RepriceRequest
from chargeledger.services.disputes.cases import CaseRequest, open_dispute
from chargeledger.services.disputes.resolution import ResolutionRequest, resolve_dispute
from chargeledger.services.payments.repricing import reprice_session
from chargeledger.services.roaming.handshake import invite_partner
from chargeledger.services.roaming.tokens import pull_partner_tokens
from tests.integration.ocpi_emsp import EmspProcess
from tests.integration.ocpi_world import emsp_partner, ocpp_url, partner_account
from tests.integration.ocpp_support import Station16, connected, stored_sessions, wire
from tests.integration.repricing_world import FINANCE, repricings_of
from tests.integration.test_ocpi_cdrs import exact


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


async def test_a_repriced_partner_session_credits_its_cdr_and_sends_a_new_one(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    """OCPI 2.2.1 §10.1.1: a CDR sent is never changed; a re-pricing (here the resolution of
    the partner's dispute, then finance's own) sends a credit CDR of it (its data, negative
    amounts, credit_reference_id) and a new CDR at the new price."""
    rt = ocpi_runtime
    await emsp_partner(rt, served, emsp)
    await charge_one_session(ocpp_url(served), 1, 0)
    await rt.quiesce()
    await rt.deliver_outbox()
    (original,) = [entry["body"] for entry in await asyncio.to_thread(emsp.received, "cdrs")]
    session_id = uuid.UUID(original["id"])

    # The eMSP disputes the CDR (off OCPI: by mail, with the meter's display): finance opens
    # the case on the partner's session and resolves it by re-pricing (the dispute flow).
    async with rt.uow() as uow:
        case = await open_dispute(
            uow,
            rt.clock,
            rt.settings.operator_time_zone,
            FINANCE,
            CaseRequest(Subject(session_id=session_id), DisputeReason.ENERGY, "display: 4 kWh"),
        )
        await uow.commit()
    resolution = ResolutionRequest(Resolution.REPRICE, "as displayed", meter_stop_wh=Decimal(4_000))
    closed = await resolve_dispute(rt.payments, FINANCE, case.dispute.id, resolution)
    assert closed.dispute.outcome_ref is not None
    report = await rt.deliver_outbox()
    assert report.dead == report.retrying == 0
    _, credit, current = [e for e in await asyncio.to_thread(emsp.received, "cdrs")]
    for entry in (credit, current):
        assert entry["strict"] == []
        assert await asyncio.to_thread(emsp.validate, "cdr", entry["body"]) == []
    credited, new = credit["body"], current["body"]
    assert credited["id"] == f"{session_id}-C1"
    assert credited["credit"] is True
    assert credited["credit_reference_id"] == str(session_id)
    assert credited["total_energy"] == original["total_energy"] == 5
    assert exact(credited["total_cost"]["excl_vat"]) == -exact(original["total_cost"]["excl_vat"])
    assert exact(credited["total_cost"]["incl_vat"]) == -exact(original["total_cost"]["incl_vat"])
    assert new["id"] == f"{session_id}-R1"
    assert new["session_id"] == str(session_id)
    assert "credit" not in new
    assert new["total_energy"] == 4
    (repricing,) = await repricings_of(rt, session_id)
    assert exact(new["total_cost"]["excl_vat"]) == repricing.after.billed.net
    assert exact(new["total_cost"]["incl_vat"]) == repricing.after.billed.gross
    assert closed.dispute.outcome_ref == f"repricing:{repricing.id}"

    # A second re-pricing credits the first's CDR, under ids of its own.
    again = RepriceRequest(reason="second photo", meter_stop_wh=Decimal(4_500))
    await reprice_session(rt.payments, FINANCE, session_id, again)
    await rt.deliver_outbox()
    *_, credit2, current2 = [e["body"] for e in await asyncio.to_thread(emsp.received, "cdrs")]
    assert credit2["id"] == f"{session_id}-C2"
    assert credit2["credit_reference_id"] == f"{session_id}-R1"
    assert credit2["total_energy"] == 4
    assert current2["id"] == f"{session_id}-R2"
    assert current2["total_energy"] == 4.5

    # A partner that pulls (§10.2.1) gets the same five CDRs, in the order they were issued.
    pushed = [e["body"] for e in await asyncio.to_thread(emsp.received, "cdrs")]
    pulled = await asyncio.to_thread(emsp.pull, "cdrs", {"limit": 2})
    assert pulled["errors"] == []
    assert [page["count"] for page in pulled["pages"]] == [2, 2, 1]
    assert [cdr["id"] for cdr in pulled["items"]] == [
        str(session_id),
        f"{session_id}-C1",
        f"{session_id}-R1",
        f"{session_id}-C2",
        f"{session_id}-R2",
    ]
    assert pulled["items"] == pushed
