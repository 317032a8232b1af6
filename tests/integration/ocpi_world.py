"""A CPO runtime with OCPI switched on (our party DE*CLG) and partners made straight in its
storage, for the OCPI tests; and the test eMSP as a partner with a billing account,
registered and its tokens pulled (``emsp_partner``), as most of them begin."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from ocpp.v16 import call

from chargeledger.asgi import create_app
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.config.roaming import RoamingSettings
from chargeledger.domain.accounts import Account, AccountKind
from chargeledger.domain.catalog import Site
from chargeledger.domain.geo import Address
from chargeledger.domain.roaming import PartnerStatus, PartyRole, RoamingPartner
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.money import Currency
from chargeledger.services import catalog, customers
from chargeledger.services.roaming.handshake import invite_partner, new_token, token_digest
from chargeledger.services.roaming.tokens import pull_partner_tokens
from chargeledger.services.tariffs import assign_tariff, import_tariff
from tests.conftest import fast_hasher
from tests.integration.ocpi_emsp import EmspProcess, running_emsp
from tests.integration.ocpp_server import running_server, seed_network
from tests.integration.ocpp_support import Station16, connected

OUR_COUNTRY, OUR_PARTY = "DE", "CLG"
EMSP_TOKEN_A = "emsp-token-a-for-our-cpo"  # what the test eMSP gives us to register with it
TARIFF = {
    "id": "AC-STANDARD",
    "currency": "EUR",
    "elements": [
        {"price_components": [{"type": "ENERGY", "price": "0.395", "step_size": 1}]},
        {"price_components": [{"type": "FLAT", "price": "0.50", "step_size": 1}]},
    ],
}


async def seed_sites(runtime: Runtime, extra: int) -> None:
    await seed_network(runtime)
    async with runtime.uow() as uow:
        for index in range(extra):
            await catalog.create_site(
                uow,
                runtime.clock,
                Site(
                    name=f"Site {index}",
                    address=Address(f"Street {index}", "10115", "Berlin", "DE"),
                    latitude=Decimal("52.5") + index,
                    longitude=Decimal("-13.123456789"),
                    time_zone="Europe/Berlin",
                ),
            )
        stored = await import_tariff(uow, runtime.clock, TARIFF)
        for scope in (TariffScope.AD_HOC, TariffScope.OPERATOR):  # drivers without and with
            await assign_tariff(  # an account (a roaming partner's) pay the same
                uow, runtime.clock, stored.id, scope, None, runtime.settings.vat_rates
            )
        await uow.commit()


@pytest.fixture
async def ocpi_runtime(database: tuple[str, str | None], tmp_path: Path) -> AsyncIterator[Runtime]:
    url, schema = database
    settings = Settings.from_env(
        {
            "CHARGELEDGER_DATA_DIR": str(tmp_path / "data"),
            "CHARGELEDGER_DATABASE_URL": url,
            "CHARGELEDGER_OPERATOR_NAME": "Test Charging GmbH",
        }
    )
    settings = replace(
        settings, roaming=RoamingSettings(OUR_COUNTRY, OUR_PARTY, timeout_seconds=30)
    )
    runtime = build_runtime(settings, schema=schema, hasher=fast_hasher())
    await runtime.migrate()
    try:
        yield runtime
    finally:
        await runtime.aclose()


@pytest.fixture
async def ocpi_client(ocpi_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ocpi_runtime, migrate=False, jobs=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def registered_partner(
    runtime: Runtime, party_id: str = "EMS", status: PartnerStatus = PartnerStatus.REGISTERED
) -> tuple[RoamingPartner, str]:
    """A partner as it stands after a handshake, and the token it calls us with."""
    token = new_token()
    now = runtime.clock.now()
    partner = RoamingPartner(
        name=f"Partner {party_id}",
        country_code="NL",
        party_id=party_id,
        role=PartyRole.EMSP,
        status=status,
        incoming_digest=token_digest(token),
        versions_url="https://x.example.com/ocpi/versions",
        created_at=now,
        updated_at=now,
    )
    async with runtime.uow() as uow:
        await uow.roaming.add(partner)
        await uow.commit()
    return partner, token


@pytest.fixture
def emsp() -> Iterator[EmspProcess]:
    """The independent eMSP (tests/ocpi_emsp), party NL*EMS, in a process of its own."""
    with running_emsp(EMSP_TOKEN_A, "--country-code", "NL", "--party-id", "EMS") as process:
        yield process


@pytest.fixture
async def served(ocpi_runtime: Runtime) -> AsyncIterator[str]:
    """Our API on a real port with the test network (``seed_sites``); yields its OCPI base
    URL (``http://127.0.0.1:PORT/ocpi``; the OCPP edge is at ``ws://.../ocpp``)."""
    await seed_sites(ocpi_runtime, extra=2)
    async with running_server(ocpi_runtime) as ws_url:
        yield ws_url.replace("ws://", "http://").removesuffix("/ocpp") + "/ocpi"


async def partner_account(runtime: Runtime) -> Account:
    async with runtime.uow() as uow:
        account = await customers.create_account(
            uow,
            runtime.clock,
            runtime.vat_ids,
            Account(
                kind=AccountKind.BUSINESS,
                name="Test eMSP B.V.",
                email="billing@emsp.example.org",
                billing_address=Address("Kade 1", "1011 AB", "Amsterdam", "NL"),
                currency=Currency.of("EUR"),
                payment_terms_days=30,
                vat_id="NL004495445B01",
            ),
        )
        await uow.commit()
    return account


async def emsp_partner(rt: Runtime, served: str, emsp: EmspProcess) -> RoamingPartner:
    """The test eMSP, invited with a billing account, registered, its tokens pulled."""
    account = await partner_account(rt)
    partner, token_a = await invite_partner(
        rt.uow, rt.clock, name="Test eMSP", country_code="NL", party_id="EMS", account_id=account.id
    )
    await asyncio.to_thread(emsp.register_with, f"{served}/versions", token_a)
    await pull_partner_tokens(rt.roaming, partner.id)
    return partner


def ocpp_url(served: str) -> str:
    return served.replace("http://", "ws://").removesuffix("/ocpi") + "/ocpp"


@asynccontextmanager
async def booted_station(served: str) -> AsyncIterator[Station16]:
    """The served network's OCPP 1.6 station (CP16-AC), connected and booted."""
    async with connected(ocpp_url(served), Station16) as cp:
        await cp.request(call.BootNotification("T1", "Test"))
        yield cp
