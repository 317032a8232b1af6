"""``/api/v1/tokens``: RFID cards and app ids. A driver may block their own lost card."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, status

from chargeledger.api.deps import RuntimeDep, UowDep
from chargeledger.api.routers.access import BlockTokens, ReadCustomers, WriteTokens
from chargeledger.api.schemas.common import ERROR_RESPONSES, Limit, Offset, PageOut
from chargeledger.api.schemas.customers import TokenIn, TokenOut, TokenPatch
from chargeledger.domain.accounts import Token, TokenStatus
from chargeledger.services import customers
from chargeledger.services.transactions import in_transaction

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], responses=ERROR_RESPONSES)


@router.get("", summary="List tokens")
async def list_tokens(
    principal: ReadCustomers,
    uow: UowDep,
    rt: RuntimeDep,
    account_id: uuid.UUID | None = None,
    token_status: TokenStatus | None = Query(None, alias="status"),
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[TokenOut]:
    page = await customers.list_tokens(
        uow, principal, account_id=account_id, status=token_status, limit=limit, offset=offset
    )
    now = rt.clock.now()
    return PageOut(items=[TokenOut.of(t, now) for t in page.items], next_offset=page.next_offset)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Issue a token")
async def create_token(body: TokenIn, _: WriteTokens, rt: RuntimeDep) -> TokenOut:
    token = Token(
        uid=body.uid,
        type=body.type,
        account_id=body.account_id,
        status=body.status,
        expires_at=body.expires_at,
        label=body.label,
    )
    created = await in_transaction(rt.uow, customers.create_token, rt.clock, token)
    return TokenOut.of(created, rt.clock.now())


@router.get("/{token_id}", summary="Show a token")
async def get_token(
    token_id: uuid.UUID, principal: ReadCustomers, uow: UowDep, rt: RuntimeDep
) -> TokenOut:
    return TokenOut.of(await customers.get_token(uow, principal, token_id), rt.clock.now())


@router.patch(
    "/{token_id}",
    summary="Change a token (drivers and fleet managers may only block their own)",
)
async def update_token(
    token_id: uuid.UUID, body: TokenPatch, principal: BlockTokens, rt: RuntimeDep
) -> TokenOut:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    token = await in_transaction(
        rt.uow, customers.update_token, rt.clock, principal, token_id, changes
    )
    return TokenOut.of(token, rt.clock.now())


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a token")
async def delete_token(token_id: uuid.UUID, principal: WriteTokens, rt: RuntimeDep) -> None:
    await in_transaction(rt.uow, customers.delete_token, principal, token_id)
