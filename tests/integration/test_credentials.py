"""Credentials that must be refused (DESIGN §6: JWT access tokens, API keys with a keyed
hash): a deactivated user's token and a revoked key at once, garbage and forged tokens, and a
role claim in the token that grants nothing (the role is the stored user's). Split from
``test_access_control``, which walks who may call what.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest

from chargeledger.api.api_key_cache import ApiKeyCache
from chargeledger.api.app import create_app
from chargeledger.api.auth import ALGORITHM, ISSUER
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role, Scope
from chargeledger.services import identity
from chargeledger.services.transactions import in_transaction
from tests.integration.access_requests import error_code

API = "/api/v1"
Headers = dict[str, str]
LoginAs = Callable[..., Awaitable[Headers]]


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


async def test_a_key_revoked_by_another_process_is_refused_within_the_cache_ttl(
    runtime: Runtime,
) -> None:
    """``chargeledger api-keys revoke`` (another process, here the service it calls) cannot
    reach the server's cache of authenticated keys: the key is refused once its entry is
    older than the cache's TTL, and from then on every request reads the key again."""
    now = [0.0]
    app = create_app(runtime, migrate=False)
    app.state.api_key_cache = ApiKeyCache(ttl_seconds=5, monotonic=lambda: now[0])
    key, secret = await in_transaction(
        runtime.uow, identity.create_api_key, runtime.clock, name="hub", scopes=[Scope.CATALOG_READ]
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        headers = {"X-API-Key": secret}
        assert (await client.get(f"{API}/sites", headers=headers)).status_code == 200

        await in_transaction(runtime.uow, identity.revoke_api_key, runtime.clock, key.id)
        now[0] = 4.9  # still within the TTL of the entry the first request made
        assert (await client.get(f"{API}/sites", headers=headers)).status_code == 200
        now[0] = 5.0
        for _ in range(2):
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
