"""A roaming driver's card at our station (OCPI 2.2.1 §12.2.1, issue 18): the independent eMSP
registers with us, we pull its tokens into our registry under the partner's billing account,
and a real OCPP 1.6 station then authorises and charges with the eMSP's RFID card, the session
belonging to the partner's account (so it is billed on the partner's invoice, not to a driver).
Both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from ocpp.v16 import call

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import IssuerCheck, TokenStatus
from chargeledger.services.billing import invoicing
from chargeledger.services.billing.charges import charge_completed_sessions
from chargeledger.services.roaming.handshake import invite_partner
from chargeledger.services.roaming.tokens import TokenPull, pull_due_tokens, pull_partner_tokens
from tests.integration.billing_world import OPERATOR_TZ, REVERSE_CHARGE_NOTE, SELLER
from tests.integration.ocpi_emsp import EmspProcess
from tests.integration.ocpi_world import emsp_partner, partner_account
from tests.integration.ocpp_support import Station16, connected, stored_sessions, wire


async def test_a_roaming_card_charges_on_the_partner_account(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    account = await partner_account(ocpi_runtime)
    partner, token_a = await invite_partner(
        ocpi_runtime.uow,
        ocpi_runtime.clock,
        name="Test eMSP",
        country_code="NL",
        party_id="EMS",
        account_id=account.id,
    )
    await asyncio.to_thread(emsp.register_with, f"{served}/versions", token_a)

    pulled = await pull_partner_tokens(ocpi_runtime.roaming, partner.id)
    assert pulled == TokenPull(added=4)
    again = await pull_partner_tokens(ocpi_runtime.roaming, partner.id)
    assert again == TokenPull(unchanged=4)
    async with ocpi_runtime.uow() as uow:
        statuses = {
            uid: (await uow.tokens.get_by_uid(uid))
            for uid in ("EMSP-RFID-0001", "EMSP-RFID-0002", "EMSP-RFID-0003", "EMSP-APP-0001")
        }
    assert {uid: t.status for uid, t in statuses.items() if t is not None} == {
        "EMSP-RFID-0001": TokenStatus.ACTIVE,
        "EMSP-RFID-0002": TokenStatus.BLOCKED,  # valid: false
        "EMSP-RFID-0003": TokenStatus.ACTIVE,  # whitelist NEVER: its eMSP is asked each time
        "EMSP-APP-0001": TokenStatus.ACTIVE,
    }
    assert all(t is not None and t.account_id == account.id for t in statuses.values())
    never = statuses["EMSP-RFID-0003"]
    assert never is not None
    assert never.issuer_check is IssuerCheck.REQUIRED
    assert never.contract_id == "NL-EMS-C00000003-X"
    assert {t.issuer_check for uid, t in statuses.items() if t and uid != never.uid} == {None}

    # The eMSP blocks its card; the next pull blocks it here too.
    (card,) = [t["token"] for t in emsp.tokens() if t["token"]["uid"] == "EMSP-RFID-0001"]
    await asyncio.to_thread(emsp.put_token, {**card, "valid": False})
    assert await pull_partner_tokens(ocpi_runtime.roaming, partner.id) == TokenPull(
        changed=1, unchanged=3
    )
    await asyncio.to_thread(emsp.put_token, card)
    await pull_partner_tokens(ocpi_runtime.roaming, partner.id)

    ws_url = served.replace("http://", "ws://").removesuffix("/ocpi") + "/ocpp"
    async with connected(ws_url, Station16) as cp:
        await cp.request(call.BootNotification("T1", "Test"))
        verdicts = {
            uid: (await cp.request(call.Authorize(id_tag=uid))).id_tag_info["status"]
            for uid in ("EMSP-RFID-0001", "EMSP-RFID-0002", "EMSP-RFID-0003")
        }
        assert verdicts == {
            "EMSP-RFID-0001": "Accepted",
            "EMSP-RFID-0002": "Blocked",
            "EMSP-RFID-0003": "Accepted",  # asked in real time: the eMSP allows it
        }
        start = await cp.request(
            call.StartTransaction(
                connector_id=1, id_tag="EMSP-RFID-0001", meter_start=1_000_000, timestamp=wire(0)
            )
        )
        assert start.id_tag_info["status"] == "Accepted"
        stop = await cp.request(
            call.StopTransaction(
                meter_stop=1_010_000, timestamp=wire(1800), transaction_id=start.transaction_id
            )
        )
        assert stop.id_tag_info is None or stop.id_tag_info["status"] == "Accepted"
    async with ocpi_runtime.uow() as uow:
        station = await uow.stations.get_by_charge_point_id("CP16-AC")
    assert station is not None
    (session,) = await stored_sessions(ocpi_runtime, station.id)
    assert session.account_id == account.id
    assert session.energy_wh == 10_000  # 20 kW for 30 min on a 22 kW connector

    # Billed to the partner on its periodic invoice, as a B2B supply: an EU business with a
    # VAT id of another member state, so reverse charge (Directive 2006/112/EC art. 196).
    rt = ocpi_runtime
    await charge_completed_sessions(rt.uow, rt.clock, rt.settings.vat_rates, OPERATOR_TZ)
    async with rt.uow() as uow:
        charge = await uow.billing.charge_for_session(session.id)
    assert charge is not None
    assert charge.account_id == account.id
    run = await invoicing.run_invoices(rt.uow, rt.clock, SELLER, OPERATOR_TZ, "2024-03")
    (invoice,) = [i for i in run.issued if i.account_id == account.id]
    assert invoice.vat_note == REVERSE_CHARGE_NOTE
    # 10 kWh at 0.395 EUR plus 0.50 EUR, and no VAT charged.
    assert invoice.net_total == invoice.gross_total == Decimal("4.45")


async def test_the_periodic_pull_takes_a_partner_s_tokens_when_due(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    """``CHARGELEDGER_OCPI_TOKEN_PULL_SECONDS``: a partner pulled within the interval is left
    alone; once due, its list is pulled again and a card the eMSP blocked is blocked here."""
    rt = ocpi_runtime
    await emsp_partner(rt, served, emsp)  # registered, its tokens pulled just now
    assert await pull_due_tokens(rt.roaming, timedelta(hours=1)) == 0
    (card,) = [t["token"] for t in emsp.tokens() if t["token"]["uid"] == "EMSP-RFID-0001"]
    await asyncio.to_thread(emsp.put_token, {**card, "valid": False})
    assert await pull_due_tokens(rt.roaming, timedelta(0)) == 1  # due at once
    async with rt.uow() as uow:
        token = await uow.tokens.get_by_uid("EMSP-RFID-0001")
    assert token is not None
    assert token.status is TokenStatus.BLOCKED
    emsp.stop()  # a partner that cannot be reached is logged; the run goes on
    assert await pull_due_tokens(rt.roaming, timedelta(0)) == 0
