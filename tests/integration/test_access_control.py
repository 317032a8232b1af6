"""Who may call what (DESIGN §6: deny by default; every route declares its roles; a test walks
every route × role), whose data an account-bound user sees, and which credentials are refused.

The walk sends a real request for every route of ``API_ROUTERS`` as every role (people log in;
the ``integration`` role is an API key made through the API by an admin, once with every scope
and once with ``catalog:read`` only: a partner that looks up the network and customer records,
and reads no sessions and no billing documents). The expectation comes from a hand-written
table, checked separately against ``declared_access``, so that a wrong declaration is caught
instead of being mirrored back at itself. Denied requests must answer exactly 403 and change
nothing; allowed requests to the billing routes must succeed, which shows the walk really
reaches them. The records walked on, the requests and the "nothing changed" fingerprint are in
``access_world``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi.routing import APIRoute

from chargeledger.api.app import API_ROUTERS
from chargeledger.api.auth import ALGORITHM, ISSUER, TOKEN_URL, api_routes, declared_access
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role, Scope
from tests.integration.access_world import World, build_world, fingerprint, request_for

API = "/api/v1"
Json = dict[str, Any]
Headers = dict[str, str]
LoginAs = Callable[..., Awaitable[Headers]]

# --- who may do what: the hand-written expectation -----------------------------------------

ADMIN, FINANCE, OPERATOR = "admin", "finance", "operator"
FLEET_MANAGER, DRIVER = "fleet_manager", "driver"
KEY_RW, KEY_READ = "integration", "integration_read"  # API keys: every scope / catalog:read
PRINCIPALS = (ADMIN, FINANCE, OPERATOR, FLEET_MANAGER, DRIVER, KEY_RW, KEY_READ)
PEOPLE = frozenset({ADMIN, FINANCE, OPERATOR, FLEET_MANAGER, DRIVER})
READERS = PEOPLE | {KEY_RW, KEY_READ}  # the network and (scoped) customer data
NETWORK_WRITERS = frozenset({ADMIN, OPERATOR, KEY_RW})
ACCOUNT_WRITERS = frozenset({ADMIN, FINANCE, KEY_RW})
TOKEN_WRITERS = frozenset({ADMIN, FINANCE, OPERATOR, KEY_RW})
ADMIN_ONLY = frozenset({ADMIN})
SESSION_READERS = PEOPLE | {KEY_RW}  # account-bound people see their own sessions only
SESSION_REVIEWERS = frozenset({ADMIN, OPERATOR, FINANCE})
STATION_COMMANDERS = frozenset({ADMIN, OPERATOR, KEY_RW})
# Billing (issue 5): every person reads documents and statements (account-bound people their
# own account's only), finance runs invoicing, issues and credits and reads the ledger; keys
# need billing:read / billing:write, which KEY_READ (catalog:read only) does not hold.
BILLING_READERS = PEOPLE | {KEY_RW}
BILLING_WRITERS = frozenset({ADMIN, FINANCE, KEY_RW})
LEDGER_READERS = frozenset({ADMIN, FINANCE, KEY_RW})
# Prices (issue 11 item 8): every reader sees the tariffs (public prices); the people who run
# the network or its customers' money import and assign them; keys need catalog:write.
TARIFF_WRITERS = frozenset({ADMIN, OPERATOR, FINANCE, KEY_RW})

# Written from DESIGN §6, not from access.py: operators run the network, finance the customers,
# admins the identities; drivers and fleet managers read and may only block their own cards.
EXPECTED_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/me"): PEOPLE,
    ("POST", "/api/v1/me/password"): PEOPLE,
    ("GET", "/api/v1/users"): ADMIN_ONLY,
    ("POST", "/api/v1/users"): ADMIN_ONLY,
    ("PATCH", "/api/v1/users/{user_id}"): ADMIN_ONLY,
    ("GET", "/api/v1/api-keys"): ADMIN_ONLY,
    ("POST", "/api/v1/api-keys"): ADMIN_ONLY,
    ("DELETE", "/api/v1/api-keys/{key_id}"): ADMIN_ONLY,
    ("GET", "/api/v1/sites"): READERS,
    ("POST", "/api/v1/sites"): NETWORK_WRITERS,
    ("GET", "/api/v1/sites/{site_id}"): READERS,
    ("PATCH", "/api/v1/sites/{site_id}"): NETWORK_WRITERS,
    ("DELETE", "/api/v1/sites/{site_id}"): NETWORK_WRITERS,
    ("GET", "/api/v1/stations"): READERS,
    ("POST", "/api/v1/stations"): NETWORK_WRITERS,
    ("GET", "/api/v1/stations/{station_id}"): READERS,
    ("PATCH", "/api/v1/stations/{station_id}"): NETWORK_WRITERS,
    ("DELETE", "/api/v1/stations/{station_id}"): NETWORK_WRITERS,
    ("GET", "/api/v1/evses"): READERS,
    ("POST", "/api/v1/evses"): NETWORK_WRITERS,
    ("GET", "/api/v1/evses/{evse_id}"): READERS,
    ("PATCH", "/api/v1/evses/{evse_id}"): NETWORK_WRITERS,
    ("DELETE", "/api/v1/evses/{evse_id}"): NETWORK_WRITERS,
    ("GET", "/api/v1/accounts"): READERS,
    ("POST", "/api/v1/accounts"): ACCOUNT_WRITERS,
    ("GET", "/api/v1/accounts/{account_id}"): READERS,
    ("PATCH", "/api/v1/accounts/{account_id}"): ACCOUNT_WRITERS,
    ("DELETE", "/api/v1/accounts/{account_id}"): ACCOUNT_WRITERS,
    ("GET", "/api/v1/tokens"): READERS,
    ("POST", "/api/v1/tokens"): TOKEN_WRITERS,
    ("GET", "/api/v1/tokens/{token_id}"): READERS,
    ("PATCH", "/api/v1/tokens/{token_id}"): TOKEN_WRITERS | {FLEET_MANAGER, DRIVER},
    ("DELETE", "/api/v1/tokens/{token_id}"): TOKEN_WRITERS,
    ("GET", "/api/v1/sessions"): SESSION_READERS,
    ("GET", "/api/v1/sessions/live"): SESSION_READERS,
    ("GET", "/api/v1/sessions/{session_id}"): SESSION_READERS,
    ("POST", "/api/v1/sessions/{session_id}/release"): SESSION_REVIEWERS,
    ("GET", "/api/v1/stations/{station_id}/status"): SESSION_REVIEWERS | {KEY_RW},
    ("POST", "/api/v1/stations/{station_id}/commands"): STATION_COMMANDERS,
    ("GET", "/api/v1/stations/{station_id}/quote"): READERS,
    ("GET", "/api/v1/sessions/{session_id}/cost"): SESSION_READERS,
    ("GET", "/api/v1/sessions/{session_id}/cdr"): SESSION_READERS,
    ("GET", "/api/v1/tariffs"): READERS,
    ("POST", "/api/v1/tariffs"): TARIFF_WRITERS,
    ("GET", "/api/v1/tariffs/{tariff_id}"): READERS,
    ("POST", "/api/v1/tariffs/{tariff_id}/assignments"): TARIFF_WRITERS,
}
BILLING_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/invoices"): BILLING_READERS,
    ("GET", "/api/v1/invoices/{invoice_id}"): BILLING_READERS,
    ("GET", "/api/v1/invoices/{invoice_id}/pdf"): BILLING_READERS,
    ("GET", "/api/v1/invoices/{invoice_id}/xml"): BILLING_READERS,
    ("POST", "/api/v1/invoices/{invoice_id}/issue"): BILLING_WRITERS,
    ("POST", "/api/v1/invoices/{invoice_id}/credit-notes"): BILLING_WRITERS,
    ("POST", "/api/v1/invoice-runs"): BILLING_WRITERS,
    ("GET", "/api/v1/ledger/trial-balance"): LEDGER_READERS,
    ("GET", "/api/v1/ledger/statement"): LEDGER_READERS,
    ("GET", "/api/v1/ledger/check"): LEDGER_READERS,
    ("GET", "/api/v1/accounts/{account_id}/statement"): BILLING_READERS,
}
EXPECTED_ACCESS |= BILLING_ACCESS
# Bank statements (issue 13): finance imports and decides; operators read the queue.
BANK_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/api/v1/bank/statements"): BILLING_WRITERS,
    ("GET", "/api/v1/bank/entries"): LEDGER_READERS | {OPERATOR},
    ("POST", "/api/v1/bank/entries/{entry_id}/match"): BILLING_WRITERS,
    ("POST", "/api/v1/bank/entries/{entry_id}/credit"): BILLING_WRITERS,
    ("POST", "/api/v1/bank/entries/{entry_id}/ignore"): BILLING_WRITERS,
}
EXPECTED_ACCESS |= BANK_ACCESS
# PSP payouts and their reconciliation (issue 13): finance and operators read them.
PAYOUT_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/payouts"): LEDGER_READERS | {OPERATOR},
    ("GET", "/api/v1/payouts/{payout_id}"): LEDGER_READERS | {OPERATOR},
}
EXPECTED_ACCESS |= PAYOUT_ACCESS
# The outbox (issue 13): its messages name customers and their addresses; finance reads the
# dead letters and sends them again, keys with billing:read / billing:write.
OUTBOX_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/outbox"): LEDGER_READERS,
    ("POST", "/api/v1/outbox/{message_id}/retry"): BILLING_WRITERS,
}
EXPECTED_ACCESS |= OUTBOX_ACCESS
# Dunning (issue 13): finance runs it and opens or closes disputes; every reader of an invoice
# reads its notices (account-bound people their own account's only).
DUNNING_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/api/v1/dunning/runs"): BILLING_WRITERS,
    ("GET", "/api/v1/invoices/{invoice_id}/dunning"): BILLING_READERS,
    ("POST", "/api/v1/invoices/{invoice_id}/dispute"): BILLING_WRITERS,
    ("POST", "/api/v1/invoices/{invoice_id}/undispute"): BILLING_WRITERS,
    ("POST", "/api/v1/invoices/{invoice_id}/dunning/{level}/waive"): BILLING_WRITERS,
}
EXPECTED_ACCESS |= DUNNING_ACCESS
# Payments (issue 6): payments are billing documents (every person reads, account-bound people
# their own account's only; finance refunds). An account's cards, wallet, top-ups and invoice
# payments are managed by finance and by the account's own drivers and fleet managers, never
# by operators (they run stations, not customers' money); keys need billing:write.
PAYMENT_MANAGERS = frozenset({ADMIN, FINANCE, FLEET_MANAGER, DRIVER, KEY_RW})
PAYMENT_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/payments"): BILLING_READERS,
    ("GET", "/api/v1/payments/{payment_id}"): BILLING_READERS,
    ("POST", "/api/v1/payments/{payment_id}/refunds"): BILLING_WRITERS,
    ("GET", "/api/v1/accounts/{account_id}/payment-methods"): PAYMENT_MANAGERS,
    ("POST", "/api/v1/accounts/{account_id}/payment-methods"): PAYMENT_MANAGERS,
    ("DELETE", "/api/v1/accounts/{account_id}/payment-methods/{card_id}"): PAYMENT_MANAGERS,
    ("GET", "/api/v1/accounts/{account_id}/wallet"): PAYMENT_MANAGERS,
    ("PUT", "/api/v1/accounts/{account_id}/wallet"): PAYMENT_MANAGERS,
    # The operator's floor is credit policy: finance sets it, a driver may only raise it
    # with their own minimum (issue 11 item 5).
    ("PUT", "/api/v1/accounts/{account_id}/wallet/floor"): BILLING_WRITERS,
    ("GET", "/api/v1/accounts/{account_id}/wallet/history"): PAYMENT_MANAGERS,
    ("POST", "/api/v1/accounts/{account_id}/wallet/top-ups"): PAYMENT_MANAGERS,
    ("POST", "/api/v1/invoices/{invoice_id}/payments"): PAYMENT_MANAGERS,
}
EXPECTED_ACCESS |= PAYMENT_ACCESS
# The walk sends these a request that a permitted caller must get answered with success.
BILLING_ROUTES = frozenset(BILLING_ACCESS)
PAYMENT_ROUTES = frozenset(PAYMENT_ACCESS)
MUST_SUCCEED = BILLING_ROUTES | PAYMENT_ROUTES
# Reports (issue 13): finance and operators read them (keys with billing:read); a fleet
# manager reads the aging of their own account only; drivers read their invoices instead.
REPORT_READERS = frozenset({ADMIN, FINANCE, OPERATOR, KEY_RW})
REPORT_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/reports/aging"): REPORT_READERS | {FLEET_MANAGER},
    ("GET", "/api/v1/reports/revenue"): REPORT_READERS,
    ("GET", "/api/v1/reports/collections"): REPORT_READERS,
    ("GET", "/api/v1/reports/unbilled"): REPORT_READERS,
}
EXPECTED_ACCESS |= REPORT_ACCESS
MUST_SUCCEED |= frozenset(REPORT_ACCESS)

# The cases the issue names, spelled out once more on their own so that a careless edit of the
# table above cannot silently re-allow them.
MUST_BE_DENIED = [
    (DRIVER, "POST", "/api/v1/sites"),
    (DRIVER, "GET", "/api/v1/users"),
    (FLEET_MANAGER, "GET", "/api/v1/users"),
    (FINANCE, "POST", "/api/v1/stations"),
    (OPERATOR, "POST", "/api/v1/accounts"),
    (FLEET_MANAGER, "POST", "/api/v1/tokens"),
    (DRIVER, "POST", "/api/v1/tokens"),
    (DRIVER, "DELETE", "/api/v1/tokens/{token_id}"),
    (FINANCE, "POST", "/api/v1/users"),
    (OPERATOR, "POST", "/api/v1/api-keys"),
    (KEY_RW, "GET", "/api/v1/users"),
    (KEY_RW, "POST", "/api/v1/api-keys"),
    (OPERATOR, "POST", "/api/v1/invoice-runs"),
    (OPERATOR, "GET", "/api/v1/ledger/trial-balance"),
    (DRIVER, "POST", "/api/v1/invoices/{invoice_id}/credit-notes"),
    (DRIVER, "GET", "/api/v1/ledger/check"),
    (FLEET_MANAGER, "POST", "/api/v1/invoices/{invoice_id}/issue"),
    (KEY_READ, "GET", "/api/v1/invoices"),
    (DRIVER, "POST", "/api/v1/payments/{payment_id}/refunds"),
    (FLEET_MANAGER, "POST", "/api/v1/payments/{payment_id}/refunds"),
    (OPERATOR, "POST", "/api/v1/payments/{payment_id}/refunds"),
    (OPERATOR, "POST", "/api/v1/accounts/{account_id}/wallet/top-ups"),
    (OPERATOR, "GET", "/api/v1/accounts/{account_id}/payment-methods"),
    (KEY_READ, "GET", "/api/v1/payments"),
    (KEY_READ, "POST", "/api/v1/invoices/{invoice_id}/payments"),
    (DRIVER, "POST", "/api/v1/tariffs/{tariff_id}/assignments"),
    (FLEET_MANAGER, "POST", "/api/v1/tariffs"),
    (KEY_READ, "POST", "/api/v1/tariffs/{tariff_id}/assignments"),
    (DRIVER, "PUT", "/api/v1/accounts/{account_id}/wallet/floor"),
    (FLEET_MANAGER, "PUT", "/api/v1/accounts/{account_id}/wallet/floor"),
    (OPERATOR, "PUT", "/api/v1/accounts/{account_id}/wallet/floor"),
    (DRIVER, "GET", "/api/v1/reports/aging"),
    (KEY_READ, "GET", "/api/v1/reports/aging"),
    (DRIVER, "GET", "/api/v1/reports/revenue"),
    (FLEET_MANAGER, "GET", "/api/v1/reports/revenue"),
    (FLEET_MANAGER, "GET", "/api/v1/reports/collections"),
    (DRIVER, "GET", "/api/v1/reports/unbilled"),
    (OPERATOR, "GET", "/api/v1/outbox"),
    (DRIVER, "GET", "/api/v1/outbox"),
    (FLEET_MANAGER, "POST", "/api/v1/outbox/{message_id}/retry"),
    (OPERATOR, "POST", "/api/v1/dunning/runs"),
    (DRIVER, "POST", "/api/v1/invoices/{invoice_id}/dispute"),
    (FLEET_MANAGER, "POST", "/api/v1/invoices/{invoice_id}/undispute"),
    (FLEET_MANAGER, "POST", "/api/v1/invoices/{invoice_id}/dunning/{level}/waive"),
]


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


def error_code(response: httpx.Response) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


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
        response = await client.request(method, path, json=body, headers=headers)
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


async def test_the_fingerprint_sees_each_billing_write(
    client: httpx.AsyncClient, runtime: Runtime, login_as: LoginAs
) -> None:
    """The control for "refused and unchanged" on the billing routes: the very request the walk
    sends to each of them, accepted, does change the fingerprint."""
    world = await build_world(runtime)
    admin = await login_as(Role.ADMIN)
    writes = [(m, r) for m, r in walked_routes() if m != "GET" and (m, r.path) in BILLING_ROUTES]
    assert len(writes) == 3
    for method, route in writes:
        path, body = await request_for(world, method, route)
        before = await fingerprint(world)
        response = await client.request(method, path, json=body, headers=admin)
        assert response.is_success, f"{method} {route.path}: {response.text}"
        assert await fingerprint(world) != before, f"{method} {route.path} changed nothing"


async def test_the_fingerprint_sees_each_payment_write(
    client: httpx.AsyncClient, runtime: Runtime, login_as: LoginAs
) -> None:
    """The same control for the payment routes: refunds, cards, wallet rules and floor,
    top-ups and invoice payments each change what ``fingerprint`` sees."""
    world = await build_world(runtime)
    admin = await login_as(Role.ADMIN)
    writes = [(m, r) for m, r in walked_routes() if m != "GET" and (m, r.path) in PAYMENT_ROUTES]
    assert len(writes) == 7
    for method, route in writes:
        path, body = await request_for(world, method, route)
        before = await fingerprint(world)
        response = await client.request(method, path, json=body, headers=admin)
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
        response = await client.request(method, path, json=body)
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


# --- credentials that must be refused ------------------------------------------------------


async def test_deactivated_users_token_is_refused_at_once(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """The user is read on every request, so deactivation does not wait for the token's
    expiry (a dismissed employee's laptop must stop working now)."""
    admin = await login_as(Role.ADMIN)
    finance = await login_as(Role.FINANCE)
    me = await client.get(f"{API}/me", headers=finance)
    assert me.status_code == 200, me.text
    user_id = me.json()["subject"].removeprefix("user:")
    assert (await client.get(f"{API}/accounts", headers=finance)).status_code == 200

    response = await client.patch(f"{API}/users/{user_id}", json={"active": False}, headers=admin)
    assert response.status_code == 200, response.text
    for path in ("me", "accounts", "sites"):
        refused = await client.get(f"{API}/{path}", headers=finance)
        assert (refused.status_code, error_code(refused)) == (401, "invalid_token"), path


async def test_revoked_api_key_is_refused(client: httpx.AsyncClient, login_as: LoginAs) -> None:
    admin = await login_as(Role.ADMIN)
    response = await client.post(
        f"{API}/api-keys", json={"name": "hub", "scopes": ["catalog:read"]}, headers=admin
    )
    assert response.status_code == 201, response.text
    key = response.json()
    presented = [{"X-API-Key": key["key"]}, {"Authorization": f"Bearer {key['key']}"}]
    for headers in presented:
        assert (await client.get(f"{API}/sites", headers=headers)).status_code == 200

    revoked = await client.delete(f"{API}/api-keys/{key['id']}", headers=admin)
    assert revoked.status_code == 200, revoked.text
    for headers in presented:
        refused = await client.get(f"{API}/sites", headers=headers)
        assert (refused.status_code, error_code(refused)) == (401, "invalid_api_key")


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"Authorization": "Bearer garbage"}, "invalid_token"),
        ({"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"}, "invalid_token"),
        ({"Authorization": "Bearer clk_nope"}, "invalid_api_key"),
        ({"Authorization": "Bearer clk_0123456789ab_not-the-secret"}, "invalid_api_key"),
        ({"X-API-Key": "garbage"}, "invalid_api_key"),
        ({"X-API-Key": "clk_0123456789ab_not-the-secret"}, "invalid_api_key"),
        ({"Authorization": "Basic YWRtaW46YWRtaW4="}, "not_authenticated"),
    ],
    ids=[
        "garbage",
        "unsigned-jwt",
        "short-key",
        "unknown-key",
        "header-garbage",
        "header-unknown-key",
        "basic-auth",
    ],
)
async def test_garbage_credentials_are_refused(
    client: httpx.AsyncClient, headers: Headers, code: str
) -> None:
    response = await client.get(f"{API}/sites", headers=headers)
    assert (response.status_code, error_code(response)) == (401, code)
    assert response.headers.get("WWW-Authenticate") == "Bearer"


