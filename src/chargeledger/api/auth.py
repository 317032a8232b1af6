"""Authentication (OAuth2 password flow → JWT, API keys) and per-route role declarations.

DESIGN §6: deny by default. Every route under ``/api/v1`` must depend on ``allow(...)``;
``assert_every_route_declares_roles`` refuses to start an app where one does not.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute

from chargeledger.api.api_key_cache import ApiKeyCache, digest
from chargeledger.api.deps import ReadUowDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Principal, Role, Scope, User
from chargeledger.errors import AuthenticationError, PermissionDeniedError
from chargeledger.services import identity
from chargeledger.services.ports import UnitOfWork

TOKEN_URL = "/api/v1/auth/token"
ISSUER = "chargeledger"
ALGORITHM = "HS256"
PUBLIC_PATHS = frozenset({TOKEN_URL})

# The two ways to authenticate, as the OpenAPI document declares them (``document_security``).
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "OAuth2PasswordBearer": {
        "type": "oauth2",
        "flows": {"password": {"scopes": {}, "tokenUrl": TOKEN_URL}},
    },
    "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def issue_access_token(runtime: Runtime, user: User) -> tuple[str, int]:
    """A signed JWT for ``user``; returns the token and its lifetime in seconds."""
    now = runtime.clock.now()
    lifetime = timedelta(minutes=runtime.settings.access_token_minutes)
    claims = {
        "iss": ISSUER,
        "sub": str(user.id),
        # The token's own id: the back office derives its CSRF token from it (office/session).
        "jti": uuid.uuid4().hex,
        "role": user.role.value,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, runtime.jwt_secret, algorithm=ALGORITHM), int(
        lifetime.total_seconds()
    )


def access_token_claims(runtime: Runtime, token: str) -> dict[str, Any]:
    """The verified claims of an access token (signature, issuer, expiry, a user id)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            runtime.jwt_secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss"]},
        )
        uuid.UUID(str(claims["sub"]))
    except (jwt.PyJWTError, ValueError) as exc:
        raise AuthenticationError("invalid or expired access token", code="invalid_token") from exc
    return claims


async def principal_from_jwt(runtime: Runtime, uow: UnitOfWork, token: str) -> Principal:
    """The principal of an access token, read from the user now (shared by the bearer token of
    the API and the session cookie of the back office): a deactivated user or a changed role
    takes effect at once."""
    claims = access_token_claims(runtime, token)
    return await identity.principal_of_user(uow, uuid.UUID(str(claims["sub"])))


def api_key_cache(request: Request) -> ApiKeyCache:
    """The app's cache of authenticated API keys (``api_key_cache.py``), made on first use."""
    state = request.app.state
    cache: ApiKeyCache | None = getattr(state, "api_key_cache", None)
    if cache is None:
        cache = state.api_key_cache = ApiKeyCache()
    return cache


async def principal_of_api_key(cache: ApiKeyCache, uow: UnitOfWork, presented: str) -> Principal:
    """The key's principal from the cache, else from the database (then remembered)."""
    key_digest = digest(presented)
    principal = cache.get(key_digest)
    if principal is None:
        generation = cache.generation
        principal = await identity.authenticate_api_key(uow, presented)
        cache.put(key_digest, principal, generation=generation)
    return principal


def presented_credentials(request: Request) -> tuple[str | None, str | None]:
    """The ``X-API-Key`` header and the ``Authorization: Bearer`` token, each None if absent
    or empty: what ``APIKeyHeader`` and ``OAuth2PasswordBearer`` read, read here without
    running them as dependencies, two of the four that made authentication cost more than a
    sessions page's database read (issue 17). The API docs still declare both schemes
    (:func:`document_security`)."""
    headers = request.headers
    authorization = headers.get("authorization")
    bearer = None
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token:
            bearer = token
    return headers.get("x-api-key") or None, bearer


async def current_principal(request: Request, uow: ReadUowDep) -> Principal:
    """The caller, from ``X-API-Key`` or a Bearer token (a JWT or an API key).

    A look-up is its own read-only transaction (issue 17): it ends here, so a route that then
    waits on something else (a station's answer) holds no transaction meanwhile, and on SQLite
    it does not queue behind the writers. A user is read on every request, so a deactivated
    user or a changed role is refused from the first request that starts after the change's
    commit. An API key is answered from a cache for a few seconds (``api_key_cache.py``: a
    key revoked through this API is refused at once, one revoked by another process within
    the cache's TTL).
    """
    api_key, bearer = presented_credentials(request)
    try:
        if api_key:
            return await principal_of_api_key(api_key_cache(request), uow, api_key)
        if bearer:
            if bearer.startswith(identity.API_KEY_PREFIX + "_"):
                return await principal_of_api_key(api_key_cache(request), uow, bearer)
            runtime: Runtime = request.app.state.runtime
            return await principal_from_jwt(runtime, uow, bearer)
        raise AuthenticationError("authentication required", code="not_authenticated")
    finally:
        await uow.rollback()


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def allow(*roles: Role, scope: Scope | None = None) -> Callable[..., Awaitable[Principal]]:
    """Declare who may call a route: these roles, and API keys holding ``scope``.

    ``admin`` is always allowed. The returned dependency carries the declaration so that the
    app (and the route × role test) can read it back.
    """
    allowed = frozenset(roles) | {Role.ADMIN}

    async def guard(principal: PrincipalDep) -> Principal:
        if principal.role is Role.INTEGRATION:
            if scope is None or scope not in principal.scopes:
                raise PermissionDeniedError(
                    "this API key lacks the scope for this route", code="insufficient_scope"
                )
            return principal
        if principal.role not in allowed:
            raise PermissionDeniedError(
                f"role {principal.role.value} may not do this", code="permission_denied"
            )
        return principal

    guard.allowed_roles = allowed  # type: ignore[attr-defined]
    guard.allowed_scope = scope  # type: ignore[attr-defined]
    return guard


def declared_access(route: APIRoute) -> tuple[frozenset[Role], Scope | None] | None:
    """The roles and scope a route declared through ``allow``, or None if it declared none."""
    for dependency in route.dependant.dependencies:
        call: Any = dependency.call
        if hasattr(call, "allowed_roles"):
            return call.allowed_roles, call.allowed_scope
    return None


def api_routes(routers: Iterable[APIRouter]) -> list[APIRoute]:
    """Every route of the given routers (their prefixes are part of each route's path)."""
    return [r for router in routers for r in router.routes if isinstance(r, APIRoute)]


def assert_every_route_declares_roles(routers: Iterable[APIRouter]) -> None:
    missing = [
        f"{sorted(r.methods or ())} {r.path}"
        for r in api_routes(routers)
        if r.path not in PUBLIC_PATHS and declared_access(r) is None
    ]
    if missing:
        raise RuntimeError(f"routes without a role declaration: {', '.join(missing)}")


def document_security(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Declare in the app's OpenAPI document that every route with a role declaration takes
    a Bearer token or an API key, as the security dependencies did when authentication ran
    them (:func:`presented_credentials`): the docs' Authorize button and generated clients
    rely on it."""
    secured = {
        (method.lower(), route.path)
        for route in api_routes(routers)
        if declared_access(route) is not None
        for method in route.methods or ()
    }
    schema_of_app = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = schema_of_app()
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if (method, path) in secured:
                    operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
