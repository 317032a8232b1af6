"""Authorize: may this token charge here now? (OCPP 1.6 §4.2 Authorize, 2.0.1 C01).

A token is Blocked when it is (a person blocked it: a lost card) or when its account is
blocked by dunning (issue 13): an invoice of the account reached the schedule's blocking
level and is still open and undisputed (``domain.dunning.blocks_account``). The dunning
block is derived at every Authorize, never written onto the tokens, so paying, crediting or
writing off the invoice lifts it at once, and it never undoes or hides a person's block. A
postpaid account whose contract's credit limit is reached gets NoCredit
(``services.contracts.credit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from chargeledger.domain.accounts import Account, BillingMode, IssuerCheck, Token, TokenStatus
from chargeledger.domain.dunning import blocks_account
from chargeledger.domain.issuer_answers import ANSWER_DECIDES_FOR, Allowed, issuer_verdict
from chargeledger.services.contracts.credit import over_credit_limit
from chargeledger.services.payments.checkout import authorised_checkout
from chargeledger.services.payments.wallets import wallet_allows
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


async def authorize_token(
    uow: UnitOfWork, clock: Clock, id_tag: str, *, wallet_floor: Decimal
) -> Authorization:
    """Unknown tokens are Invalid, unless they are the idTag of a QR checkout whose hold
    stands; blocked and expired ones say so; a prepaid account below its wallet's effective
    minimum (the higher of the operator's floor — ``wallet_floor`` unless the account has
    its own — and the driver's own minimum) gets NoCredit."""
    token = await uow.tokens.get_by_uid(id_tag.upper()) if id_tag else None
    if token is None:
        if id_tag and await authorised_checkout(uow, id_tag.upper()) is not None:
            return Authorization(AuthorizationStatus.ACCEPTED)
        return Authorization(AuthorizationStatus.INVALID)
    status = token.status_at(clock.now())
    if status is TokenStatus.BLOCKED:
        return Authorization(AuthorizationStatus.BLOCKED, token)
    if status is TokenStatus.EXPIRED:
        return Authorization(AuthorizationStatus.EXPIRED, token, expires_at=token.expires_at)
    if token.issuer_check is not None:
        refusal = await _issuer_refusal(uow, token, clock.now())
        if refusal is not None:
            return Authorization(refusal, token)
    account = await uow.accounts.get(token.account_id)
    if account is None:
        return Authorization(AuthorizationStatus.INVALID, token)
    if await blocked_by_dunning(uow, account):
        return Authorization(AuthorizationStatus.BLOCKED, token, account)
    if account.billing_mode is BillingMode.PREPAID and not await wallet_allows(
        uow, account, wallet_floor
    ):
        return Authorization(AuthorizationStatus.NO_CREDIT, token, account)
    if account.billing_mode is BillingMode.POSTPAID and await over_credit_limit(
        uow, account, clock.now().date()
    ):
        return Authorization(AuthorizationStatus.NO_CREDIT, token, account)
    return Authorization(AuthorizationStatus.ACCEPTED, token, account, token.expires_at)


async def blocked_by_dunning(uow: UnitOfWork, account: Account) -> bool:
    """Whether dunning blocks ``account``'s tokens now (module docstring): one indexed
    query for accounts never dunned to the blocking level, two otherwise."""
    histories = await uow.dunning.blocking(account.id)
    if not histories:
        return False
    still_open = {item.invoice_id for item in await uow.billing.open_invoices(account.id)}
    return blocks_account(histories, still_open)


_ISSUER_REFUSALS = {
    Allowed.BLOCKED: AuthorizationStatus.BLOCKED,
    Allowed.EXPIRED: AuthorizationStatus.EXPIRED,
    Allowed.NO_CREDIT: AuthorizationStatus.NO_CREDIT,
}


async def _issuer_refusal(
    uow: UnitOfWork, token: Token, now: datetime
) -> AuthorizationStatus | None:
    """A roaming token whose eMSP is asked at each use (OCPI 2.2.1 §12.2.1.2): the answer the
    station edge got just before this message (``services.roaming.realtime``) decides; None
    when it allows. NOT_ALLOWED (not here) and no answer for a NEVER token are Invalid."""
    answer = await uow.roaming.latest_answer(token.uid, now - ANSWER_DECIDES_FOR, now)
    verdict = issuer_verdict(answer, token.issuer_check is IssuerCheck.REQUIRED)
    if verdict is Allowed.ALLOWED:
        return None
    if verdict is None:
        return AuthorizationStatus.INVALID
    return _ISSUER_REFUSALS.get(verdict, AuthorizationStatus.INVALID)
