"""``/api/v1/accounts``: customers. Drivers and fleet managers see only their own."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, status

from chargeledger.api.deps import RuntimeDep, UowDep
from chargeledger.api.routers.access import ReadCustomers, WriteAccounts
from chargeledger.api.schemas.common import ERROR_RESPONSES, Limit, Offset, PageOut
from chargeledger.api.schemas.customers import AccountIn, AccountOut, AccountPatch
from chargeledger.domain.accounts import Account, AccountKind
from chargeledger.money import Currency
from chargeledger.services import customers
from chargeledger.services.transactions import in_transaction

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"], responses=ERROR_RESPONSES)


@router.get("", summary="List accounts")
async def list_accounts(
    principal: ReadCustomers,
    uow: UowDep,
    kind: AccountKind | None = None,
    q: str | None = Query(None, description="search name, e-mail or reference"),
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[AccountOut]:
    page = await customers.list_accounts(
        uow, principal, kind=kind, search=q, limit=limit, offset=offset
    )
    return PageOut(items=[AccountOut.of(a) for a in page.items], next_offset=page.next_offset)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Open an account")
async def create_account(body: AccountIn, _: WriteAccounts, rt: RuntimeDep) -> AccountOut:
    account = Account(
        kind=body.kind,
        name=body.name,
        email=body.email,
        billing_address=body.billing_address.to_domain(),
        currency=Currency.of(body.currency),
        vat_id=body.vat_id,
        payment_terms_days=body.payment_terms_days,
        billing_mode=body.billing_mode,
        billing_cycle=body.billing_cycle,
        reference=body.reference,
    )
    return AccountOut.of(
        await in_transaction(rt.uow, customers.create_account, rt.clock, rt.vat_ids, account)
    )


@router.get("/{account_id}", summary="Show an account")
async def get_account(account_id: uuid.UUID, principal: ReadCustomers, uow: UowDep) -> AccountOut:
    return AccountOut.of(await customers.get_account(uow, principal, account_id))


@router.patch("/{account_id}", summary="Change an account (the currency is fixed)")
async def update_account(
    account_id: uuid.UUID,
    body: AccountPatch,
    principal: WriteAccounts,
    rt: RuntimeDep,
) -> AccountOut:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if body.billing_address is not None:
        changes["billing_address"] = body.billing_address.to_domain()
    account = await in_transaction(
        rt.uow, customers.update_account, rt.clock, rt.vat_ids, principal, account_id, changes
    )
    return AccountOut.of(account)


@router.delete(
    "/{account_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Close an unused account"
)
async def delete_account(account_id: uuid.UUID, principal: WriteAccounts, rt: RuntimeDep) -> None:
    await in_transaction(rt.uow, customers.delete_account, principal, account_id)
