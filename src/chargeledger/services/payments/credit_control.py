"""Live credit control: a running session paid by a prepaid wallet is checked on every meter
value, as a card hold is watched (``session_payments.watch_hold``), and stopped over OCPP
before the wallet crosses its minimum (issue 11 item 11; the rule and its guarantee:
``domain.wallets``).

* **Checked in the meter value's own transaction** (1.6 StartTransaction and MeterValues,
  2.0.1 TransactionEvent and MeterValues), on the state that meter value brings: however far
  behind the station's messages the server runs, each one is judged on what was known with
  it, never on a later state, and a station's duplicate gets the stored answer and changes
  nothing. A station that starts despite NoCredit (or offline) is stopped at its start.
* **What the wallet can pay**: its balance, less its effective minimum, less what the
  account's other running sessions will have cost by their next meter value and what its
  finished sessions cost that are not debited yet.
* **Auto top-up counts only once it is paid**: when the next meter value would cross the
  minimum and the account has auto top-up with a card, one top-up of its amount is charged
  there and then (after the commit: no PSP call inside a transaction); money the PSP
  declined, or has not confirmed, counts for nothing, and the session is stopped.
* **Stopped once**: the stop (1.6 RemoteStopTransaction §5.12, 2.0.1 RequestStopTransaction
  F03) is claimed in ``payment_stops`` with the meter value that called for it and sent after
  the commit; later meter values send nothing more, unless the station refused it, could not
  be reached, or gave no answer within ``STOP_RETRY_AFTER``.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TypeVar

from chargeledger.domain.accounts import Account
from chargeledger.domain.billing import VatRates
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.payments import PaymentStatus, fold
from chargeledger.domain.station_link import CommandKind, SessionFilter, StationCommand
from chargeledger.domain.wallets import CreditCheck, StopReason, WalletSettings
from chargeledger.errors import ChargeledgerError
from chargeledger.services.charging.session_pricing import cost_outlook, price_captured_session
from chargeledger.services.charging.station_commands import send_command
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.payments.methods import default_card
from chargeledger.services.payments.session_payments import WALLET_NAMESPACE, watch_hold
from chargeledger.services.payments.wallets import (
    TOP_UP_NAMESPACE,
    top_up,
    wallet_balance,
    wallet_settings,
)
from chargeledger.services.ports import UnitOfWork

log = logging.getLogger(__name__)
STOP_RETRY_AFTER = timedelta(minutes=2)  # longer than the command bus waits for an answer
SESSIONS_SEEN = 20  # other sessions of one wallet counted against its credit
UNDEBITED_WITHIN = timedelta(days=2)  # finished sessions whose debit may still be on its way
Job = Callable[[], Awaitable[object]]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Credit:
    session: Session
    account: Account
    settings: WalletSettings
    check: CreditCheck


async def payment_watch(uow: UnitOfWork, ctx: PaymentContext, session: Session) -> Job | None:
    """After a meter value of a running ``session``: the wallet's credit check (done here, in
    the meter value's transaction) or the card hold's watch, by the route decided at its
    start; what to run after the commit. A postpaid RFID session costs no lookup."""
    if not session.is_open:
        return None
    if session.payment_route is PaymentRoute.WALLET:
        return await check_credit(uow, ctx, session)
    if session.payment_route.card_held:
        return lambda: watch_hold(ctx, session.id)
    return None


async def check_credit(uow: UnitOfWork, ctx: PaymentContext, session: Session) -> Job | None:
    """Hold a running wallet session to its wallet (see the module docstring). Claims the stop
    in ``uow`` (never commits it); returns the work to do after the commit."""
    credit = await _credit(uow, ctx, session)
    if credit is None or credit.check.affordable:
        return None
    asked = await uow.payments.stop_request(session.id)
    if asked is None and await _may_top_up(uow, credit):
        return lambda: top_up_or_stop(ctx, session.id)
    now = ctx.clock.now()
    attempt = await uow.payments.claim_stop(
        session.id,
        StopReason.WALLET_CREDIT,
        credit.check.explain(),
        credit.check.live,
        now,
        now - STOP_RETRY_AFTER,
    )
    if attempt is None:
        return None
    return lambda: send_stop(ctx, session, attempt)


async def top_up_or_stop(ctx: PaymentContext, session_id: uuid.UUID) -> None:
    """After the commit: one auto top-up, then the check again on a fresh state; the stop
    when the top-up did not cover the next meter value."""
    async with ctx.uow() as uow:
        session = await uow.sessions.get(session_id)
        credit = None if session is None else await _credit(uow, ctx, session)
    if session is None or credit is None or credit.check.affordable:
        return
    if await _top_up_now(ctx, credit):
        async with ctx.uow() as uow:
            credit = await _credit(uow, ctx, session)
        if credit is None or credit.check.affordable:
            return
    await stop_once(ctx, session, StopReason.WALLET_CREDIT, credit.check)


async def _credit(uow: UnitOfWork, ctx: PaymentContext, session: Session) -> _Credit | None:
    fresh = await uow.sessions.get(session.id)
    if fresh is None or not fresh.is_open or fresh.account_id is None:
        return None
    if fresh.payment_route is not PaymentRoute.WALLET:
        return None
    account = await uow.accounts.get(fresh.account_id)
    if account is None:
        return None
    try:
        live, ahead = await cost_outlook(uow, fresh, ctx.rates)
        committed = await _committed(uow, fresh, ctx.rates)
    except ChargeledgerError:
        log.warning("cannot price a wallet session", extra={"session": str(fresh.id)})
        return None
    settings = await wallet_settings(uow, account)
    check = CreditCheck(
        balance=await wallet_balance(uow, account.id),
        minimum=settings.effective_minimum(ctx.wallet_floor),
        committed=committed,
        live=live,
        ahead=ahead,
    )
    return _Credit(fresh, account, settings, check)


async def _committed(uow: UnitOfWork, session: Session, rates: VatRates) -> Decimal:
    """What the account's other wallet sessions take from the wallet that its balance does not
    show yet: running ones by their next meter value, finished ones until their debit is
    booked (it follows the stop after the commit). Quarantined sessions wait for review."""
    total = Decimal(0)
    running = SessionFilter(account_id=session.account_id, status=SessionStatus.ACTIVE)
    for other in (await uow.sessions.search(running, limit=SESSIONS_SEEN, offset=0)).items:
        if other.id != session.id and other.payment_route is PaymentRoute.WALLET:
            total += await _priced(cost_outlook(uow, other, rates), other, lambda c: c[1])
    finished = SessionFilter(
        account_id=session.account_id,
        status=SessionStatus.COMPLETED,
        started_from=session.started_at - UNDEBITED_WITHIN,
    )
    for done in (await uow.sessions.search(finished, limit=SESSIONS_SEEN, offset=0)).items:
        if done.payment_route is not PaymentRoute.WALLET:
            continue  # paid by the route decided at its start, not by this wallet
        if await uow.payments.get(uuid.uuid5(WALLET_NAMESPACE, f"wallet:{done.id}")) is None:
            priced = price_captured_session(uow, done, rates)
            total += await _priced(priced, done, lambda p: p.billed.gross)
    return total


async def _priced(pricing: Awaitable[T], session: Session, cost: Callable[[T], Decimal]) -> Decimal:
    """Another session's cost; one that cannot be priced (no tariff) cannot be billed either,
    and does not stop this session's check."""
    try:
        return cost(await pricing)
    except ChargeledgerError:
        log.warning("cannot price a wallet session", extra={"session": str(session.id)})
        return Decimal(0)


