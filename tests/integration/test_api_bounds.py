"""Every numeric input has bounds (DESIGN §6, issue 11 item 17): a number out of range is a
422 that names the field, never a 500, and changes nothing. Its code is the one that mistake
always had: the domain's where the domain refused it before (``invalid_quote``,
``invalid_top_up``, ...), ``invalid_request`` where the schema did. The issue's cases over
the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from chargeledger.api.app import create_app
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from tests.conftest import TEST_PASSWORD
from tests.integration.edge_world import (
    ACCOUNT,
    EVSES,
    SESSIONS,
    STATIONS,
    login_of,
    seed_edge_world,
)

Headers = dict[str, str]
HUGE = 9223372036854775808  # 2**63: one past the databases' largest integer
STATION = STATIONS["EDGE-AC"]
HELD = next(s for status, s in SESSIONS.items() if status.value == "quarantined")


@pytest.fixture
async def logins(runtime: Runtime, client: httpx.AsyncClient) -> dict[Role, Headers]:
    await seed_edge_world(runtime)
    found = {}
    for role in (Role.ADMIN, Role.DRIVER):
        form = {"username": login_of(role), "password": TEST_PASSWORD}
        answer = await client.post("/api/v1/auth/token", data=form)
        assert answer.status_code == 200, answer.text
        found[role] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    return found


def refused(response: httpx.Response, code: str, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field), error


def list_paths() -> list[str]:
    """Every GET of the OpenAPI that pages with ``offset``."""
    document = create_app(migrate=False, jobs=False).openapi()
    return sorted(
        path
        for path, operations in document["paths"].items()
        if any(p["name"] == "offset" for p in operations.get("get", {}).get("parameters", []))
    )


def test_the_lists_are_found() -> None:
    """The parametrised test below walks these: sites to payments, 11 when this was written."""
    assert {"/api/v1/sites", "/api/v1/sessions", "/api/v1/payments"} <= set(list_paths())
    assert len(list_paths()) >= 11


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DRIVER], ids=str)
async def test_an_offset_or_limit_out_of_range_is_refused_on_every_list(
    client: httpx.AsyncClient, logins: dict[Role, Headers], role: Role
) -> None:
    for path in list_paths():
        if (await client.get(path, headers=logins[role])).status_code == 403:
            continue  # not the driver's list (users, API keys): the role is refused first
        for params, name in (
            ({"offset": HUGE}, "offset"),
            ({"offset": -1}, "offset"),
            ({"limit": 0}, "limit"),
            ({"limit": 1001}, "limit"),
        ):
            answer = await client.get(path, params=params, headers=logins[role])
            refused(answer, "invalid_request", f"query.{name}")
        deepest = await client.get(path, params={"offset": 10**9}, headers=logins[role])
        assert deepest.status_code == 200, (path, deepest.text)
        assert deepest.json()["items"] == []


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"kwh": "10", "minutes": 99999999999999}, "invalid_quote", "minutes"),
        ({"kwh": "10", "minutes": 30, "idle_minutes": HUGE}, "invalid_quote", "idle_minutes"),
        ({"kwh": "1e308", "minutes": 30}, "invalid_request", "kwh"),
        ({"kwh": "NaN", "minutes": 30}, "invalid_request", "kwh"),
        ({"kwh": "Infinity", "minutes": 30}, "invalid_request", "kwh"),
        ({"kwh": "1E-999999999", "minutes": 30}, "invalid_request", "kwh"),
        ({"kwh": "10", "minutes": 30, "evse_id": HUGE}, "invalid_request", "evse_id"),
    ],
)
async def test_a_quote_out_of_range_is_refused(
    client: httpx.AsyncClient,
    logins: dict[Role, Headers],
    params: dict[str, Any],
    code: str,
    field: str,
) -> None:
    url = f"/api/v1/stations/{STATION}/quote"
    answer = await client.get(url, params=params, headers=logins[Role.DRIVER])
    refused(answer, code, f"query.{field}")
    fine = await client.get(url, params={"kwh": "10", "minutes": 30}, headers=logins[Role.DRIVER])
    assert fine.status_code == 200, fine.text


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1e308", "invalid_wallet_settings"),
        ("1E+24", "invalid_wallet_settings"),
        ("12.345", "invalid_wallet_settings"),  # EUR has two decimals
        ("-0.01", "invalid_request"),
        ("NaN", "invalid_request"),
        ("Infinity", "invalid_request"),
    ],
)
async def test_a_wallet_limit_out_of_range_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, logins: dict[Role, Headers], value: str, code: str
) -> None:
    url = f"/api/v1/accounts/{ACCOUNT}/wallet"
    admin = logins[Role.ADMIN]
    before = (await client.get(url, headers=admin)).json()
    answer = await client.put(url, json={"minimum_balance": value}, headers=admin)
    refused(answer, code, "minimum_balance")
    # A bare JSON number too: 1e308 parses, NaN is not JSON but Python's parser takes it.
    raw = f'{{"minimum_balance": {value}}}'.encode()
    answer = await client.put(
        url, content=raw, headers={**admin, "Content-Type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    assert (await client.get(url, headers=admin)).json() == before


async def test_oversized_numbers_on_evses_releases_and_money_are_refused(
    client: httpx.AsyncClient, logins: dict[Role, Headers]
) -> None:
    admin = logins[Role.ADMIN]
    plug = {
        "connector_id": 1,
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_power_kw": "22",
    }
    evse = {"station_id": str(STATION), "evse_id": 2, "connectors": [plug]}
    power, number = "connectors.0.max_power_kw", "connectors.0.connector_id"
    for body, code, field in (
        ({**evse, "connectors": [{**plug, "max_power_kw": "1E+30"}]}, "invalid_max_power", power),
        ({**evse, "connectors": [{**plug, "max_power_kw": "2.0001"}]}, "invalid_max_power", power),
        ({**evse, "connectors": [{**plug, "connector_id": HUGE}]}, "invalid_connector_id", number),
        ({**evse, "evse_id": HUGE}, "invalid_evse_id", "evse_id"),
    ):
        refused(await client.post("/api/v1/evses", json=body, headers=admin), code, field)
    patch = {"connectors": [{**plug, "max_power_kw": "1E+30"}]}
    answer = await client.patch(f"/api/v1/evses/{EVSES[0]}", json=patch, headers=admin)
    refused(answer, "invalid_max_power", "connectors.0.max_power_kw")
    listed = await client.get("/api/v1/evses", params={"station_id": str(STATION)}, headers=admin)
    assert [e["evse_id"] for e in listed.json()["items"]] == [1]

    release = f"/api/v1/sessions/{HELD}/release"
    for reading, code in (
        ("1E+30", "invalid_meter_reading"),
        ("-1", "negative_meter_reading"),  # as the same reading from a station
        ("0.0001", "invalid_meter_reading"),
        ("NaN", "invalid_request"),  # not a number at all
    ):
        body = {"note": "corrected", "corrected_meter_stop_wh": reading}
        answer = await client.post(release, json=body, headers=admin)
        refused(answer, code, "corrected_meter_stop_wh")
    held = await client.get(f"/api/v1/sessions/{HELD}", headers=admin)
    assert held.json()["status"] == "quarantined"

    nowhere = uuid.uuid4()
    for path, body, code in (
        (f"/api/v1/payments/{nowhere}/refunds", {"amount": "1E+30", "reason": "x"},
         "invalid_refund_amount"),
        (f"/api/v1/accounts/{ACCOUNT}/wallet/top-ups", {"amount": "1E+30"}, "invalid_top_up"),
        (f"/api/v1/invoices/{nowhere}/credit-notes", {"reason": "x", "net_amount": "1E+30"},
         "invalid_amount"),
    ):  # fmt: skip
        field = "net_amount" if "credit" in path else "amount"
        refused(await client.post(path, json=body, headers=admin), code, field)


async def test_oversized_whole_numbers_are_refused(
    client: httpx.AsyncClient, logins: dict[Role, Headers]
) -> None:
    admin = logins[Role.ADMIN]
    account = {
        "kind": "individual",
        "name": "Big Terms",
        "email": "terms@example.org",
        "billing_address": {"street": "A 1", "postal_code": "1", "city": "B", "country": "DE"},
        "currency": "EUR",
        "payment_terms_days": HUGE,
    }
    answer = await client.post("/api/v1/accounts", json=account, headers=admin)
    refused(answer, "invalid_payment_terms", "payment_terms_days")
    station = {"security_profile": HUGE}
    answer = await client.patch(f"/api/v1/stations/{STATION}", json=station, headers=admin)
    refused(answer, "invalid_security_profile", "security_profile")
    command = {"kind": "reserve_now", "evse_id": 1, "reservation_id": HUGE}
    answer = await client.post(f"/api/v1/stations/{STATION}/commands", json=command, headers=admin)
    refused(answer, "invalid_request", "reservation_id")
    answer = await client.get(f"/pay/EDGE-AC/{HUGE}")
    refused(answer, "invalid_evse_id", "path.evse")
    card = {"number": "4242424242424242", "exp_month": HUGE, "exp_year": 2030, "cvc": "123"}
    answer = await client.post("/sandbox-psp/v1/tokens", json=card)
    refused(answer, "expired_card", "exp_month")  # the sandbox's code for a month out of range
