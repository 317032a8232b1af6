"""``/api/v1/auth/token`` (OAuth2 password flow), ``/me``, users and API keys."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from chargeledger.api.auth import api_key_cache, issue_access_token
from chargeledger.api.deps import RuntimeDep, UowDep
from chargeledger.api.routers.access import AdminOnly, AnyPerson
from chargeledger.api.schemas.common import ERROR_RESPONSES, ErrorOut, Limit, Offset, PageOut
from chargeledger.api.schemas.identity import (
    AccessTokenOut,
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyOut,
    MeOut,
    PasswordChangeIn,
    UserIn,
    UserOut,
    UserPatch,
)
from chargeledger.services import identity
from chargeledger.services.transactions import in_transaction

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorOut, "description": "too_many_attempts, with Retry-After (seconds)"},
    503: {"model": ErrorOut, "description": "authentication_busy, with Retry-After"},
}


def client_host(request: Request) -> str | None:
    """The caller's address as the server saw it (behind a reverse proxy, run uvicorn with
    ``--proxy-headers --forwarded-allow-ips`` so this is the client, not the proxy)."""
    return request.client.host if request.client else None


@router.post(
    "/auth/token",
    tags=["auth"],
    summary="Log in (OAuth2 password flow); throttled per user and per address",
    responses=THROTTLED,
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, rt: RuntimeDep
) -> AccessTokenOut:
    user = await identity.authenticate_user(
        rt.uow, rt.hasher, rt.logins, form.username, form.password, client_host(request)
    )
    token, lifetime = issue_access_token(rt, user)
    return AccessTokenOut(access_token=token, expires_in=lifetime)


@router.get("/me", tags=["auth"], summary="Who am I")
async def me(principal: AnyPerson) -> MeOut:
    return MeOut.of(principal)


@router.post(
    "/me/password",
    tags=["auth"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change my password (the current one is checked and throttled like a login)",
    responses=THROTTLED,
)
async def change_my_password(
    body: PasswordChangeIn, principal: AnyPerson, request: Request, rt: RuntimeDep
) -> None:
    await identity.change_own_password(
        rt.uow,
        rt.clock,
        rt.hasher,
        rt.logins,
        identity.user_id_of(principal),
        current_password=body.current_password,
        new_password=body.new_password,
        client_host=client_host(request),
    )


@router.get("/users", tags=["users"], summary="List users")
async def list_users(
    _: AdminOnly,
    uow: UowDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[UserOut]:
    page = await identity.list_users(uow, limit=limit, offset=offset)
    return PageOut(items=[UserOut.of(u) for u in page.items], next_offset=page.next_offset)


@router.post("/users", tags=["users"], status_code=status.HTTP_201_CREATED, summary="Add a user")
async def create_user(body: UserIn, _: AdminOnly, rt: RuntimeDep) -> UserOut:
    user = await in_transaction(
        rt.uow,
        identity.create_user,
        rt.clock,
        rt.hasher,
        email=body.email,
        password=body.password,
        role=body.role,
        account_id=body.account_id,
        name=body.name,
    )
    return UserOut.of(user)


@router.patch(
    "/users/{user_id}",
    tags=["users"],
    summary="Activate, deactivate, rename, change the role or set a new password of a user "
    "(the last active admin stays: 409 last_active_admin)",
)
async def update_user(user_id: uuid.UUID, body: UserPatch, _: AdminOnly, rt: RuntimeDep) -> UserOut:
    changes = body.model_dump(exclude_unset=True, exclude={"password"})
    user = await in_transaction(
        rt.uow, identity.update_user, rt.clock, rt.hasher, user_id, changes, password=body.password
    )
    return UserOut.of(user)


@router.get("/api-keys", tags=["api keys"], summary="List API keys")
async def list_api_keys(
    _: AdminOnly,
    uow: UowDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[ApiKeyOut]:
    page = await identity.list_api_keys(uow, limit=limit, offset=offset)
    return PageOut(items=[ApiKeyOut.of(k) for k in page.items], next_offset=page.next_offset)


@router.post(
    "/api-keys",
    tags=["api keys"],
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (the key is shown only in this answer)",
)
async def create_api_key(body: ApiKeyIn, _: AdminOnly, rt: RuntimeDep) -> ApiKeyCreatedOut:
    key, secret = await in_transaction(
        rt.uow, identity.create_api_key, rt.clock, name=body.name, scopes=body.scopes
    )
    return ApiKeyCreatedOut(**ApiKeyOut.of(key).model_dump(), key=secret)


@router.delete("/api-keys/{key_id}", tags=["api keys"], summary="Revoke an API key")
async def revoke_api_key(
    key_id: uuid.UUID, _: AdminOnly, rt: RuntimeDep, request: Request
) -> ApiKeyOut:
    # After the commit the key leaves this process's cache of authenticated keys, so it is
    # refused from the next request on (api/api_key_cache.py).
    key = await in_transaction(rt.uow, identity.revoke_api_key, rt.clock, key_id)
    api_key_cache(request).forget(identity.api_key_subject(key.id))
    return ApiKeyOut.of(key)
