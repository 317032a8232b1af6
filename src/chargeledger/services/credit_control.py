"""Live credit control: a running session paid by a prepaid wallet is watched on every meter
value, as a card hold is (``session_payments.watch_hold``), and stopped over OCPP before the
wallet crosses its minimum (issue 11 item 11; the rule and its guarantee: ``domain.wallets``).

* **Watched** at the start (a station that started despite NoCredit, or offline, is stopped at
  once when the wallet is already at its minimum) and on every meter value (1.6 MeterValues,
  2.0.1 TransactionEvent Updated and MeterValues) of a running wallet session.
* **Auto top-up counts only once it is paid**: when the next meter value would cross the
  minimum and the account has auto top-up with a card, one top-up of its amount is charged
  there and then; money the PSP declined, or has not confirmed, counts for nothing, and the
  session is stopped.
* **Stopped once**: the stop (1.6 RemoteStopTransaction §5.12, 2.0.1 RequestStopTransaction
  F03) is claimed in the database before it is sent, so concurrent watches and every later
  meter value send nothing more; it is sent again only when the station refused it, could
  not be reached, or gave no answer within ``STOP_RETRY_AFTER``.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from chargeledger.domain.accounts import Account, BillingMode, TokenType
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.payments import PaymentStatus, StoredCard
from chargeledger.domain.station_link import CommandKind, SessionFilter, StationCommand
from chargeledger.domain.wallets import CreditCheck, StopReason, WalletSettings
from chargeledger.errors import ChargeledgerError
from chargeledger.services.payment_methods import HELD, default_card, payment_to_follow
from chargeledger.services.payment_operations import PaymentContext
from chargeledger.services.ports import UnitOfWork
from chargeledger.services.session_payments import watch_hold
from chargeledger.services.session_pricing import cost_outlook
from chargeledger.services.station_commands import send_command
from chargeledger.services.wallets import (
    TOP_UP_NAMESPACE,
    top_up,
    wallet_balance,
    wallet_settings,
)

log = logging.getLogger(__name__)
STOP_RETRY_AFTER = timedelta(minutes=2)  # longer than the command bus waits for an answer
OTHER_SESSIONS_SEEN = 20  # running sessions of one wallet counted against its credit
Watch = Callable[[PaymentContext, uuid.UUID], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Wallet:
    session: Session
    account: Account
    settings: WalletSettings
    check: CreditCheck
    card: StoredCard | None
    stop_asked: bool


async def live_watch(uow: UnitOfWork, session: Session) -> Watch | None:
    """What to run after a meter value of ``session``: the card hold's watch, the wallet's,
    or nothing. Asked on every meter value, so a postpaid RFID session costs one account and
    one token lookup (the rules of ``payment_methods.how_session_pays``)."""
    if session.account_id is None:
        return watch_hold if await payment_to_follow(uow, session) in HELD else None
    account = await uow.accounts.get(session.account_id)
    if account is None:
        return None
    if account.billing_mode is BillingMode.PREPAID:
        return watch_wallet
    token = await uow.tokens.get_by_uid(session.id_tag) if session.id_tag else None
    if token is None or token.type is not TokenType.APP:
        return None
    return watch_hold if await default_card(uow, account) is not None else None


async def watch_wallet(ctx: PaymentContext, session_id: uuid.UUID) -> None:
    """Hold a running wallet session to its wallet's credit (see the module docstring)."""
    wallet = await _look(ctx, session_id)
    if wallet is None or wallet.check.affordable:
        return
    may_top_up = wallet.settings.auto_top_up and not wallet.stop_asked
    if may_top_up and wallet.card is not None and await _top_up_now(ctx, wallet, wallet.card):
        wallet = await _look(ctx, session_id)
        if wallet is None or wallet.check.affordable:
            return
    await stop_once(ctx, wallet.session, StopReason.WALLET_CREDIT, wallet.check.explain())


async def _look(ctx: PaymentContext, session_id: uuid.UUID) -> _Wallet | None:
    async with ctx.uow() as uow:
        session = await uow.sessions.get(session_id)
        if session is None or not session.is_open or session.account_id is None:
            return None
        account = await uow.accounts.get(session.account_id)
        if account is None or account.billing_mode is not BillingMode.PREPAID:
            return None
        try:
            live, ahead = await cost_outlook(uow, session)
            committed = await _other_sessions(uow, session)
        except ChargeledgerError:
            log.warning("cannot price a wallet session", extra={"session": str(session.id)})
            return None
        settings = await wallet_settings(uow, account)
        check = CreditCheck(
            balance=await wallet_balance(uow, account.id),
            minimum=settings.effective_minimum(ctx.wallet_floor),
            committed=committed,
            live=live,
            ahead=ahead,
        )
        card = await default_card(uow, account) if settings.auto_top_up else None
        stop_asked = await uow.payments.stop_request(session.id) is not None
    return _Wallet(session, account, settings, check, card, stop_asked)


async def _other_sessions(uow: UnitOfWork, session: Session) -> Decimal:
    """What the account's other running sessions will have cost by their next meter value."""
    criteria = SessionFilter(account_id=session.account_id, status=SessionStatus.ACTIVE)
    page = await uow.sessions.search(criteria, limit=OTHER_SESSIONS_SEEN, offset=0)
    total = Decimal(0)
    for other in page.items:
        if other.id != session.id:
            total += (await cost_outlook(uow, other))[1]
    return total


async def _top_up_now(ctx: PaymentContext, wallet: _Wallet, card: StoredCard) -> bool:
    """One auto top-up for this session's next step; True once the PSP has taken the money.
    Its id is made from the session and the step, so concurrent watches charge it once."""
    account, session = wallet.account, wallet.session
    async with ctx.uow() as uow:
        payment_id = await _next_top_up(uow, account.id, session.id)
    try:
        _, status = await top_up(ctx, account, wallet.settings.top_up_amount, card, payment_id)
    except ChargeledgerError:
        log.warning("auto top-up failed", exc_info=True, extra={"session": str(session.id)})
        return False
    return status is PaymentStatus.CAPTURED


async def _next_top_up(uow: UnitOfWork, account_id: uuid.UUID, session_id: uuid.UUID) -> uuid.UUID:
    for step in itertools.count(1):
        payment_id = uuid.uuid5(TOP_UP_NAMESPACE, f"{account_id}:{session_id}:live:{step}")
        if await uow.payments.get(payment_id) is None:
            return payment_id
    raise AssertionError("unreachable")


async def stop_once(ctx: PaymentContext, session: Session, reason: StopReason, why: str) -> None:
    """Ask the station to stop ``session``, once (see the module docstring)."""
    if ctx.bus is None:
        log.warning("no command bus to stop a session", extra={"session": str(session.id)})
        return
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        attempt = await uow.payments.claim_stop(
            session.id, reason, why, now, now - STOP_RETRY_AFTER
        )
        await uow.commit()
    if attempt is None:
        return
    log.warning(
        "stopping a session for payment",
        extra={"session": str(session.id), "reason": reason.value, "why": why},
    )
    command = StationCommand(CommandKind.REMOTE_STOP, transaction_ref=session.transaction_ref)
    try:
        answer = (await send_command(ctx.uow, ctx.bus, session.station_id, command)).status
    except ChargeledgerError as exc:  # station_offline, station_timeout
        answer = exc.code
    except Exception:
        log.warning("could not stop the session", exc_info=True)
        answer = "failed"
    async with ctx.uow() as uow:
        await uow.payments.answer_stop(session.id, attempt, answer, ctx.clock.now())
        await uow.commit()
