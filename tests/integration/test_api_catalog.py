"""The catalog, customer and identity resources over HTTP, on SQLite and PostgreSQL.

Each resource gets a full round trip (create, read, list with filters and paging, change,
delete or revoke) by a role that may write it, and the same writes refused with 403 for a role
that may not (DESIGN §6: deny by default). Bad input is refused with 422 and a stable error code
and leaves the stored data untouched (DESIGN §2: nothing lost, nothing silent). Station passwords
and API key secrets never leave the server (DESIGN §6: stored hashed, shown once).

Why over HTTP onto real databases: these guarantees live in the seams between schema, router,
service and repository; only a real request through the real app exercises all of them at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.services import catalog

API = "/api/v1"
STATION_PASSWORD = "s3cret-station-pw-0001"  # 22 characters: OCPP passwordString is 16-40
NEW_STATION_PASSWORD = "an0ther-station-pw-0002"

Json = dict[str, Any]
Headers = dict[str, str]
LoginAs = Callable[..., Awaitable[Headers]]


# --- request bodies ----------------------------------------------------------------------


def address(country: str = "DE", city: str = "Berlin") -> Json:
    return {"street": "Hauptstr. 1", "postal_code": "10115", "city": city, "country": country}


def site_body(name: str = "Depot Nord", **overrides: Any) -> Json:
    body: Json = {
        "name": name,
        "operator_name": "Stadtwerke Test",
        "address": address(),
        "latitude": "52.520008",
        "longitude": "13.404954",
        "time_zone": "Europe/Berlin",
    }
    return body | overrides


def station_body(site_id: str, charge_point_id: str, **overrides: Any) -> Json:
    body: Json = {
        "site_id": site_id,
        "charge_point_id": charge_point_id,
        "vendor": "Alpitronic",
        "model": "HYC300",
        "security_profile": 1,
        "password": STATION_PASSWORD,
    }
    return body | overrides


def connector(connector_id: int = 1, max_power_kw: str = "22", **overrides: Any) -> Json:
    body: Json = {
        "connector_id": connector_id,
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_power_kw": max_power_kw,
    }
    return body | overrides


def evse_body(station_id: str, evse_id: int, **overrides: Any) -> Json:
    body: Json = {"station_id": station_id, "evse_id": evse_id, "connectors": [connector()]}
    return body | overrides


def account_body(name: str, **overrides: Any) -> Json:
    body: Json = {
        "kind": "individual",
        "name": name,
        "email": f"{name.lower().replace(' ', '.')}@example.org",
        "billing_address": address(),
        "currency": "EUR",
    }
    return body | overrides


def token_body(account_id: str, uid: str, **overrides: Any) -> Json:
    body: Json = {"uid": uid, "type": "rfid", "account_id": account_id}
    return body | overrides


# --- request helpers ---------------------------------------------------------------------


def assert_error(response: httpx.Response, status: int, *codes: str) -> Json:
    """The response is the API's error body with one of ``codes`` (DESIGN §2: stable codes)."""
    assert response.status_code == status, response.text
    error: Json = response.json()["error"]
    assert error["code"] in codes, error
    assert error["message"]
    return error