def forge(runtime: Runtime, user_id: str, **changes: Any) -> Headers:
    """A JWT built like ``issue_access_token`` builds one, then altered by ``changes``
    (a value of None drops the claim; ``_key`` and ``_algorithm`` alter the signature)."""
    now = runtime.clock.now()
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": user_id,
        "role": "driver",
        "iat": int((now - timedelta(minutes=1)).timestamp()),
        "exp": int((now + timedelta(minutes=30)).timestamp()),
    }
    key = changes.pop("_key", runtime.jwt_secret)
    algorithm = changes.pop("_algorithm", ALGORITHM)
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm=algorithm)}"}


@pytest.fixture
async def driver_id(client: httpx.AsyncClient, login_as: LoginAs) -> str:
    me = await client.get(f"{API}/me", headers=await login_as(Role.DRIVER))
    assert me.status_code == 200, me.text
    return str(me.json()["subject"].removeprefix("user:"))


async def test_a_correctly_forged_token_is_accepted(
    client: httpx.AsyncClient, runtime: Runtime, driver_id: str
) -> None:
    """The control for the refusals below: ``forge`` without changes makes a token the API
    accepts, so each refusal is caused by its one alteration."""
    response = await client.get(f"{API}/me", headers=forge(runtime, driver_id))
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "driver"


