"""Our OCPI 2.2.1 CDRs sender interface (§10.2.1) with complete CDRs (§10.3.1), on both
databases: real sessions at real OCPP 1.6 and 2.0.1 stations, charged and invoiced as any, then
pulled by the independent eMSP (tests/ocpi_emsp: extrawest-ocpi's models plus the strict checks)
through our ``Link`` headers. A CDR bills what the invoice bills and names the location, EVSE and
connector the locations module publishes; a partner sees the CDRs of its own billing account
only; ``chargeledger export cdrs`` writes the same documents, and without our party leaves it
out instead of inventing one.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from ocpp.v16 import call as call16

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, AccountKind, Token, TokenType
from chargeledger.domain.billing import Charge
from chargeledger.domain.geo import Address
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.ocpi_cdrs import OcpiParty
from chargeledger.domain.roaming import PartnerStatus
from chargeledger.domain.station_link import SessionFilter
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.money import Currency
from chargeledger.services import customers
from chargeledger.services.billing import charges as billing
from chargeledger.services.billing import invoicing
from chargeledger.services.billing.cdr_exports import cdrs_between
from chargeledger.services.roaming.handshake import invite_partner
from chargeledger.services.roaming.tokens import pull_partner_tokens
from chargeledger.services.tariffs import assign_tariff, import_tariff
from tests.integration.billing_world import OPERATOR_TZ, SELLER
from tests.integration.ocpi_emsp import EmspProcess
from tests.integration.ocpi_world import OUR_COUNTRY, OUR_PARTY, registered_partner
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    WAIT_S,
    Station16,
    Station201,
    connected,
    wire,
)
from tests.integration.test_ocpi_cpo import ok, token_header
from tests.integration.test_ocpp201 import event, register

CARD = "EMSP-RFID-0001"  # the eMSP's card (tests/ocpi_emsp), pulled into our registry
ROAMING_TARIFF = {
    "id": "ROAMING-NL",
    "currency": "EUR",
    "elements": [
        {
            "price_components": [
                {"type": "ENERGY", "price": "0.45", "step_size": 1},
                {"type": "TIME", "price": "1.20", "step_size": 60},
                {"type": "FLAT", "price": "0.35", "step_size": 1},
            ]
        },
        {"price_components": [{"type": "PARKING_TIME", "price": "6.00", "step_size": 60}]},
    ],
}
OUR_DRIVERS_TARIFF = {
    "id": "OUR-DRIVERS",
    "currency": "EUR",
    "elements": [{"price_components": [{"type": "ENERGY", "price": "0.39", "step_size": 1}]}],
}
MARCH_2024 = "2024-03"  # T0 of ocpp_support is 2024-03-04T08:00Z


async def roaming_account(runtime: Runtime, name: str = "Test eMSP B.V.") -> Account:
    """A partner's billing account, priced by its own roaming tariff (account scope)."""
    async with runtime.uow() as uow:
        account = await customers.create_account(
            uow,
            runtime.clock,
            runtime.vat_ids,
            Account(
                kind=AccountKind.BUSINESS,
                name=name,
                email=f"billing-{uuid.uuid4().hex[:8]}@emsp.example.org",
                billing_address=Address("Kade 1", "1011 AB", "Amsterdam", "NL"),
                currency=Currency.of("EUR"),
                payment_terms_days=30,
            ),
        )
        for tariff, scope, scope_id in (
            (ROAMING_TARIFF, TariffScope.ACCOUNT, str(account.id)),
            (OUR_DRIVERS_TARIFF, TariffScope.OPERATOR, None),
        ):
            stored = await import_tariff(uow, runtime.clock, tariff)
            await assign_tariff(
                uow, runtime.clock, stored.id, scope, scope_id, runtime.settings.vat_rates
            )
        await uow.commit()
    return account


