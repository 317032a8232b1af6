"""``/api/v1/auth/token`` (OAuth2 password flow), ``/me``, users and API keys."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from chargeledger.api.auth import issue_access_token
from chargeledger.api.deps import RuntimeDep, UowDep
from chargeledger.api.routers.access import AdminOnly, AnyPerson
from chargeledger.api.schemas.common import ERROR_RESPONSES, Limit, Offset, PageOut
from chargeledger.api.schemas.identity import (
    AccessTokenOut,
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyOut,
    MeOut,
    UserIn,
    UserOut,
    UserPatch,
)
from chargeledger.services import identity

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


@router.post("/auth/token", tags=["auth"], summary="Log in (OAuth2 password flow)")
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], uow: UowDep, rt: RuntimeDep
) -> AccessTokenOut:
    user = await identity.authenticate_user(uow, rt.hasher, form.username, form.password)
    token, lifetime = issue_access_token(rt, user)
    return AccessTokenOut(access_token=token, expires_in=lifetime)


@router.get("/me", tags=["auth"], summary="Who am I")
async def me(principal: AnyPerson) -> MeOut:
    return MeOut.of(principal)


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
async def create_user(body: UserIn, _: AdminOnly, uow: UowDep, rt: RuntimeDep) -> UserOut:
    user = await identity.create_user(
        uow,
        rt.clock,
        rt.hasher,
        email=body.email,
        password=body.password,
        role=body.role,
        account_id=body.account_id,
        name=body.name,
    )
    return UserOut.of(user)


@router.patch("/users/{user_id}", tags=["users"], summary="Activate or deactivate a user")
async def update_user(
    user_id: uuid.UUID, body: UserPatch, _: AdminOnly, uow: UowDep, rt: RuntimeDep
) -> UserOut:
    return UserOut.of(await identity.set_user_active(uow, rt.clock, user_id, body.active))


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
async def create_api_key(
    body: ApiKeyIn, _: AdminOnly, uow: UowDep, rt: RuntimeDep
) -> ApiKeyCreatedOut:
    key, secret = await identity.create_api_key(uow, rt.clock, name=body.name, scopes=body.scopes)
    return ApiKeyCreatedOut(**ApiKeyOut.of(key).model_dump(), key=secret)


@router.delete("/api-keys/{key_id}", tags=["api keys"], summary="Revoke an API key")
async def revoke_api_key(key_id: uuid.UUID, _: AdminOnly, uow: UowDep, rt: RuntimeDep) -> ApiKeyOut:
    return ApiKeyOut.of(await identity.revoke_api_key(uow, rt.clock, key_id))