def _expired(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    return {
        "iat": int((now - timedelta(hours=2)).timestamp()),
        "exp": int((now - timedelta(hours=1)).timestamp()),
    }


ALTERED_TOKENS: dict[str, Callable[[Runtime], dict[str, Any]]] = {
    "expired": _expired,
    "other-secret": lambda rt: {"_key": "not-the-secret-" + "x" * 32},
    "other-issuer": lambda rt: {"iss": "someone-else"},
    "no-issuer": lambda rt: {"iss": None},
    "no-expiry": lambda rt: {"exp": None},
    "alg-none": lambda rt: {"_key": None, "_algorithm": "none"},
    "unknown-user": lambda rt: {"sub": str(uuid.uuid4())},
    "subject-not-a-uuid": lambda rt: {"sub": "admin"},
}


@pytest.mark.parametrize("alteration", ALTERED_TOKENS)
async def test_altered_tokens_are_refused(
    client: httpx.AsyncClient, runtime: Runtime, driver_id: str, alteration: str
) -> None:
    headers = forge(runtime, driver_id, **ALTERED_TOKENS[alteration](runtime))
    response = await client.get(f"{API}/me", headers=headers)
    assert (response.status_code, error_code(response)) == (401, "invalid_token")


async def test_role_claim_in_the_token_grants_nothing(
    client: httpx.AsyncClient, runtime: Runtime, driver_id: str
) -> None:
    """The role comes from the stored user, never from the token, so a role claim cannot
    escalate (and a changed role takes effect at once)."""
    headers = forge(runtime, driver_id, role="admin")
    me = await client.get(f"{API}/me", headers=headers)
    assert me.json()["role"] == "driver"
    refused = await client.get(f"{API}/users", headers=headers)
    assert (refused.status_code, error_code(refused)) == (403, "permission_denied")
