"""Who may call what (DESIGN §6: deny by default; every route declares its roles; a test walks
every route × role) and whose data an account-bound user sees (the credentials that must be
refused are in ``test_credentials``).

The walk sends a real request for every route of ``API_ROUTERS`` as every role (people log in;
the ``integration`` role is an API key made through the API by an admin, once with every scope
and once with ``catalog:read`` only: a partner that looks up the network and customer records,
and reads no sessions and no billing documents). The expectation comes from a hand-written
table (``access_expectations``), checked separately against ``declared_access``, so that a
wrong declaration is caught instead of being mirrored back at itself. Denied requests must
answer exactly 403 and change nothing; allowed requests to the billing, payment, report and
contract routes must succeed, which shows the walk really reaches them. The records walked on
and the "nothing changed" fingerprint are in ``access_world``, the requests in
``access_requests``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from chargeledger.api.app import API_ROUTERS
from chargeledger.api.auth import TOKEN_URL, api_routes, declared_access
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role, Scope
from tests.integration.access_expectations import (
    ADMIN_ONLY,
    BILLING_ROUTES,
    CONTRACT_ROUTES,
    EXPECTED_ACCESS,
    KEY_READ,
    KEY_RW,
    MUST_BE_DENIED,
    MUST_SUCCEED,
    PAYMENT_ROUTES,
    PEOPLE,
    PRINCIPALS,
)
from tests.integration.access_requests import error_code, payload, request_for
from tests.integration.access_world import World, build_world, fingerprint

API = "/api/v1"
Json = dict[str, Any]
Headers = dict[str, str]
LoginAs = Callable[..., Awaitable[Headers]]


def walked_routes() -> list[tuple[str, APIRoute]]:
    """Every (method, route) of the app except the public login."""
    return [
        (method, route)
        for route in api_routes(API_ROUTERS)
        for method in sorted(route.methods or ())
        if route.path != TOKEN_URL
    ]


def declared_principals(route: APIRoute) -> frozenset[str]:
    """Who the route's ``allow(...)`` lets in, by the guard's own rules: people by role
    (admin always), API keys by scope alone."""
    declaration = declared_access(route)
    assert declaration is not None, f"{route.path} declares no access"
    roles, scope = declaration
    people = {role.value for role in roles if role is not Role.INTEGRATION}
    keys = {KEY_RW} if scope is not None else set()
    if scope is Scope.CATALOG_READ:
        keys.add(KEY_READ)
    return frozenset(people | keys)


def expected_principals(method: str, route: APIRoute) -> frozenset[str]:
    """The hand-written expectation; a route missing from it (a test below fails for that)
    falls back to its declaration so that the walk still covers it."""
    return EXPECTED_ACCESS.get((method, route.path)) or declared_principals(route)


# --- declarations --------------------------------------------------------------------------


def test_every_route_but_the_login_declares_access() -> None:
    """DESIGN §6: deny by default; a route without ``allow(...)`` would be open to anyone."""
    routes = api_routes(API_ROUTERS)
    assert any(route.path == TOKEN_URL for route in routes)
    undeclared = [r.path for r in routes if r.path != TOKEN_URL and declared_access(r) is None]
    assert undeclared == []
    login = next(route for route in routes if route.path == TOKEN_URL)
    assert declared_access(login) is None


def test_the_expectation_table_covers_every_route() -> None:
    """A new route must be added to EXPECTED_ACCESS: someone has to say who may call it."""
    walked = {(method, route.path) for method, route in walked_routes()}
    assert walked - set(EXPECTED_ACCESS) == set(), "routes missing from EXPECTED_ACCESS"
    assert set(EXPECTED_ACCESS) - walked == set(), "EXPECTED_ACCESS names routes that are gone"


@pytest.mark.parametrize(
    ("method", "route"), walked_routes(), ids=[f"{m} {r.path}" for m, r in walked_routes()]
)
def test_declaration_matches_the_expectation(method: str, route: APIRoute) -> None:
    expected = EXPECTED_ACCESS.get((method, route.path))
    if expected is None:
        pytest.fail(f"{method} {route.path} is missing from EXPECTED_ACCESS")
    assert declared_principals(route) == expected


@pytest.mark.parametrize(("principal", "method", "path"), MUST_BE_DENIED)
def test_named_cases_are_denied(principal: str, method: str, path: str) -> None:
    assert principal not in EXPECTED_ACCESS[(method, path)]
    route = next(r for m, r in walked_routes() if (m, r.path) == (method, path))
    assert principal not in declared_principals(route)


def test_a_read_only_key_may_not_change_anything() -> None:
    """A ``catalog:read`` key is for partners that look things up; no route that writes may
    let it in, whatever routes are added later."""
    writes = [(m, r) for m, r in walked_routes() if m != "GET"]
    assert writes
    assert [(m, r.path) for m, r in writes if KEY_READ in declared_principals(r)] == []
    assert [(m, r.path) for m, r in writes if KEY_READ in expected_principals(m, r)] == []


def test_identity_routes_are_for_admins_only() -> None:
    """Users and API keys are the keys to everything else: nobody but an admin manages them."""
    for method, route in walked_routes():
        if route.path.startswith(("/api/v1/users", "/api/v1/api-keys")):
            assert declared_principals(route) == ADMIN_ONLY, f"{method} {route.path}"


# --- the walk ------------------------------------------------------------------------------


async def credentials(
    principal: str, world: World, client: httpx.AsyncClient, login_as: LoginAs
) -> Headers:
    """People log in for real; an integration is an API key an admin made through the API."""
    if principal in PEOPLE:
        role = Role(principal)
        bound = role in (Role.DRIVER, Role.FLEET_MANAGER)
        return await login_as(role, world.account.id if bound else None)
    admin = await login_as(Role.ADMIN)
    scopes = [s.value for s in Scope] if principal == KEY_RW else ["catalog:read"]
    response = await client.post(
        f"{API}/api-keys", json={"name": principal, "scopes": scopes}, headers=admin
    )
    assert response.status_code == 201, response.text
    return {"X-API-Key": response.json()["key"]}


@pytest.mark.parametrize("principal", PRINCIPALS)
async def test_every_route_answers_each_role_as_expected(
    client: httpx.AsyncClient, runtime: Runtime, login_as: LoginAs, principal: str
) -> None:
    """Allowed: anything but 401/403 (the request may still be refused on its merits), and
    success on the billing and payment routes. Denied: exactly 403 with the stable code, and
    not a single record changed."""
    world = await build_world(runtime)
    headers = await credentials(principal, world, client, login_as)
    denied_code = "insufficient_scope" if principal in (KEY_RW, KEY_READ) else "permission_denied"
    wrong: list[str] = []
    for method, route in walked_routes():
        allowed = principal in expected_principals(method, route)
        path, body = await request_for(world, method, route)
        before = None if allowed else await fingerprint(world)
        response = await client.request(method, path, headers=headers, **payload(body))
        where = f"{method} {route.path}"
        if allowed:
            if response.status_code in (401, 403):
                wrong.append(f"{where}: should be allowed, got {response.text}")
            elif (method, route.path) in MUST_SUCCEED and not response.is_success:
                wrong.append(f"{where}: should succeed, got {response.status_code} {response.text}")
        elif response.status_code != 403 or error_code(response) != denied_code:
            wrong.append(
                f"{where}: should be 403 {denied_code}, got {response.status_code} {response.text}"
            )
        elif await fingerprint(world) != before:
            wrong.append(f"{where}: refused with 403 but changed stored data")
    await runtime.quiesce()  # the sandbox's webhooks of allowed payments, before teardown
    assert wrong == [], "\n".join(wrong)


# The writes of each family whose refusal the fingerprint must be able to see.
FINGERPRINTED = {
    "billing": (BILLING_ROUTES, 3),
    "payments": (PAYMENT_ROUTES, 7),
    "contracts": (CONTRACT_ROUTES, 9),
}


@pytest.mark.parametrize("family", FINGERPRINTED)
async def test_the_fingerprint_sees_each_write(
    client: httpx.AsyncClient, runtime: Runtime, login_as: LoginAs, family: str
) -> None:
    """The control for "refused and unchanged": the very request the walk sends to each write
    of the billing, payment and contract routes, accepted, does change the fingerprint (an
    invoice, a refund, a card, a wallet rule, a partner, a contract's signature, terms,
    termination, coverage, documents and milestones)."""
    routes, count = FINGERPRINTED[family]
    world = await build_world(runtime)
    admin = await login_as(Role.ADMIN)
    writes = [(m, r) for m, r in walked_routes() if m != "GET" and (m, r.path) in routes]
    assert len(writes) == count
    for method, route in writes:
        path, body = await request_for(world, method, route)
        before = await fingerprint(world)
        response = await client.request(method, path, headers=admin, **payload(body))
        assert response.is_success, f"{method} {route.path}: {response.text}"
        assert await fingerprint(world) != before, f"{method} {route.path} changed nothing"


async def test_every_route_refuses_anonymous_callers(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """No credentials: 401 ``not_authenticated`` with a Bearer challenge (RFC 6750 §3), on
    every route but the login itself, before any body or id is looked at."""
    world = await build_world(runtime)
    wrong: list[str] = []
    for method, route in walked_routes():
        path, body = await request_for(world, method, route)
        before = await fingerprint(world)
        response = await client.request(method, path, **payload(body))
        if (
            response.status_code != 401
            or error_code(response) != "not_authenticated"
            or response.headers.get("WWW-Authenticate") != "Bearer"
        ):
            wrong.append(f"{method} {route.path}: {response.status_code} {response.text}")
        elif await fingerprint(world) != before:
            wrong.append(f"{method} {route.path}: refused with 401 but changed stored data")
    assert wrong == [], "\n".join(wrong)


# --- account-bound users see their own account only ----------------------------------------


@dataclass(frozen=True)
class TwoHouseholds:
    admin: Headers
    mine: Json
    theirs: Json
    my_tokens: list[Json]
    their_token: Json


@pytest.fixture
async def households(client: httpx.AsyncClient, login_as: LoginAs) -> TwoHouseholds:
    """Two customer accounts with cards, made through the API by an admin."""
    admin = await login_as(Role.ADMIN)

    async def post(resource: str, body: Json) -> Json:
        response = await client.post(f"{API}/{resource}", json=body, headers=admin)
        assert response.status_code == 201, response.text
        created: Json = response.json()
        return created

    def account(name: str) -> Json:
        return {
            "kind": "business",
            "name": name,
            "email": f"{name.lower()}@example.org",
            "billing_address": {"street": "A 1", "postal_code": "1", "city": "B", "country": "DE"},
            "currency": "EUR",
        }

    mine = await post("accounts", account("Alpha"))
    theirs = await post("accounts", account("Beta"))
    my_tokens = [
        await post(
            "tokens", {"uid": uid, "type": "rfid", "account_id": mine["id"], "label": "mine"}
        )
        for uid in ("A0000001", "A0000002")
    ]
    their_token = await post(
        "tokens", {"uid": "B0000001", "type": "rfid", "account_id": theirs["id"]}
    )
    return TwoHouseholds(admin, mine, theirs, my_tokens, their_token)


BOUND_ROLES = [Role.DRIVER, Role.FLEET_MANAGER]


@pytest.mark.parametrize("role", BOUND_ROLES, ids=str)
async def test_bound_user_never_sees_another_account(
    client: httpx.AsyncClient, login_as: LoginAs, households: TwoHouseholds, role: Role
) -> None:
    """DESIGN §6: a driver never sees another account's data; the other account answers like
    one that does not exist, so its existence is not revealed either."""
    me = await login_as(role, uuid.UUID(households.mine["id"]))
    mine, theirs = households.mine["id"], households.theirs["id"]
    their_token = households.their_token

    async def ids(path: str, params: dict[str, str] | None = None) -> list[str]:
        response = await client.get(f"{API}/{path}", params=params, headers=me)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids("accounts") == [mine]
    assert await ids("accounts", {"q": "beta"}) == []
    assert await ids("accounts", {"kind": "business"}) == [mine]
    assert (await client.get(f"{API}/accounts/{mine}", headers=me)).status_code == 200
    hidden = await client.get(f"{API}/accounts/{theirs}", headers=me)
    absent = await client.get(f"{API}/accounts/{uuid.uuid4()}", headers=me)
    assert (hidden.status_code, error_code(hidden)) == (404, "account_not_found")
    assert (absent.status_code, error_code(absent)) == (404, "account_not_found")

    my_token_ids = sorted(t["id"] for t in households.my_tokens)
    assert sorted(await ids("tokens")) == my_token_ids
    assert await ids("tokens", {"account_id": theirs}) == []
    assert sorted(await ids("tokens", {"account_id": mine})) == my_token_ids
    assert await ids("tokens", {"status": "active", "account_id": theirs}) == []

    token_path = f"{API}/tokens/{their_token['id']}"
    hidden = await client.get(token_path, headers=me)
    assert (hidden.status_code, error_code(hidden)) == (404, "token_not_found")
    blocked = await client.patch(token_path, json={"status": "blocked"}, headers=me)
    assert (blocked.status_code, error_code(blocked)) == (404, "token_not_found")
    deleted = await client.delete(token_path, headers=me)
    assert (deleted.status_code, error_code(deleted)) == (403, "permission_denied")
    untouched = await client.get(token_path, headers=households.admin)
    assert untouched.json() == their_token


@pytest.mark.parametrize("role", BOUND_ROLES, ids=str)
async def test_bound_user_may_only_block_own_token(
    client: httpx.AsyncClient, login_as: LoginAs, households: TwoHouseholds, role: Role
) -> None:
    """A lost card must be blockable at once by its holder; anything else about a card (label,
    expiry, owner, unblocking) stays with the operator's staff."""
    me = await login_as(role, uuid.UUID(households.mine["id"]))
    card = households.my_tokens[0]
    path = f"{API}/tokens/{card['id']}"
    forbidden = [
        {"label": "renamed"},
        {"status": "blocked", "label": "renamed"},
        {"expires_at": "2099-01-01T00:00:00Z"},
        {"account_id": households.theirs["id"]},
        {"status": "active"},
        {"status": "expired"},
    ]
    for body in forbidden:
        response = await client.patch(path, json=body, headers=me)
        assert (response.status_code, error_code(response)) == (403, "permission_denied"), body
    assert (await client.get(path, headers=me)).json() == card

    response = await client.patch(path, json={"status": "blocked"}, headers=me)
    assert response.status_code == 200, response.text
    blocked = response.json()
    assert (blocked["status"], blocked["label"], blocked["account_id"]) == (
        "blocked",
        "mine",
        households.mine["id"],
    )
    for body in ({"status": "active"}, {"label": "found it"}):
        response = await client.patch(path, json=body, headers=me)
        assert (response.status_code, error_code(response)) == (403, "permission_denied"), body
    assert (await client.get(path, headers=households.admin)).json() == blocked