async def _may_top_up(uow: UnitOfWork, credit: _Credit) -> bool:
    if not credit.settings.auto_top_up:
        return False
    return await default_card(uow, credit.account) is not None


async def _top_up_now(ctx: PaymentContext, credit: _Credit) -> bool:
    """One auto top-up for this session's next step; True once the PSP has taken the money.
    Its id is made from the session and the step, so concurrent checks charge it once."""
    account, session = credit.account, credit.session
    async with ctx.uow() as uow:
        card = await default_card(uow, account)
        payment_id = await _next_top_up(uow, account.id, session.id)
    if card is None:
        return False
    try:
        _, status = await top_up(ctx, account, credit.settings.top_up_amount, card, payment_id)
    except ChargeledgerError:
        log.warning("auto top-up failed", exc_info=True, extra={"session": str(session.id)})
        return False
    return status is PaymentStatus.CAPTURED


async def _next_top_up(uow: UnitOfWork, account_id: uuid.UUID, session_id: uuid.UUID) -> uuid.UUID:
    """The id of this session's next live top-up: the one under way, while it is (a meter
    value that comes meanwhile must not charge the card a second time), else a new step."""
    previous: uuid.UUID | None = None
    for step in itertools.count(1):
        payment_id = uuid.uuid5(TOP_UP_NAMESPACE, f"{account_id}:{session_id}:live:{step}")
        if await uow.payments.get(payment_id) is None:
            break
        previous = payment_id
    if previous is not None:
        status = fold(await uow.payments.events(previous)).status
        if status in (PaymentStatus.PENDING, PaymentStatus.UNKNOWN):
            return previous
    return payment_id


async def stop_once(
    ctx: PaymentContext, session: Session, reason: StopReason, check: CreditCheck
) -> None:
    """Claim the stop in a transaction of its own, then send it (see the module docstring)."""
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        attempt = await uow.payments.claim_stop(
            session.id, reason, check.explain(), check.live, now, now - STOP_RETRY_AFTER
        )
        await uow.commit()
    if attempt is not None:
        await send_stop(ctx, session, attempt)


async def send_stop(ctx: PaymentContext, session: Session, attempt: int) -> None:
    """Send a claimed stop and keep the station's answer (or why it got none)."""
    log.warning(
        "stopping a session for payment",
        extra={"session": str(session.id), "attempt": attempt},
    )
    command = StationCommand(CommandKind.REMOTE_STOP, transaction_ref=session.transaction_ref)
    if ctx.bus is None:
        answer = "no_command_bus"
    else:
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