async def create(client: httpx.AsyncClient, headers: Headers, resource: str, body: Json) -> Json:
    response = await client.post(f"{API}/{resource}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: Json = response.json()
    return created


async def read(client: httpx.AsyncClient, headers: Headers, path: str) -> Json:
    response = await client.get(f"{API}/{path}", headers=headers)
    assert response.status_code == 200, response.text
    found: Json = response.json()
    return found


async def change(client: httpx.AsyncClient, headers: Headers, path: str, body: Json) -> Json:
    response = await client.patch(f"{API}/{path}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    changed: Json = response.json()
    return changed


async def list_all(
    client: httpx.AsyncClient,
    headers: Headers,
    resource: str,
    params: dict[str, str] | None = None,
    page_size: int = 2,
) -> list[Json]:
    """Walk every page of a listing and check the paging contract on the way: a full page
    points at the next offset, the last page says ``next_offset: null``."""
    items: list[Json] = []
    offset = 0
    while True:
        query = {**(params or {}), "limit": str(page_size), "offset": str(offset)}
        response = await client.get(f"{API}/{resource}", params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= page_size
        items.extend(page["items"])
        if page["next_offset"] is None:
            break
        assert len(page["items"]) == page_size
        assert page["next_offset"] == offset + page_size
        offset = page["next_offset"]
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)), "paging returned an item twice"
    return items


async def refused(
    client: httpx.AsyncClient,
    headers: Headers,
    method: str,
    path: str,
    body: Json | None = None,
) -> None:
    """A write by a role the route does not allow: 403 ``permission_denied``."""
    response = await client.request(method, f"{API}/{path}", json=body, headers=headers)
    assert_error(response, 403, "permission_denied")


async def snapshot(client: httpx.AsyncClient, headers: Headers, path: str) -> Json:
    """What a reader sees at ``path`` (a record, or a whole collection in one page)."""
    response = await client.get(f"{API}/{path}", params={"limit": "1000"}, headers=headers)
    assert response.status_code == 200, response.text
    seen: Json = response.json()
    return seen


def without_secret_fields(body: Json) -> None:
    """Write-only secrets must not appear under any name a client could read."""
    assert not {"password", "password_hash", "secret", "secret_hash"} & set(body), body


# --- round trips -------------------------------------------------------------------------


async def test_site_round_trip(client: httpx.AsyncClient, login_as: LoginAs) -> None:
    """Operators manage sites; every logged-in person reads them (drivers find chargers);
    finance, drivers and fleet managers may not change the network."""
    operator = await login_as(Role.OPERATOR)
    driver = await login_as(Role.DRIVER)
    finance = await login_as(Role.FINANCE)
    fleet_manager = await login_as(Role.FLEET_MANAGER)

    await refused(client, finance, "POST", "sites", site_body("Site X"))
    await refused(client, driver, "POST", "sites", site_body("Site X"))
    assert await list_all(client, operator, "sites") == []

    created = [await create(client, operator, "sites", site_body(f"Site {n}")) for n in "CAB"]
    assert created[0]["latitude"] == "52.520008"
    assert created[0]["address"]["country"] == "DE"
    assert await read(client, driver, f"sites/{created[0]['id']}") == created[0]

    listed = await list_all(client, driver, "sites")
    assert [s["name"] for s in listed] == ["Site A", "Site B", "Site C"]

    site_path = f"sites/{created[0]['id']}"
    patch = {"name": "Site C2", "time_zone": "Europe/Vienna", "latitude": "48.2082"}
    await refused(client, finance, "PATCH", site_path, patch)
    await refused(client, driver, "PATCH", site_path, patch)
    assert await read(client, operator, site_path) == created[0]

    changed = await change(client, operator, site_path, patch)
    assert (changed["name"], changed["time_zone"], changed["latitude"]) == (
        "Site C2",
        "Europe/Vienna",
        "48.208200",
    )
    assert changed["longitude"] == created[0]["longitude"]
    assert changed["created_at"] == created[0]["created_at"]
    assert await read(client, driver, site_path) == changed

    await refused(client, fleet_manager, "DELETE", site_path)
    await refused(client, finance, "DELETE", site_path)
    assert await read(client, operator, site_path) == changed

    assert (await client.delete(f"{API}/{site_path}", headers=operator)).status_code == 204
    assert_error(await client.get(f"{API}/{site_path}", headers=operator), 404, "site_not_found")
    assert len(await list_all(client, driver, "sites")) == 2


async def test_station_round_trip_never_shows_the_password(
    client: httpx.AsyncClient, login_as: LoginAs, runtime: Runtime
) -> None:
    """Stations carry a Basic-auth password (OCPP security profile 1/2). It is write-only:
    answers show ``has_password`` and never the password or its hash; a new password
    replaces the stored hash."""
    operator = await login_as(Role.OPERATOR)
    finance = await login_as(Role.FINANCE)
    driver = await login_as(Role.DRIVER)
    north = await create(client, operator, "sites", site_body("North"))
    south = await create(client, operator, "sites", site_body("South"))
    answers: list[httpx.Response] = []

    await refused(client, finance, "POST", "stations", station_body(north["id"], "CP-X"))
    await refused(client, driver, "POST", "stations", station_body(north["id"], "CP-X"))

    bodies = [
        station_body(north["id"], "CP-A"),
        station_body(north["id"], "CP-B", security_profile=3, password=None),
        station_body(south["id"], "CP-C", security_profile=2, ocpp_version="1.6"),
    ]
    stations: list[Json] = []
    for body in bodies:
        response = await client.post(f"{API}/stations", json=body, headers=operator)
        assert response.status_code == 201, response.text
        answers.append(response)
        stations.append(response.json())
    assert [s["has_password"] for s in stations] == [True, False, True]
    assert stations[2]["ocpp_version"] == "1.6"

    station_a = f"stations/{stations[0]['id']}"
    answers.append(await client.get(f"{API}/{station_a}", headers=driver))
    assert answers[-1].json() == stations[0]

    on_north = await list_all(client, driver, "stations", {"site_id": north["id"]}, page_size=1)
    assert [s["charge_point_id"] for s in on_north] == ["CP-A", "CP-B"]
    every = await list_all(client, operator, "stations")
    assert [s["charge_point_id"] for s in every] == ["CP-A", "CP-B", "CP-C"]
    answers.append(await client.get(f"{API}/stations", headers=operator))

    async with runtime.uow() as uow:
        stored = await uow.stations.get(uuid.UUID(stations[0]["id"]))
        assert stored is not None
        assert stored.password_hash is not None
        old_hash = stored.password_hash
        assert STATION_PASSWORD not in old_hash
        assert await catalog.verify_station_password(
            uow, runtime.station_secrets, "CP-A", STATION_PASSWORD
        )

    patch = {"vendor": "ABB", "password": NEW_STATION_PASSWORD, "site_id": south["id"]}
    await refused(client, finance, "PATCH", station_a, patch)
    await refused(client, driver, "PATCH", station_a, patch)
    response = await client.patch(f"{API}/{station_a}", json=patch, headers=operator)
    assert response.status_code == 200, response.text
    answers.append(response)
    changed = response.json()
    assert (changed["vendor"], changed["site_id"], changed["has_password"]) == (
        "ABB",
        south["id"],
        True,
    )
    assert changed["charge_point_id"] == "CP-A"

    async with runtime.uow() as uow:
        stored = await uow.stations.get(uuid.UUID(stations[0]["id"]))
        assert stored is not None
        assert stored.password_hash is not None
        assert stored.password_hash != old_hash
        new_hash = stored.password_hash
        assert await catalog.verify_station_password(
            uow, runtime.station_secrets, "CP-A", NEW_STATION_PASSWORD
        )
        assert not await catalog.verify_station_password(
            uow, runtime.station_secrets, "CP-A", STATION_PASSWORD
        )

    for answer in answers:
        for secret in (STATION_PASSWORD, NEW_STATION_PASSWORD, old_hash, new_hash, "$argon2"):
            assert secret not in answer.text
        items = answer.json().get("items", [answer.json()])
        for item in items:
            without_secret_fields(item)
            assert "has_password" in item

    station_b = f"stations/{stations[1]['id']}"
    await refused(client, finance, "DELETE", station_b)
    assert (await client.delete(f"{API}/{station_b}", headers=operator)).status_code == 204
    assert_error(await client.get(f"{API}/{station_b}", headers=operator), 404, "station_not_found")
    remaining = await list_all(client, operator, "stations")
    assert [s["charge_point_id"] for s in remaining] == ["CP-A", "CP-C"]


async def test_evse_round_trip_replaces_connectors_as_a_whole(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """An EVSE and its connectors are one aggregate: a PATCH of ``connectors`` replaces the
    whole set, and the EVSE's max power is its strongest connector's."""
    operator = await login_as(Role.OPERATOR)
    driver = await login_as(Role.DRIVER)
    finance = await login_as(Role.FINANCE)
    site = await create(client, operator, "sites", site_body())
    one = await create(client, operator, "stations", station_body(site["id"], "CP-1"))
    two = await create(client, operator, "stations", station_body(site["id"], "CP-2"))

    dc = connector(1, "150", standard="IEC_62196_T2_COMBO", format="CABLE", power_type="DC")
    first = evse_body(one["id"], 1, evse_uid="DE*CLG*E0001*1", connectors=[connector(2), dc])
    await refused(client, driver, "POST", "evses", first)
    await refused(client, finance, "POST", "evses", first)

    evse = await create(client, operator, "evses", first)
    assert [c["connector_id"] for c in evse["connectors"]] == [1, 2]
    assert evse["connectors"][0]["max_power_kw"] == "150.000"
    assert evse["max_power_kw"] == "150.000"
    assert evse["evse_uid"] == "DE*CLG*E0001*1"
    for n in (2, 3):
        await create(client, operator, "evses", evse_body(one["id"], n))
    await create(client, operator, "evses", evse_body(two["id"], 1))

    evse_path = f"evses/{evse['id']}"
    assert await read(client, driver, evse_path) == evse
    on_one = await list_all(client, driver, "evses", {"station_id": one["id"]})
    assert [e["evse_id"] for e in on_one] == [1, 2, 3]
    assert len(await list_all(client, driver, "evses")) == 4

    patch = {"connectors": [connector(1, "11", power_type="AC_1_PHASE")], "evse_uid": None}
    await refused(client, driver, "PATCH", evse_path, patch)
    await refused(client, finance, "PATCH", evse_path, patch)
    assert await read(client, operator, evse_path) == evse
    changed = await change(client, operator, evse_path, patch)
    assert [
        (c["connector_id"], c["max_power_kw"], c["power_type"]) for c in changed["connectors"]
    ] == [(1, "11.000", "AC_1_PHASE")]
    assert (changed["max_power_kw"], changed["evse_uid"]) == ("11.000", None)
    assert await read(client, driver, evse_path) == changed

    await refused(client, driver, "DELETE", evse_path)
    assert (await client.delete(f"{API}/{evse_path}", headers=operator)).status_code == 204
    assert_error(await client.get(f"{API}/{evse_path}", headers=operator), 404, "evse_not_found")
    on_one = await list_all(client, driver, "evses", {"station_id": one["id"]})
    assert [e["evse_id"] for e in on_one] == [2, 3]


async def test_account_round_trip(client: httpx.AsyncClient, login_as: LoginAs) -> None:
    """Finance opens, changes and closes customer accounts; operators may read them but not
    write; the VAT id is normalised on the way in."""
    finance = await login_as(Role.FINANCE)
    operator = await login_as(Role.OPERATOR)
    before = await list_all(client, finance, "accounts")  # login_as opened home accounts

    acme = account_body(
        "Acme Fleet GmbH",
        kind="business",
        vat_id="DE 136 695 976",
        reference="C-1001",
        payment_terms_days=30,
    )
    await refused(client, operator, "POST", "accounts", acme)
    assert await list_all(client, finance, "accounts") == before

    business = await create(client, finance, "accounts", acme)
    assert (business["vat_id"], business["currency"], business["payment_terms_days"]) == (
        "DE136695976",
        "EUR",
        30,
    )
    assert business["billing_mode"] == "postpaid"
    await create(client, finance, "accounts", account_body("Beta Logistics", kind="business"))
    ada = await create(client, finance, "accounts", account_body("Ada Driver", currency="chf"))
    assert ada["currency"] == "CHF"

    account_path = f"accounts/{business['id']}"
    assert await read(client, operator, account_path) == business
    companies = await list_all(client, operator, "accounts", {"kind": "business"}, page_size=1)
    assert [a["name"] for a in companies] == ["Acme Fleet GmbH", "Beta Logistics"]
    found = await list_all(client, finance, "accounts", {"q": "c-100"})
    assert [a["id"] for a in found] == [business["id"]]
    found = await list_all(client, finance, "accounts", {"q": "ADA.DRIVER@"})
    assert [a["id"] for a in found] == [ada["id"]]
    assert len(await list_all(client, finance, "accounts")) == len(before) + 3

    patch = {"name": "Acme Fleet SE", "payment_terms_days": 45, "billing_mode": "prepaid"}
    await refused(client, operator, "PATCH", account_path, patch)
    assert await read(client, finance, account_path) == business
    changed = await change(client, finance, account_path, patch)
    assert (changed["name"], changed["payment_terms_days"], changed["billing_mode"]) == (
        "Acme Fleet SE",
        45,
        "prepaid",
    )
    assert (changed["currency"], changed["vat_id"]) == ("EUR", "DE136695976")
    assert await read(client, operator, account_path) == changed

    await refused(client, operator, "DELETE", account_path)
    assert (await client.delete(f"{API}/{account_path}", headers=finance)).status_code == 204
    assert_error(
        await client.get(f"{API}/{account_path}", headers=finance), 404, "account_not_found"
    )
    assert len(await list_all(client, finance, "accounts")) == len(before) + 2


async def test_token_round_trip(
    client: httpx.AsyncClient, login_as: LoginAs, runtime: Runtime
) -> None:
    """Finance and operators issue and change tokens; a fleet manager may not issue one and a
    driver may not delete one, even of their own account."""
    finance = await login_as(Role.FINANCE)
    operator = await login_as(Role.OPERATOR)
    fleet = await create(client, finance, "accounts", account_body("Fleet", kind="business"))
    other = await create(client, finance, "accounts", account_body("Other"))
    fleet_manager = await login_as(Role.FLEET_MANAGER, uuid.UUID(fleet["id"]))
    driver = await login_as(Role.DRIVER, uuid.UUID(fleet["id"]))

    await refused(client, fleet_manager, "POST", "tokens", token_body(fleet["id"], "AA01"))
    await refused(client, driver, "POST", "tokens", token_body(fleet["id"], "AA01"))

    past = (runtime.clock.now() - timedelta(days=1)).isoformat()
    card = await create(
        client, finance, "tokens", token_body(fleet["id"], "04a2b3c4d5e6f7", label="Van 1")
    )
    assert (card["uid"], card["status"], card["effective_status"]) == (
        "04A2B3C4D5E6F7",
        "active",
        "active",
    )
    await create(client, operator, "tokens", token_body(fleet["id"], "AA02", status="blocked"))
    stale = await create(
        client, finance, "tokens", token_body(fleet["id"], "AA03", type="app", expires_at=past)
    )
    assert (stale["status"], stale["effective_status"]) == ("active", "expired")
    await create(client, finance, "tokens", token_body(other["id"], "BB01"))

    card_path = f"tokens/{card['id']}"
    assert await read(client, operator, card_path) == card
    of_fleet = await list_all(client, finance, "tokens", {"account_id": fleet["id"]})
    assert [t["uid"] for t in of_fleet] == ["04A2B3C4D5E6F7", "AA02", "AA03"]
    blocked = await list_all(client, finance, "tokens", {"status": "blocked"})
    assert [t["uid"] for t in blocked] == ["AA02"]
    active = await list_all(
        client, operator, "tokens", {"account_id": fleet["id"], "status": "active"}, page_size=1
    )
    assert [t["uid"] for t in active] == ["04A2B3C4D5E6F7", "AA03"]
    assert len(await list_all(client, finance, "tokens")) == 4

    await refused(client, driver, "PATCH", card_path, {"label": "Van 2"})
    assert await read(client, finance, card_path) == card
    changed = await change(client, operator, card_path, {"label": "Van 2", "status": "blocked"})
    assert (changed["label"], changed["status"], changed["effective_status"]) == (
        "Van 2",
        "blocked",
        "blocked",
    )
    changed = await change(client, finance, card_path, {"status": "active"})
    assert changed["status"] == "active"
    assert await read(client, operator, card_path) == changed

    await refused(client, driver, "DELETE", card_path)
    await refused(client, fleet_manager, "DELETE", card_path)
    assert await read(client, finance, card_path) == changed
    assert (await client.delete(f"{API}/{card_path}", headers=finance)).status_code == 204
    assert_error(await client.get(f"{API}/{card_path}", headers=finance), 404, "token_not_found")
    of_fleet = await list_all(client, finance, "tokens", {"account_id": fleet["id"]})
    assert [t["uid"] for t in of_fleet] == ["AA02", "AA03"]


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(f"{API}/auth/token", data={"username": email, "password": password})


async def test_user_round_trip(client: httpx.AsyncClient, login_as: LoginAs) -> None:
    """Only admins manage users. Users are deactivated, never deleted (their actions stay
    attributable); a deactivated user cannot log in, a reactivated one can again."""
    admin = await login_as(Role.ADMIN)
    finance = await login_as(Role.FINANCE)
    operator = await login_as(Role.OPERATOR)
    account = await create(client, admin, "accounts", account_body("Household"))
    password = "a long enough password"
    new_user = {
        "email": "Clara@Example.org",
        "password": password,
        "role": "finance",
        "name": "Clara",
    }

    await refused(client, finance, "POST", "users", new_user)
    await refused(client, operator, "POST", "users", new_user)
    await refused(client, finance, "GET", "users")
    before = await list_all(client, admin, "users")

    clara = await create(client, admin, "users", new_user)
    without_secret_fields(clara)
    assert password not in str(clara)
    assert (clara["email"], clara["role"], clara["active"], clara["account_id"]) == (
        "clara@example.org",
        "finance",
        True,
        None,
    )
    dan = await create(
        client,
        admin,
        "users",
        {
            "email": "dan@example.org",
            "password": password,
            "role": "driver",
            "account_id": account["id"],
        },
    )
    assert dan["account_id"] == account["id"]
    assert (await login(client, "clara@example.org", password)).status_code == 200

    users = await list_all(client, admin, "users")
    assert len(users) == len(before) + 2
    for user in users:
        without_secret_fields(user)
    assert next(u for u in users if u["id"] == clara["id"]) == clara

    clara_path = f"users/{clara['id']}"
    await refused(client, operator, "PATCH", clara_path, {"active": False})
    await refused(client, finance, "PATCH", clara_path, {"active": False})
    assert (await login(client, "clara@example.org", password)).status_code == 200

    deactivated = await change(client, admin, clara_path, {"active": False})
    assert deactivated["active"] is False
    assert_error(await login(client, "clara@example.org", password), 401, "invalid_credentials")
    listed = {u["id"]: u for u in await list_all(client, admin, "users")}
    assert listed[clara["id"]]["active"] is False

    assert (await change(client, admin, clara_path, {"active": True}))["active"] is True
    assert (await login(client, "clara@example.org", password)).status_code == 200


async def test_api_key_round_trip_shows_the_secret_once(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """Admins create API keys; the key is in the creation answer only, works as ``X-API-Key``
    and as ``Authorization: Bearer clk_...``, and stops working when revoked."""
    admin = await login_as(Role.ADMIN)
    finance = await login_as(Role.FINANCE)
    operator = await login_as(Role.OPERATOR)
    read_only = {"name": "Roaming hub", "scopes": ["catalog:read"]}

    await refused(client, finance, "POST", "api-keys", read_only)
    await refused(client, operator, "GET", "api-keys")

    hub = await create(client, admin, "api-keys", read_only)
    writer = await create(
        client, admin, "api-keys", {"name": "ERP", "scopes": ["catalog:write", "catalog:read"]}
    )
    await create(client, admin, "api-keys", {"name": "Spare", "scopes": ["catalog:write"]})
    assert hub["key"].startswith(f"clk_{hub['prefix']}_")
    assert hub["scopes"] == ["catalog:read"]
    assert writer["scopes"] == ["catalog:read", "catalog:write"]
    hub_secret = hub["key"].split("_", 2)[2]
    assert len(hub_secret) >= 32

    keys = await list_all(client, admin, "api-keys")
    assert sorted(k["name"] for k in keys) == ["ERP", "Roaming hub", "Spare"]
    for listed in keys:
        assert "key" not in listed
        without_secret_fields(listed)
    shown = await client.get(f"{API}/api-keys", headers=admin)
    for created in (hub, writer):
        assert created["key"].split("_", 2)[2] not in shown.text
    listed_hub = next(k for k in keys if k["id"] == hub["id"])
    assert listed_hub == {k: v for k, v in hub.items() if k != "key"}

    as_header = {"X-API-Key": hub["key"]}
    as_bearer = {"Authorization": f"Bearer {hub['key']}"}
    for headers in (as_header, as_bearer):
        assert (await client.get(f"{API}/sites", headers=headers)).status_code == 200
        assert_error(
            await client.post(f"{API}/sites", json=site_body(), headers=headers),
            403,
            "insufficient_scope",
        )
    writer_bearer = {"Authorization": f"Bearer {writer['key']}"}
    assert (
        await client.post(f"{API}/sites", json=site_body(), headers=writer_bearer)
    ).status_code == 201

    hub_path = f"api-keys/{hub['id']}"
    await refused(client, operator, "DELETE", hub_path)
    await refused(client, finance, "DELETE", hub_path)
    assert (await client.get(f"{API}/sites", headers=as_header)).status_code == 200

    response = await client.delete(f"{API}/{hub_path}", headers=admin)
    assert response.status_code == 200, response.text
    revoked = response.json()
    assert revoked["revoked_at"] is not None
    assert "key" not in revoked
    for headers in (as_header, as_bearer):
        assert_error(await client.get(f"{API}/sites", headers=headers), 401, "invalid_api_key")
    again = await client.delete(f"{API}/{hub_path}", headers=admin)
    assert again.json()["revoked_at"] == revoked["revoked_at"]
    listed_after = {k["id"]: k for k in await list_all(client, admin, "api-keys")}
    assert listed_after[hub["id"]]["revoked_at"] == revoked["revoked_at"]
    assert listed_after[writer["id"]]["revoked_at"] is None
    assert (await client.get(f"{API}/sites", headers=writer_bearer)).status_code == 200


# --- bad input ---------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """Ids of one record of each kind, made through the API by an admin."""

    site: str
    station: str
    charge_point_id: str
    evse: str
    account: str
    token: str
    token_uid: str


@pytest.fixture
async def admin(login_as: LoginAs) -> Headers:
    return await login_as(Role.ADMIN)


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> World:
    site = await create(client, admin, "sites", site_body())
    station = await create(client, admin, "stations", station_body(site["id"], "CP-EXISTING"))
    evse = await create(
        client, admin, "evses", evse_body(station["id"], 1, evse_uid="DE*CLG*E0001*1")
    )
    account = await create(
        client, admin, "accounts", account_body("Existing", kind="business", reference="C-0001")
    )
    token = await create(client, admin, "tokens", token_body(account["id"], "04A2B3C4"))
    return World(
        site=site["id"],
        station=station["id"],
        charge_point_id="CP-EXISTING",
        evse=evse["id"],
        account=account["id"],
        token=token["id"],
        token_uid="04A2B3C4",
    )


@dataclass(frozen=True)
class BadWrite:
    """A write that must be refused with 422/409 and one of ``codes``, leaving ``watch``
    (a record, or a whole collection) exactly as it was."""

    method: str
    path: Callable[[World], str]
    body: Callable[[World], Json | None]
    status: int
    codes: tuple[str, ...]
    watch: Callable[[World], str]


def _case(
    case_id: str,
    method: str,
    path: Callable[[World], str],
    body: Callable[[World], Json | None],
    codes: str | tuple[str, ...],
    *,
    status: int = 422,
    watch: Callable[[World], str] | None = None,
    marks: Any = (),
) -> Any:
    code_tuple = (codes,) if isinstance(codes, str) else codes
    return pytest.param(
        BadWrite(method, path, body, status, code_tuple, watch or path), id=case_id, marks=marks
    )


# fmt: off
BAD_WRITES = [
    # accounts
    _case("account-malformed-vat-id", "POST", lambda w: "accounts",
          lambda w: account_body("Acme", kind="business", vat_id="DE123456789"),
          "invalid_vat_id"),
    _case("account-unknown-currency", "POST", lambda w: "accounts",
          lambda w: account_body("Acme", currency="XEU"), "unknown_currency"),
    _case("account-invalid-country", "POST", lambda w: "accounts",
          lambda w: account_body("Acme", billing_address=address("XX")), "invalid_country"),
    _case("account-unknown-field", "POST", lambda w: "accounts",
          lambda w: account_body("Acme", credit_limit="1000"), "invalid_request"),
    _case("account-duplicate-reference", "POST", lambda w: "accounts",
          lambda w: account_body("Acme", reference="C-0001"), "duplicate_account_reference"),
    _case("account-patch-currency", "PATCH", lambda w: f"accounts/{w.account}",
          lambda w: {"currency": "USD"}, ("immutable_field", "invalid_request")),
    _case("account-patch-malformed-vat-id", "PATCH", lambda w: f"accounts/{w.account}",
          lambda w: {"vat_id": "DE13669597"}, "invalid_vat_id"),
    _case("account-patch-null-kind", "PATCH", lambda w: f"accounts/{w.account}",
          lambda w: {"kind": None}, "missing_field"),
    _case("account-patch-null-billing-address", "PATCH", lambda w: f"accounts/{w.account}",
          lambda w: {"billing_address": None},
          "missing_field"),
    _case("account-delete-with-tokens", "DELETE", lambda w: f"accounts/{w.account}",
          lambda w: None, "account_has_tokens", status=409),
    # sites
    _case("site-unknown-time-zone", "POST", lambda w: "sites",
          lambda w: site_body(time_zone="Europe/Atlantis"), "unknown_time_zone"),
    _case("site-invalid-country", "POST", lambda w: "sites",
          lambda w: site_body(address=address("UK")), "invalid_country"),
    _case("site-latitude-out-of-range", "POST", lambda w: "sites",
          lambda w: site_body(latitude="90.000001"), "invalid_coordinates"),
    _case("site-longitude-out-of-range", "POST", lambda w: "sites",
          lambda w: site_body(longitude="-180.5"), "invalid_coordinates"),
    _case("site-unknown-field", "POST", lambda w: "sites",
          lambda w: site_body(colour="green"), "invalid_request"),
    _case("site-patch-unknown-time-zone", "PATCH", lambda w: f"sites/{w.site}",
          lambda w: {"time_zone": "Berlin"}, "unknown_time_zone"),
    _case("site-patch-latitude-out-of-range", "PATCH", lambda w: f"sites/{w.site}",
          lambda w: {"latitude": "-91"}, "invalid_coordinates"),
    _case("site-patch-null-name", "PATCH", lambda w: f"sites/{w.site}",
          lambda w: {"name": None}, "missing_field"),
    _case("site-patch-null-address", "PATCH", lambda w: f"sites/{w.site}",
          lambda w: {"address": None},
          "missing_field"),
    _case("site-delete-with-stations", "DELETE", lambda w: f"sites/{w.site}",
          lambda w: None, "site_has_stations", status=409),
    # stations
    _case("station-unknown-site", "POST", lambda w: "stations",
          lambda w: station_body(str(uuid.uuid4()), "CP-NEW"), "unknown_site"),
    _case("station-password-too-short", "POST", lambda w: "stations",
          lambda w: station_body(w.site, "CP-NEW", password="fifteen-chars15"),
          "invalid_station_password"),
    _case("station-duplicate-charge-point-id", "POST", lambda w: "stations",
          lambda w: station_body(w.site, w.charge_point_id), "duplicate_charge_point_id"),
    _case("station-unknown-field", "POST", lambda w: "stations",
          lambda w: station_body(w.site, "CP-NEW", password_hash="x"), "invalid_request"),
    _case("station-patch-password-too-short", "PATCH", lambda w: f"stations/{w.station}",
          lambda w: {"password": "short"}, "invalid_station_password"),
    _case("station-patch-unknown-site", "PATCH", lambda w: f"stations/{w.station}",
          lambda w: {"site_id": str(uuid.uuid4())}, "unknown_site"),
    _case("station-patch-charge-point-id", "PATCH", lambda w: f"stations/{w.station}",
          lambda w: {"charge_point_id": "CP-RENAMED"}, ("immutable_field", "invalid_request")),
    _case("station-patch-null-ocpp-version", "PATCH", lambda w: f"stations/{w.station}",
          lambda w: {"ocpp_version": None}, "missing_field"),
    _case("station-delete-with-evses", "DELETE", lambda w: f"stations/{w.station}",
          lambda w: None, "station_has_evses", status=409),
    # EVSEs
    _case("evse-duplicate-evse-id", "POST", lambda w: "evses",
          lambda w: evse_body(w.station, 1), "duplicate_evse_id"),
    _case("evse-duplicate-evse-uid", "POST", lambda w: "evses",
          lambda w: evse_body(w.station, 2, evse_uid="DE*CLG*E0001*1"), "duplicate_evse_uid"),
    _case("evse-without-connectors", "POST", lambda w: "evses",
          lambda w: evse_body(w.station, 2, connectors=[]), "missing_connectors"),
    _case("evse-connector-zero-power", "POST", lambda w: "evses",
          lambda w: evse_body(w.station, 2, connectors=[connector(1, "0")]),
          "invalid_max_power"),
    _case("evse-connector-negative-power", "POST", lambda w: "evses",
          lambda w: evse_body(w.station, 2, connectors=[connector(1, "-7.4")]),
          "invalid_max_power"),
    _case("evse-unknown-station", "POST", lambda w: "evses",
          lambda w: evse_body(str(uuid.uuid4()), 1), "unknown_station"),
    _case("evse-patch-without-connectors", "PATCH", lambda w: f"evses/{w.evse}",
          lambda w: {"connectors": []}, "missing_connectors"),
    _case("evse-patch-connector-zero-power", "PATCH", lambda w: f"evses/{w.evse}",
          lambda w: {"connectors": [connector(1, "0")]}, "invalid_max_power"),
    _case("evse-patch-null-connectors", "PATCH", lambda w: f"evses/{w.evse}",
          lambda w: {"connectors": None}, "missing_field"),
    # tokens
    _case("token-duplicate-uid", "POST", lambda w: "tokens",
          lambda w: token_body(w.account, w.token_uid.lower()), "duplicate_token_uid"),
    _case("token-unknown-account", "POST", lambda w: "tokens",
          lambda w: token_body(str(uuid.uuid4()), "FFFF0001"), "unknown_account"),
    _case("token-unknown-field", "POST", lambda w: "tokens",
          lambda w: token_body(w.account, "FFFF0001", pin="1234"), "invalid_request"),
    _case("token-patch-unknown-account", "PATCH", lambda w: f"tokens/{w.token}",
          lambda w: {"account_id": str(uuid.uuid4())}, "unknown_account"),
    _case("token-patch-null-status", "PATCH", lambda w: f"tokens/{w.token}",
          lambda w: {"status": None}, "missing_field"),
]
# fmt: on


@pytest.mark.parametrize("bad", BAD_WRITES)
async def test_bad_input_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, admin: Headers, world: World, bad: BadWrite
) -> None:
    """Refused as admin, so only the input (never the role) can be the reason; the watched
    record or collection reads back byte-for-byte the same, ``updated_at`` included."""
    watched = bad.watch(world)
    before = await snapshot(client, admin, watched)
    response = await client.request(
        bad.method, f"{API}/{bad.path(world)}", json=bad.body(world), headers=admin
    )
    assert_error(response, bad.status, *bad.codes)
    assert await snapshot(client, admin, watched) == before
