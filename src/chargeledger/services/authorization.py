"""Authorize: may this token charge here now? (OCPP 1.6 §4.2 Authorize, 2.0.1 C01)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chargeledger.domain.accounts import Account, BillingMode, Token, TokenStatus
from chargeledger.services.ports import Clock, UnitOfWork


class AuthorizationStatus(StrEnum):
    """The values both protocol versions share (1.6 AuthorizationStatus, 2.0.1
    AuthorizationStatusEnumType); 2.0.1's NoCredit is what a prepaid refusal becomes."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    NO_CREDIT = "NoCredit"


@dataclass(frozen=True, slots=True)
class Authorization:
    status: AuthorizationStatus
    token: Token | None = None
    account: Account | None = None
    expires_at: datetime | None = None

    @property
    def accepted(self) -> bool:
        return self.status is AuthorizationStatus.ACCEPTED


# The wallet check of prepaid accounts: the payments issue plugs a real one in. Until wallets
# exist every prepaid account is allowed (issue 3: "leave the hook for it").
CreditCheck = Callable[[Account], Awaitable[bool]]


async def always_enough_credit(account: Account) -> bool:
    return True


async def authorize_token(
    uow: UnitOfWork,
    clock: Clock,
    id_tag: str,
    credit_check: CreditCheck = always_enough_credit,
) -> Authorization:
    """Unknown tokens are Invalid; blocked and expired ones say so; a prepaid account below
    its minimum balance gets NoCredit."""
    token = await uow.tokens.get_by_uid(id_tag.upper()) if id_tag else None
    if token is None:
        return Authorization(AuthorizationStatus.INVALID)
    status = token.status_at(clock.now())
    if status is TokenStatus.BLOCKED:
        return Authorization(AuthorizationStatus.BLOCKED, token)
    if status is TokenStatus.EXPIRED:
        return Authorization(AuthorizationStatus.EXPIRED, token, expires_at=token.expires_at)
    account = await uow.accounts.get(token.account_id)
    if account is None:
        return Authorization(AuthorizationStatus.INVALID, token)
    if account.billing_mode is BillingMode.PREPAID and not await credit_check(account):
        return Authorization(AuthorizationStatus.NO_CREDIT, token, account)
    return Authorization(AuthorizationStatus.ACCEPTED, token, account, token.expires_at)
