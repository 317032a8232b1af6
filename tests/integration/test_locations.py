"""The driver app's "locate" (issue 16): ``GET /api/v1/locations`` through the real HTTP app
on SQLite and PostgreSQL, over a catalog built through the use cases: nearest first, the
radius's edge, the filters, availability following a real OCPP StatusNotification, the AFIR
price display equal to the quote's, the antimeridian, the index on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from ocpp.v201 import call
from sqlalchemy import insert, text
from sqlalchemy.dialects import postgresql

from chargeledger.adapters.db.repositories.locations import nearby_query
from chargeledger.adapters.db.tables import sites
from chargeledger.bootstrap import Runtime
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    OcppVersion,
    PowerType,
    Site,
)
from chargeledger.domain.geo import Address
from chargeledger.domain.geo_search import Position, bounding_box
from chargeledger.domain.identity import Role
from chargeledger.domain.tariffs.assignment import TariffScope, connector_scope_id
from chargeledger.services import catalog
from chargeledger.services.location_ports import SiteSearch
from tests.conftest import LoginAs
from tests.integration.ocpp_server import STATION_PASSWORD, seed_network
from tests.integration.ocpp_support import CP201, Station201, connected, open_world, wire
from tests.integration.test_quotes import assign

URL = "/api/v1/locations"
DEPOT = "52.5,13.4"  # the seeded "Test depot"
KM_PER_DEGREE = 6371.0088 * 3.141592653589793 / 180  # along a meridian


def north_of_depot(km: float) -> Decimal:
    return (Decimal("52.5") + Decimal(repr(km / KM_PER_DEGREE))).quantize(Decimal("0.000001"))


async def add_site(
    runtime: Runtime,
    name: str,
    latitude: Decimal,
    longitude: Decimal,
    plugs: tuple[tuple[ConnectorStandard, str, PowerType], ...] = (
        (ConnectorStandard.IEC_62196_T2, "11", PowerType.AC_3_PHASE),
    ),
) -> Site:
    """A site with one 2.0.1 station whose EVSE n has the n-th of ``plugs``."""
    async with runtime.uow() as uow:
        site = await catalog.create_site(
            uow,
            runtime.clock,
            Site(
                name=name,
                address=Address("Weg 1", "10115", "Berlin", "DE"),
                latitude=latitude,
                longitude=longitude,
                time_zone="Europe/Berlin",
            ),
        )
        station = await catalog.create_station(
            uow,
            runtime.clock,
            runtime.station_secrets,
            {
                "site_id": site.id,
                "charge_point_id": f"CP-{name.replace(' ', '-')}",
                "vendor": "Test",
                "model": "T1",
                "ocpp_version": OcppVersion.V201,
                "security_profile": 1,
            },
            STATION_PASSWORD,
        )
        for evse_id, (standard, kw, power_type) in enumerate(plugs, start=1):
            connector = Connector(1, standard, ConnectorFormat.CABLE, power_type, Decimal(kw))
            await catalog.create_evse(
                uow, runtime.clock, Evse(station.id, evse_id, connectors=(connector,))
            )
        await uow.commit()
        return site


async def locate(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    answer = await client.get(URL, headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def names(items: list[Any]) -> list[str]:
    return [item["name"] for item in items]


def plugs_of(item: Any) -> list[tuple[str, int, Any]]:
    return [
        (station["charge_point_id"], evse["evse_id"], connector)
        for station in item["stations"]
        for evse in station["evses"]
        for connector in evse["connectors"]
    ]


async def test_nearest_first_within_the_radius_with_its_edge(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    await seed_network(runtime)
    for name, km in (("Ten plus", 10.01), ("Three", 3.0), ("Ten minus", 9.99), ("Far", 60.0)):
        await add_site(runtime, name, north_of_depot(km), Decimal("13.4"))
    driver = await login_as(Role.DRIVER)

    items = await locate(client, driver, near=DEPOT)  # the default radius: 10 km
    assert names(items) == ["Test depot", "Three", "Ten minus"]
    assert [item["distance_km"] for item in items] == ["0.00", "3.00", "9.99"]
    depot = items[0]
    assert depot["address"]["city"] == "Berlin"
    assert (Decimal(depot["latitude"]), Decimal(depot["longitude"])) == (
        Decimal("52.5"),
        Decimal("13.4"),
    )
    assert {(cp, evse) for cp, evse, _ in plugs_of(depot)} == {
        ("CP16-AC", 1),
        ("CP16-AC", 2),
        ("CP201-DC", 1),
        ("CP201-DC", 2),
    }
    _, _, plug = plugs_of(depot)[-1]
    assert plug["standard"] == "IEC_62196_T2_COMBO"
    assert Decimal(plug["max_power_kw"]) == Decimal(150)
    assert plug["availability"] == "UNKNOWN"  # never connected

    wider = await locate(client, driver, near=DEPOT, radius_km="10.02")
    assert names(wider) == ["Test depot", "Three", "Ten minus", "Ten plus"]
    assert names(await locate(client, driver, near=DEPOT, radius_km="100", limit=2)) == [
        "Test depot",
        "Three",
    ]
    assert names(await locate(client, driver, near=DEPOT, radius_km="100"))[-1] == "Far"
    assert await locate(client, driver, near="48.1351,11.582", radius_km="100") == []


async def test_filters_keep_matching_connectors_only(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    await seed_network(runtime)  # two T2 combo stations: 22 kW AC and 150 kW DC
    await add_site(
        runtime,
        "Mixed",
        north_of_depot(2),
        Decimal("13.4"),
        (
            (ConnectorStandard.IEC_62196_T2, "22", PowerType.AC_3_PHASE),
            (ConnectorStandard.CHADEMO, "50", PowerType.DC),
        ),
    )
    key = await login_as(Role.FLEET_MANAGER)

    t2 = await locate(client, key, near=DEPOT, connector="IEC_62196_T2")
    assert names(t2) == ["Mixed"]
    assert [(evse, c["standard"]) for _, evse, c in plugs_of(t2[0])] == [(1, "IEC_62196_T2")]

    fast = await locate(client, key, near=DEPOT, min_kw="50")
    assert names(fast) == ["Test depot", "Mixed"]
    assert [(cp, evse) for cp, evse, _ in plugs_of(fast[0])] == [("CP201-DC", 1), ("CP201-DC", 2)]
    assert [c["standard"] for _, _, c in plugs_of(fast[1])] == ["CHADEMO"]

    combo_fast = await locate(
        client, key, near=DEPOT, connector="IEC_62196_T2_COMBO", min_kw="150.001"
    )
    assert combo_fast == []
    assert await locate(client, key, near=DEPOT, available="true") == []  # nothing connected


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"near": "52.5"}, "invalid_near"),
        ({"near": "52.5,13.4,7"}, "invalid_near"),
        ({"near": "91,13.4"}, "invalid_near"),
        ({"near": "north,east"}, "invalid_near"),
        ({"near": DEPOT, "radius_km": "0"}, "invalid_radius"),
        ({"near": DEPOT, "radius_km": "100.5"}, "invalid_radius"),
        ({"near": DEPOT, "min_kw": "0"}, "invalid_min_kw"),
        ({"near": DEPOT, "connector": "TYPE_Z"}, "invalid_request"),
        ({"near": DEPOT, "limit": "101"}, "invalid_request"),
        ({}, "invalid_request"),
    ],
)
async def test_bad_input_is_a_coded_422(
    runtime: Runtime,
    client: httpx.AsyncClient,
    login_as: LoginAs,
    params: dict[str, str],
    code: str,
) -> None:
    answer = await client.get(URL, headers=await login_as(Role.DRIVER), params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code


async def test_availability_follows_the_station(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """A real 2.0.1 station reports its connectors (G01); ``available=true`` answers from the
    database exactly the connectors the answer itself calls AVAILABLE."""
    async with open_world(runtime, client, login_as) as world:
        driver = await login_as(Role.DRIVER)

        async def availability() -> dict[tuple[str, int], str]:
            items = await locate(client, driver, near=DEPOT)
            return {(cp, evse): c["availability"] for cp, evse, c in plugs_of(items[0])}

        async def available_now() -> set[tuple[str, int]]:
            items = await locate(client, driver, near=DEPOT, available="true")
            return {(cp, evse) for item in items for cp, evse, _ in plugs_of(item)}

        async with connected(world.url, Station201) as cs:
            await world.wait_link_state(CP201, connected=True)
            for evse_id, status in ((1, "Available"), (2, "Faulted")):
                await cs.request(
                    call.StatusNotification(
                        timestamp=wire(), connector_status=status, evse_id=evse_id, connector_id=1
                    )
                )
            seen = await availability()
            assert seen[(CP201, 1)] == "AVAILABLE"
            assert seen[(CP201, 2)] == "OUTOFORDER"
            assert seen[("CP16-AC", 1)] == "UNKNOWN"  # offline
            assert await available_now() == {k for k, v in seen.items() if v == "AVAILABLE"}
            assert await available_now() == {(CP201, 1)}

            await cs.request(
                call.StatusNotification(
                    timestamp=wire(), connector_status="Occupied", evse_id=1, connector_id=1
                )
            )
            assert (await availability())[(CP201, 1)] == "CHARGING"
            assert await available_now() == set()
            await cs.request(
                call.StatusNotification(
                    timestamp=wire(), connector_status="Available", evse_id=1, connector_id=1
                )
            )
            assert await available_now() == {(CP201, 1)}
        await world.wait_closed_on_server(CP201)
        assert (await availability())[(CP201, 1)] == "UNKNOWN"
        assert await available_now() == set()


async def test_the_price_shown_is_the_quote_of_that_connector(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    network = await seed_network(runtime)
    await assign(runtime, "simple_025kwh", TariffScope.OPERATOR, None)
    dc = network.stations[CP201]
    await assign(runtime, "step_size", TariffScope.CONNECTOR, connector_scope_id(dc.id, 2, 1))
    admin = await login_as(Role.ADMIN)  # no account: the ad hoc price, as the app shows it
    items = await locate(client, await login_as(Role.DRIVER), near=DEPOT)
    shown = {(cp, evse): c["price"] for cp, evse, c in plugs_of(items[0])}
    for (cp, evse), price in shown.items():
        quote = await client.get(
            f"/api/v1/stations/{network.stations[cp].id}/quote",
            headers=admin,
            params={"kwh": "10", "minutes": 30, "evse_id": evse},
        )
        assert quote.status_code == 200, quote.text
        assert price["lines"] == quote.json()["price_display"], (cp, evse)
        assert price["tariff_id"] == quote.json()["tariff_id"]
        assert price["currency"] == "EUR"
    assert shown[(CP201, 2)]["lines"] != shown[(CP201, 1)]["lines"]
    assert any("incl. 19% VAT" in line for line in shown[(CP201, 1)]["lines"])


async def test_across_the_antimeridian_and_at_a_pole(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    for name, lat, lon in (
        ("Taveuni east", "-16.8", "-179.97"),
        ("Taveuni west", "-16.8", "179.94"),
        ("Faraway", "-16.8", "0"),
        ("Pole A", "89.97", "0"),
        ("Pole B", "89.96", "180"),
    ):
        await add_site(runtime, name, Decimal(lat), Decimal(lon))
    driver = await login_as(Role.DRIVER)
    east = await locate(client, driver, near="-16.8,179.99")
    assert names(east) == ["Taveuni east", "Taveuni west"]
    assert [i["distance_km"] for i in east] == ["4.26", "5.32"]
    assert names(await locate(client, driver, near="89.99,90")) == ["Pole A", "Pole B"]


async def test_python_distance_agrees_with_sql(runtime: Runtime) -> None:
    """The fallback for a SQLite without math functions gives the very same answer."""
    await seed_network(runtime)
    for km in (0.5, 4.0, 7.5, 12.0):
        await add_site(runtime, f"At {km}", north_of_depot(km), Decimal("13.41"))
    centre = Position(Decimal("52.51"), Decimal("13.4"))
    search = SiteSearch(centre, Decimal(10), bounding_box(centre, Decimal(10)), limit=3)
    async with runtime.uow() as uow:
        in_sql = await uow.locations.nearby(search, sql_math=True)
        in_python = await uow.locations.nearby(search, sql_math=False)
    assert [h.site_id for h in in_sql] == [h.site_id for h in in_python]
    assert len(in_sql) == 3
    for a, b in zip(in_sql, in_python, strict=True):
        assert a.distance_km == pytest.approx(b.distance_km, abs=1e-6)


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_the_box_uses_the_index_on_postgresql(runtime: Runtime) -> None:
    """Thousands of sites around Europe: PostgreSQL's plan reads the box from
    ``ix_sites_position`` instead of scanning every site."""
    now = runtime.clock.now()
    rows = [
        {
            "id": uuid.uuid4(),
            "name": f"Site {n}",
            "street": "Weg 1",
            "postal_code": "10115",
            "city": "Berlin",
            "country": "DE",
            "latitude": Decimal(35 + (n % 100) * 0.3).quantize(Decimal("0.000001")),
            "longitude": Decimal(-10 + (n // 100) * 0.8).quantize(Decimal("0.000001")),
            "time_zone": "Europe/Berlin",
            "created_at": now,
            "updated_at": now,
        }
        for n in range(5000)
    ]
    engine = runtime._factory.engine
    async with engine.begin() as connection:
        await connection.execute(insert(sites), rows)
        await connection.execute(text("ANALYZE sites"))
    centre = Position(Decimal("52.5"), Decimal("13.4"))
    search = SiteSearch(centre, Decimal(10), bounding_box(centre, Decimal(10)), limit=20)
    sql = str(
        nearby_query(search).compile(
            dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
        )
    )
    async with engine.connect() as connection:
        plan = json.dumps(
            (await connection.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"))).scalar_one()
        )
    assert "ix_sites_position" in plan, plan
    assert '"Seq Scan"' not in plan, plan
