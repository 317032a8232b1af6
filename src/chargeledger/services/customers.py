"""Use cases of customer accounts and their tokens, scoped to what the principal may see.

DESIGN §6: deny by default. Account-bound principals (drivers, fleet managers) are told
"not found" for other accounts' data, so they cannot even learn that it exists.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any

from chargeledger.domain.accounts import Account, AccountKind, Token, TokenStatus, TokenType
from chargeledger.domain.identity import Principal
from chargeledger.errors import (
    ConflictError,
    DuplicateError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from chargeledger.services.common import apply_changes, page_bounds
from chargeledger.services.paging import Page
from chargeledger.services.ports import Clock, UnitOfWork, VatIdChecker

ACCOUNT_FIELDS = frozenset(
    {
        "name",
        "email",
        "billing_address",
        "vat_id",
        "payment_terms_days",
        "billing_mode",
        "billing_cycle",
        "reference",
        "kind",
    }
)
TOKEN_FIELDS = frozenset({"status", "expires_at", "label", "account_id"})


def _account_not_found(account_id: uuid.UUID) -> NotFoundError:
    return NotFoundError(f"account {account_id} not found", code="account_not_found")


# --- accounts ----------------------------------------------------------------------------


def _checked_vat_id(account: Account, vat_ids: VatIdChecker) -> Account:
    """The account with its VAT id in compact form; ``invalid_vat_id`` when it is not one."""
    if account.vat_id is None:
        return account
    country = account.billing_address.country
    return dataclasses.replace(account, vat_id=vat_ids.normalise(account.vat_id, country))


async def create_account(
    uow: UnitOfWork, clock: Clock, vat_ids: VatIdChecker, account: Account
) -> Account:
    now = clock.now()
    stored = dataclasses.replace(_checked_vat_id(account, vat_ids), created_at=now, updated_at=now)
    await uow.accounts.add(stored)
    return stored


async def get_account(uow: UnitOfWork, principal: Principal, account_id: uuid.UUID) -> Account:
    if not principal.may_see_account(account_id):
        raise _account_not_found(account_id)
    account = await uow.accounts.get(account_id)
    if account is None:
        raise _account_not_found(account_id)
    return account


async def list_accounts(
    uow: UnitOfWork,
    principal: Principal,
    *,
    kind: AccountKind | None = None,
    search: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[Account]:
    limit, offset = page_bounds(limit, offset)
    only_id = principal.account_id if principal.is_account_bound else None
    return await uow.accounts.list(
        kind=kind, only_id=only_id, search=search, limit=limit, offset=offset
    )


async def all_accounts(uow: UnitOfWork) -> list[Account]:
    """The first 10 000 accounts, unpaged (the demo operator's fifty)."""
    page = await uow.accounts.list(kind=None, only_id=None, search=None, limit=10_000, offset=0)
    return list(page.items)


async def update_account(
    uow: UnitOfWork,
    clock: Clock,
    vat_ids: VatIdChecker,
    principal: Principal,
    account_id: uuid.UUID,
    changes: Mapping[str, Any],
) -> Account:
    """Change an account. The currency is fixed: money already booked is in that currency.
    The VAT id is checked again (against the new billing country, if that changed)."""
    current = await get_account(uow, principal, account_id)
    account = _checked_vat_id(apply_changes(current, changes, ACCOUNT_FIELDS), vat_ids)
    account = dataclasses.replace(account, updated_at=clock.now())
    await uow.accounts.update(account)
    return account


async def delete_account(uow: UnitOfWork, principal: Principal, account_id: uuid.UUID) -> None:
    await get_account(uow, principal, account_id)
    if await uow.tokens.exists_for_account(account_id):
        raise ConflictError("the account still has tokens", code="account_has_tokens")
    if await uow.users.exists_for_account(account_id):
        raise ConflictError("the account still has users", code="account_has_users")
    await uow.accounts.delete(account_id)


# --- tokens ------------------------------------------------------------------------------


async def _require_account(uow: UnitOfWork, account_id: uuid.UUID) -> None:
    if await uow.accounts.get(account_id) is None:
        raise InvalidInputError(
            f"account {account_id} does not exist", code="unknown_account", field="account_id"
        )


async def create_token(uow: UnitOfWork, clock: Clock, token: Token) -> Token:
    await _require_account(uow, token.account_id)
    if await uow.tokens.get_by_uid(token.uid) is not None:
        raise DuplicateError(
            f"token uid {token.uid!r} is already issued",
            code="duplicate_token_uid",
            field="uid",
        )
    now = clock.now()
    stored = dataclasses.replace(token, created_at=now, updated_at=now)
    await uow.tokens.add(stored)
    return stored


async def app_token_accounts(uow: UnitOfWork) -> set[uuid.UUID]:
    """The accounts with an app token among the first 10 000 tokens (the demo's app users)."""
    page = await uow.tokens.list(account_id=None, status=None, limit=10_000, offset=0)
    return {t.account_id for t in page.items if t.type is TokenType.APP}


async def get_token(uow: UnitOfWork, principal: Principal, token_id: uuid.UUID) -> Token:
    token = await uow.tokens.get(token_id)
    if token is None or not principal.may_see_account(token.account_id):
        raise NotFoundError(f"token {token_id} not found", code="token_not_found")
    return token


async def list_tokens(
    uow: UnitOfWork,
    principal: Principal,
    *,
    account_id: uuid.UUID | None = None,
    status: TokenStatus | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[Token]:
    limit, offset = page_bounds(limit, offset)
    if principal.is_account_bound:
        if account_id is not None and account_id != principal.account_id:
            return Page(items=[], next_offset=None)
        account_id = principal.account_id
    return await uow.tokens.list(account_id=account_id, status=status, limit=limit, offset=offset)


async def update_token(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    token_id: uuid.UUID,
    changes: Mapping[str, Any],
) -> Token:
    """Change a token. Account-bound principals may only block their own (a lost card)."""
    current = await get_token(uow, principal, token_id)
    if principal.is_account_bound and (
        set(changes) != {"status"} or changes["status"] != TokenStatus.BLOCKED
    ):
        raise PermissionDeniedError(
            "drivers and fleet managers may only block a token", code="permission_denied"
        )
    token = apply_changes(current, changes, TOKEN_FIELDS)
    if "account_id" in changes:
        await _require_account(uow, token.account_id)
    token = dataclasses.replace(token, updated_at=clock.now())
    await uow.tokens.update(token)
    return token


async def delete_token(uow: UnitOfWork, principal: Principal, token_id: uuid.UUID) -> None:
    await get_token(uow, principal, token_id)
    await uow.tokens.delete(token_id)
