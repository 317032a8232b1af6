"""Quotes before the start come from the one pricing function, in the site's local time, under
the tariff the driver would get (issue 4; EU AFIR price transparency)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.services import tariffs
from tests.conftest import LoginAs
from tests.integration.ocpp_server import seed_network

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "ocpi-tariffs"


async def assign(runtime: Runtime, name: str, scope: TariffScope, scope_id: str | None) -> None:
    """A corpus tariff at the German test site: components that state VAT state 19 %."""
    document = json.loads(
        (CORPUS / "tandemdrive" / name / "tariff.json").read_text(), parse_float=Decimal
    )
    for element in document["elements"]:
        for component in element["price_components"]:
            if "vat" in component:
                component["vat"] = Decimal(19)
    async with runtime.uow() as uow:
        stored = await tariffs.import_tariff(uow, runtime.clock, document)
        await tariffs.assign_tariff(
            uow, runtime.clock, stored.id, scope, scope_id, runtime.settings.vat_rates
        )
        await uow.commit()


async def test_quotes_follow_the_spec_examples_in_local_time(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    network = await seed_network(runtime)
    station = network.stations["CP16-AC"]
    await assign(runtime, "step_size", TariffScope.STATION, str(station.id))
    await assign(runtime, "simple_025kwh", TariffScope.OPERATOR, None)
    driver = await login_as(Role.DRIVER)
    url = f"/api/v1/stations/{station.id}/quote"

    # OCPI 2.2.1 step_size example: 16:55 local (Europe/Berlin is UTC+1 in November),
    # 10 min charging and 2 min parking cost 0.55.
    answer = await client.get(
        url,
        headers=driver,
        params={"kwh": "0", "minutes": 10, "idle_minutes": 2, "start": "2026-11-20T15:55:00Z"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["time_zone"] == "Europe/Berlin"
    assert Decimal(body["total_cost"]["excl_vat"]) == Decimal("0.55")
    assert any("17:00-20:00" in line for line in body["price_display"])
    assert sum(Decimal(line["excl_vat"]) for line in body["lines"]) == Decimal("0.55")

    # Another station falls back to the operator default: 20 kWh at 0.25 + 19 % VAT.
    other = network.stations["CP201-DC"]
    answer = await client.get(
        f"/api/v1/stations/{other.id}/quote", headers=driver, params={"kwh": "20", "minutes": 60}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["total_cost"] == {"excl_vat": "5.00", "incl_vat": "5.95"}


async def test_quote_errors_are_clear(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    network = await seed_network(runtime)
    station = network.stations["CP16-AC"]
    operator = await login_as(Role.OPERATOR)
    url = f"/api/v1/stations/{station.id}/quote"
    none = await client.get(url, headers=operator, params={"kwh": "5", "minutes": 30})
    assert none.status_code == 404
    assert none.json()["error"]["code"] == "no_tariff"
    await assign(runtime, "simple_025kwh", TariffScope.SITE, str(station.site_id))
    bad = await client.get(url, headers=operator, params={"kwh": "5", "minutes": 0})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_quote"
    missing = await client.get(url, headers=operator, params={"minutes": 5})
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "invalid_request"
