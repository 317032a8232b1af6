"""The OCPI 2.2.1 credentials handshake (§7.2.1) with an independent eMSP, in both roles, on
both databases: the eMSP of ``tests/ocpi_emsp`` (built on extrawest-ocpi, in its own process)
registers with our served API, and we register with it. Everything each side sends the other
is validated by the library's OCPI 2.2.1 models and the spec's stricter rules; our pages are
pulled by the eMSP through their ``Link`` headers.

The eMSP's control calls are blocking; they run in a thread, as the eMSP calls back into the
server on this test's event loop while they wait.
"""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.roaming import InterfaceRole, ModuleId, PartnerStatus
from chargeledger.services.roaming.handshake import (
    OurParty,
    invite_partner,
    register_with_partner,
)
from tests.integration.ocpi_emsp import EmspProcess
from tests.integration.ocpi_world import EMSP_TOKEN_A


def token_header(token: str) -> dict[str, str]:
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


async def test_the_emsp_registers_with_us_and_pulls_our_locations_and_tariffs(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    partner, token_a = await invite_partner(
        ocpi_runtime.uow, ocpi_runtime.clock, name="Test eMSP", country_code="NL", party_id="EMS"
    )
    outcome = await asyncio.to_thread(emsp.register_with, f"{served}/versions", token_a)
    assert outcome["errors"] == []
    # Our answer to its POST was a valid credentials object with our party.
    held = (await asyncio.to_thread(emsp.partner))["partner"]
    assert held["initiated_by"] == "EMSP"
    roles = held["credentials"]["roles"]
    assert [(r["role"], r["country_code"], r["party_id"]) for r in roles] == [("CPO", "DE", "CLG")]
    token_c = held["token_we_use"]
    assert token_c not in (token_a, held["token_partner_uses"])

    async with ocpi_runtime.uow() as uow:
        stored = await uow.roaming.get(partner.id)
    assert stored is not None
    assert stored.status is PartnerStatus.REGISTERED
    assert stored.versions_url == emsp.versions_url
    assert stored.endpoint(ModuleId.LOCATIONS, InterfaceRole.RECEIVER) is not None
    assert stored.outgoing_token is not None
    assert ocpi_runtime.roaming.box.open(stored.outgoing_token) == held["token_partner_uses"]
    assert held["token_partner_uses"] not in stored.outgoing_token  # sealed, not in clear

    async with httpx.AsyncClient() as http:
        # Token A was for the registration only.
        spent = await http.get(f"{served}/versions", headers=token_header(token_a))
        assert spent.status_code == 401
        assert await asyncio.to_thread(emsp.validate, "response", spent.json()) == []
        unknown = await http.get(f"{served}/2.2.1/locations/nope", headers=token_header(token_c))
        assert unknown.status_code == 404
        assert unknown.json()["status_code"] == 2003
        assert await asyncio.to_thread(emsp.validate, "response", unknown.json()) == []

    pulled = await asyncio.to_thread(emsp.pull, "locations", {"limit": 2})
    assert pulled["errors"] == []
    assert len(pulled["items"]) == 3
    assert [page["count"] for page in pulled["pages"]] == [2, 1]
    assert {page["x_total_count"] for page in pulled["pages"]} == {"3"}
    tariffs = await asyncio.to_thread(emsp.pull, "tariffs")
    assert tariffs["errors"] == []
    assert [t["id"] for t in tariffs["items"]] == ["AC-STANDARD"]
    for location in pulled["items"]:
        for evse in location.get("evses", []):
            assert await asyncio.to_thread(emsp.validate, "evse", evse) == []


async def test_we_register_with_the_emsp(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    partner, _ = await invite_partner(
        ocpi_runtime.uow, ocpi_runtime.clock, name="Test eMSP", country_code="NL", party_id="EMS"
    )
    ours = OurParty("DE", "CLG", "Test Charging GmbH", f"{served}/versions")
    registered = await register_with_partner(
        ocpi_runtime.roaming, ours, partner.id, emsp.versions_url, EMSP_TOKEN_A
    )
    assert registered.status is PartnerStatus.REGISTERED
    assert registered.endpoint(ModuleId.CDRS, InterfaceRole.RECEIVER) is not None
    held = await asyncio.to_thread(emsp.partner)
    assert held["registered"]
    assert held["partner"]["initiated_by"] == "CPO"
    # The eMSP calls us with the token we sent it (B), and reads our modules with it.
    pulled = await asyncio.to_thread(emsp.pull, "locations")
    assert pulled["errors"] == []
    assert len(pulled["items"]) == 3
    # A second registration is refused (§7.2.1: PUT is for changes).
    with pytest.raises(Exception, match="already registered"):
        await register_with_partner(
            ocpi_runtime.roaming, ours, partner.id, emsp.versions_url, EMSP_TOKEN_A
        )


async def test_two_registrations_racing_on_one_token_register_once(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    partner, token_a = await invite_partner(
        ocpi_runtime.uow, ocpi_runtime.clock, name="Test eMSP", country_code="NL", party_id="EMS"
    )
    credentials = {
        "token": EMSP_TOKEN_A,  # what we would call the eMSP with: its versions open to it
        "url": emsp.versions_url,
        "roles": [
            {
                "role": "EMSP",
                "business_details": {"name": "Test eMSP"},
                "party_id": "EMS",
                "country_code": "NL",
            }
        ],
    }
    async with httpx.AsyncClient(timeout=60) as http:
        answers = await asyncio.gather(
            *(
                http.post(
                    f"{served}/2.2.1/credentials", headers=token_header(token_a), json=credentials
                )
                for _ in range(4)
            )
        )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(200) == 1, [a.text for a in answers]
    assert set(statuses) <= {200, 401, 405}
    (won,) = [answer.json()["data"] for answer in answers if answer.status_code == 200]
    async with ocpi_runtime.uow() as uow:
        stored = await uow.roaming.get(partner.id)
    assert stored is not None
    assert stored.status is PartnerStatus.REGISTERED
    async with httpx.AsyncClient() as http:
        works = await http.get(f"{served}/2.2.1/tariffs", headers=token_header(won["token"]))
    assert works.status_code == 200
