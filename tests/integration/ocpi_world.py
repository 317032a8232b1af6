"""A CPO runtime with OCPI switched on (our party DE*CLG) and partners made straight in its
storage, for the OCPI tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from chargeledger.asgi import create_app
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.config.roaming import RoamingSettings
from chargeledger.domain.roaming import PartnerStatus, PartyRole, RoamingPartner
from chargeledger.services.roaming.handshake import new_token, token_digest
from tests.conftest import fast_hasher

OUR_COUNTRY, OUR_PARTY = "DE", "CLG"


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
        created_at=now,
        updated_at=now,
    )
    async with runtime.uow() as uow:
        await uow.roaming.add(partner)
        await uow.commit()
    return partner, token