async def charge_at_stations(served: str, card: str, other: str) -> None:
    """Three sessions of ``card`` (two at the 1.6 station's EVSE 1, one at the 2.0.1 station)
    and one of ``other`` (the 1.6 station's EVSE 2), each with readings and an idle spell."""
    ws_url = served.replace("http://", "ws://").removesuffix("/ocpi") + "/ocpp"
    async with connected(ws_url, Station16) as cp:
        for tag, connector, begin, wh in (
            (card, 1, 0, 1_000_000),
            (other, 2, 0, 500_000),
            (card, 1, 3600, 1_011_000),
        ):
            tx = await cp.start_tx(tag, wh, begin, connector)
            await cp.request(status16(connector, "Charging", begin))
            await cp.registers(tx, connector, (begin + 900, wh + 6_000))
            await cp.request(status16(connector, "SuspendedEV", begin + 1500))
            await cp.stop_tx(tx, wh + 11_000, begin + 1800, reason="EVDisconnected")
    async with connected(ws_url, Station201) as cs:
        begin = [register(0, 57_584, context="Transaction.Begin")]
        await event(cs, "Started", 0, 0, "Authorized", begin, state="Charging", tag=card)
        await event(cs, "Updated", 1, 600, "MeterValuePeriodic", [register(600, 67_584)])
        end = [register(1200, 77_584, context="Transaction.End")]
        await event(cs, "Ended", 2, 1200, "EVDeparted", end, stopped_reason="EVDisconnected")


def status16(connector: int, status: str, seconds: int) -> Any:
    return call16.StatusNotification(
        connector_id=connector, error_code="NoError", status=status, timestamp=wire(seconds)
    )


async def charge_and_invoice(
    runtime: Runtime,
) -> tuple[dict[uuid.UUID, Charge], list[Invoice]]:
    """Book every completed session and run March's invoices: the charges by session, and
    the invoices issued. A partner's sessions were charged at their stop already (their CDR
    is owed then); the others are charged here."""
    await runtime.quiesce()
    done = await billing.charge_completed_sessions(
        runtime.uow, runtime.clock, runtime.settings.vat_rates, OPERATOR_TZ, SELLER
    )
    assert done.unpriced == {}
    run = await invoicing.run_invoices(runtime.uow, runtime.clock, SELLER, OPERATOR_TZ, MARCH_2024)
    async with runtime.uow() as uow:  # as stored: with the moment each was booked
        page = await uow.sessions.search(SessionFilter(), limit=100, offset=0)
        found = [await uow.billing.charge_for_session(s.id) for s in page.items]
    charges = {charge.session_id: charge for charge in found if charge is not None}
    assert len(charges) == 4
    return charges, run.issued


def exact(value: Any) -> Decimal:
    return Decimal(str(value))


async def test_the_emsp_pulls_complete_cdrs_that_bill_what_we_invoiced(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    account = await roaming_account(ocpi_runtime)
    partner, token_a = await invite_partner(
        ocpi_runtime.uow,
        ocpi_runtime.clock,
        name="Test eMSP",
        country_code="NL",
        party_id="EMS",
        account_id=account.id,
    )
    await asyncio.to_thread(emsp.register_with, f"{served}/versions", token_a)
    await pull_partner_tokens(ocpi_runtime.roaming, partner.id)
    await charge_at_stations(served, CARD, ACTIVE_TAG)
    charges, invoices = await charge_and_invoice(ocpi_runtime)
    (invoice,) = [i for i in invoices if i.account_id == account.id]  # the partner's March one

    pulled = await asyncio.to_thread(emsp.pull, "cdrs", {"limit": 2})
    assert pulled["errors"] == []
    assert [page["count"] for page in pulled["pages"]] == [2, 1]
    assert {page["x_total_count"] for page in pulled["pages"]} == {"3"}
    cdrs = pulled["items"]
    assert len({cdr["id"] for cdr in cdrs}) == 3
    locations = await asyncio.to_thread(emsp.pull, "locations")
    assert locations["errors"] == []
    lines = {line.session_id: line for line in invoice.lines}
    for cdr in cdrs:
        assert await asyncio.to_thread(emsp.validate, "cdr", cdr) == []
        charge = charges[uuid.UUID(cdr["id"])]
        assert charge.account_id == account.id
        assert (cdr["country_code"], cdr["party_id"]) == (OUR_COUNTRY, OUR_PARTY)
        assert cdr["session_id"] == cdr["id"]
        # What was booked and invoiced for the session, to the cent.
        assert (exact(cdr["total_cost"]["excl_vat"]), exact(cdr["total_cost"]["incl_vat"])) == (
            charge.net,
            charge.gross,
        )
        assert exact(cdr["total_cost"]["excl_vat"]) == lines[charge.session_id].net
        assert exact(cdr["total_energy"]) == charge.energy_kwh
        assert exact(cdr["total_parking_time"]) == round(charge.idle_hours, 4)  # §10.3.1: 4
        assert cdr["tariffs"][0]["id"] == "ROAMING-NL"
        assert cdr["cdr_token"] == {
            "country_code": "NL",
            "party_id": "EMS",
            "uid": CARD,
            "type": "RFID",
            "contract_id": "NL-EMS-C00000001-X",  # the eMSP's, as its token list gave it
        }
        assert cdr["auth_method"] == "WHITELIST"
        assert cdr["last_updated"] == wire_second(charge.created_at)
        assert_names_a_published_connector(cdr["cdr_location"], locations["items"])
    energy = sorted(exact(cdr["total_energy"]) for cdr in cdrs)
    assert energy == [Decimal(11), Decimal(11), Decimal(20)]
    assert sum(exact(c["total_cost"]["excl_vat"]) for c in cdrs) == invoice.net_total

    later = await asyncio.to_thread(emsp.pull, "cdrs", {"date_from": "2100-01-01T00:00:00Z"})
    assert (later["errors"], later["items"]) == ([], [])


def wire_second(moment: datetime | None) -> str:
    assert moment is not None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def assert_names_a_published_connector(place: dict[str, Any], published: list[Any]) -> None:
    """The CDR's location, EVSE and connector are the locations module's, as published."""
    (location,) = [loc for loc in published if loc["id"] == place["id"]]
    for name in ("name", "address", "city", "postal_code", "country", "coordinates"):
        assert place[name] == location[name], name
    (evse,) = [e for e in location["evses"] if e["uid"] == place["evse_uid"]]
    (connector,) = [c for c in evse["connectors"] if c["id"] == place["connector_id"]]
    assert (
        place["connector_standard"],
        place["connector_format"],
        place["connector_power_type"],
    ) == (connector["standard"], connector["format"], connector["power_type"])
    assert place["evse_id"].startswith("DE*CLG*E")


async def partner_of(runtime: Runtime, party_id: str, account: uuid.UUID | None) -> str:
    """A registered partner billed through ``account``; the token it calls us with."""
    partner, token = await registered_partner(runtime, party_id)
    async with runtime.uow() as uow:
        assert await uow.roaming.replace_if(
            replace(partner, account_id=account), PartnerStatus.REGISTERED, partner.incoming_digest
        )
        await uow.commit()
    return token


async def pages(http: httpx.AsyncClient, url: str | None, token: str) -> list[httpx.Response]:
    found = []
    while url is not None:
        answer = await http.get(url, headers=token_header(token))
        ok(answer)
        found.append(answer)
        link = answer.headers.get("Link")
        url = None if link is None else link.split(">")[0].lstrip("<")
    return found


async def test_each_partner_sees_its_own_account_cdrs_paged_and_filtered(
    ocpi_runtime: Runtime, served: str, database: tuple[str, str | None], tmp_path: Path
) -> None:
    account = await roaming_account(ocpi_runtime, "Roaming Hub B.V.")
    async with ocpi_runtime.uow() as uow:
        await customers.create_token(
            uow,
            ocpi_runtime.clock,
            Token(uid="NLHUB0001", type=TokenType.RFID, account_id=account.id),
        )
        driver = await uow.tokens.get_by_uid(ACTIVE_TAG)
        await uow.commit()
    assert driver is not None
    hub = await partner_of(ocpi_runtime, "HUB", account.id)
    drivers = await partner_of(ocpi_runtime, "DRV", driver.account_id)  # our drivers' account
    nobody = await partner_of(ocpi_runtime, "NOA", None)
    _, invited = await registered_partner(ocpi_runtime, "INV", PartnerStatus.INVITED)
    await charge_at_stations(served, "NLHUB0001", ACTIVE_TAG)
    charges, _ = await charge_and_invoice(ocpi_runtime)

    async with httpx.AsyncClient(timeout=WAIT_S) as http:  # a safety net, not a schedule
        url = f"{served}/2.2.1/cdrs"
        paged = await pages(http, f"{url}?limit=1", hub)
        assert [len(ok(page)) for page in paged] == [1, 1, 1]
        assert {page.headers["X-Total-Count"] for page in paged} == {"3"}
        assert {page.headers["X-Limit"] for page in paged} == {"1"}
        mine = [cdr for page in paged for cdr in json.loads(page.text, parse_float=Decimal)["data"]]
        assert {uuid.UUID(c["id"]) for c in mine} == {
            s for s, c in charges.items() if c.account_id == account.id
        }
        assert [c["last_updated"] for c in mine] == sorted(c["last_updated"] for c in mine)
        assert {(c["cdr_token"]["party_id"], c["cdr_token"]["uid"]) for c in mine} == {
            ("HUB", "NLHUB0001")
        }
        (ours,) = ok(await http.get(url, headers=token_header(drivers)))
        assert charges[uuid.UUID(ours["id"])].account_id == driver.account_id
        assert ours["cdr_token"]["uid"] == ACTIVE_TAG
        none = await http.get(url, headers=token_header(nobody))
        assert (ok(none), none.headers["X-Total-Count"]) == ([], "0")

        # date_from is inclusive and date_to exclusive, on last_updated.
        booked = min(c.created_at for c in charges.values() if c.created_at is not None)
        at = booked.astimezone(UTC).isoformat().replace("+00:00", "Z")
        since = await http.get(url, headers=token_header(hub), params={"date_from": at})
        assert since.headers["X-Total-Count"] == "3"
        before = await http.get(url, headers=token_header(hub), params={"date_to": at})
        assert (ok(before), before.headers["X-Total-Count"]) == ([], "0")
        for params in ({"date_from": "2024-01-01T00:00:00"}, {"limit": "0"}, {"offset": "-1"}):
            refused = await http.get(url, headers=token_header(hub), params=params)
            assert (refused.status_code, refused.json()["status_code"]) == (400, 2001), params
        refused = await http.get(url, headers=token_header(invited))
        assert (refused.status_code, refused.json()["status_code"]) == (401, 2000)

    # The repository's page, on both databases: the account's charges in booking order.
    async with ocpi_runtime.uow() as uow:
        first, total = await uow.billing.charges_of_account(
            account.id, None, None, limit=2, offset=0
        )
        rest, _ = await uow.billing.charges_of_account(account.id, None, None, limit=2, offset=2)
        window, counted = await uow.billing.charges_of_account(
            account.id, booked, datetime(2100, 1, 1, tzinfo=UTC), limit=10, offset=0
        )
        empty, zero = await uow.billing.charges_of_account(
            uuid.uuid4(), None, None, limit=10, offset=0
        )
    assert (total, len(first), len(rest), counted, zero, empty) == (3, 2, 1, 3, 0, [])
    assert [c.id for c in first + rest] == [c.id for c in window]
    assert [(c.created_at, c.id) for c in window] == sorted((c.created_at, c.id) for c in window)

    # ``export cdrs`` writes the documents the partner pulls; without our party, none is made up.
    window_all = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    async with ocpi_runtime.uow() as uow:
        cpo = OcpiParty(OUR_COUNTRY, OUR_PARTY)
        exported = await cdrs_between(uow, *window_all, ocpi_runtime.settings.vat_rates, cpo=cpo)
        bare = await cdrs_between(uow, *window_all, ocpi_runtime.settings.vat_rates)
    assert len(exported) == 4
    by_id = {c["id"]: c for c in exported}
    for cdr in mine:
        assert cdr == by_id[cdr["id"]]  # exact decimals: JSON read with parse_float=Decimal
    for cdr in bare:
        assert "party_id" not in cdr
        assert "country_code" not in cdr
        issuer = "HUB" if charges[uuid.UUID(cdr["id"])].account_id == account.id else "DRV"
        assert (cdr["cdr_token"]["country_code"], cdr["cdr_token"]["party_id"]) == ("NL", issuer)
        assert not cdr["cdr_location"]["evse_id"].startswith("DE*CLG")
        assert all("party_id" not in tariff for tariff in cdr["tariffs"])
    url, schema = database
    if schema is None:  # the command takes a database URL, not a PostgreSQL schema
        written = await asyncio.to_thread(export_cdrs_command, url, tmp_path)
        assert written == json.loads(json.dumps(exported, default=float))


def export_cdrs_command(url: str, tmp_path: Path) -> Any:
    """``chargeledger export cdrs`` in a process of its own, with our party configured."""
    environment = {
        **os.environ,
        "CHARGELEDGER_DATA_DIR": str(tmp_path / "cli"),
        "CHARGELEDGER_DATABASE_URL": url,
        "CHARGELEDGER_LOG_LEVEL": "WARNING",
        "CHARGELEDGER_OCPI_COUNTRY_CODE": OUR_COUNTRY,
        "CHARGELEDGER_OCPI_PARTY_ID": OUR_PARTY,
    }
    command = [str(Path(sys.executable).with_name("chargeledger")), "export", "cdrs"]
    done = subprocess.run(
        [*command, "--from", "2024-01-01", "--to", "2025-01-01"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
