"""A session's card payment: hold at the start, raise while charging, capture at the stop.

* **Start** (app card): hold the quote of the configured maximum session (``HoldPolicy``)
  on the account's default card; a declined hold stops the session through OCPP.
* **While charging**: when the live cost (the same ``price()``) reaches 80 % of the hold,
  raise it (incremental authorisation); when it cannot be raised, stop the session.
* **Stop**: the session is charged (priced once, booked, receipt issued), then the hold is
  captured for exactly the receipt's amount, never more than held, or released when nothing
  was delivered; a wallet is debited instead. Running this twice changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import datetime, timedelta
from decimal import ROUND_UP, Decimal

from chargeledger.domain.accounts import Account
from chargeledger.domain.billing import Charge, billed_amounts, supply_vat
from chargeledger.domain.catalog import Site
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.payment_postings import WALLET_GATEWAY, written_off
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.payments import (
    EventKind,
    Operation,
    Payment,
    PaymentEvent,
    PaymentMethodKind,
    PaymentPurpose,
    PaymentStatus,
    hold_steps,
    operation_of,
)
from chargeledger.domain.station_link import CommandKind, StationCommand
from chargeledger.domain.tariffs import Tariff, price
from chargeledger.domain.tariffs.periods import planned_cdr
from chargeledger.errors import ChargeledgerError, DuplicateError
from chargeledger.money import Currency, Money
from chargeledger.services.billing.charges import ChargingResult, charge_sessions
from chargeledger.services.catalog import get_site, get_station
from chargeledger.services.charging.session_pricing import price_captured_session
from chargeledger.services.charging.station_commands import send_command
from chargeledger.services.payments._operations import learn, payment_lock, run_operation, state_of
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.payments.methods import default_card, session_payment
from chargeledger.services.payments.wallets import auto_top_up
from chargeledger.services.ports import UnitOfWork

log = logging.getLogger(__name__)
WALLET_NAMESPACE = uuid.UUID("6f1c5d1e-0d7a-4c55-9a57-2f1f6c1b3a10")


def hold_for(
    ctx: PaymentContext, tariff: Tariff, start: datetime, site: Site, buyer: Account | None
) -> Money:
    """The first hold: the gross of the maximum session's quote (the VAT of the site for
    ``buyer``, as the charge will have it), rounded up to the currency unit."""
    cdr = planned_cdr(
        tariff,
        start,
        kwh=ctx.hold.kwh,
        charging=timedelta(minutes=ctx.hold.minutes),
        idle=timedelta(0),
        time_zone=site.time_zone,
    )
    currency = Currency.of(tariff.currency)
    vat = supply_vat(ctx.rates, site.address.country, site.time_zone, start, buyer)
    quoted = billed_amounts(price(cdr, tariff, site.time_zone), vat).gross
    amount = min(max(quoted, currency.quantum), ctx.hold.ceiling)
    return Money(amount.quantize(currency.quantum, rounding=ROUND_UP), currency)


async def secure_session(ctx: PaymentContext, session_id: uuid.UUID) -> Payment | None:
    """Hold money on the app user's card for a session that just started."""
    async with ctx.uow() as uow:
        session = await uow.sessions.get(session_id)
        if session is None or session.tariff_id is None:
            return None
        if session.payment_route is not PaymentRoute.APP_CARD or session.account_id is None:
            return None
        account = await uow.accounts.get(session.account_id)
        if account is None:
            return None
        if await session_payment(uow, session) is not None:
            return None  # a retried start: the hold exists
        card = await default_card(uow, account)
        stored = await uow.tariffs.get(session.tariff_id)
        station = await get_station(uow, session.station_id)
        site = await get_site(uow, station.site_id)
        if card is None or stored is None:
            return None
        amount = hold_for(ctx, stored.tariff, session.started_at, site, account)
        payment = Payment(
            id=uuid.uuid5(WALLET_NAMESPACE, f"hold:{session.id}"),
            purpose=PaymentPurpose.SESSION,
            method=PaymentMethodKind.APP,
            gateway=card.gateway,
            currency=amount.currency,
            account_id=account.id,
            session_id=session.id,
            method_token=card.token,
        )
        try:
            await uow.payments.add(payment, ctx.clock.now())
        except DuplicateError:
            return None  # another process holds for this session already
        await uow.commit()
    async with payment_lock(ctx, payment.id):
        result = await run_operation(
            ctx,
            payment,
            Operation.AUTHORISE,
            amount.amount,
            lambda gateway, key: gateway.authorise(
                amount=amount,
                method_token=payment.method_token or "",
                idempotency_key=key,
                reference=str(payment.id),
            ),
        )
    if result is not None and result.decline_code:
        await stop_for_payment(ctx, session, f"hold declined: {result.decline_code}")
    return payment


async def watch_hold(ctx: PaymentContext, session_id: uuid.UUID) -> None:
    """Raise the hold as the live cost approaches it; stop the session when it cannot.
    Decided under the payment's lock (the raise's number and total come from its state);
    the stop is sent after it is released."""
    async with ctx.uow() as uow:
        session = await uow.sessions.get(session_id)
        if session is None or not session.is_open:
            return
        payment = await session_payment(uow, session)
    if payment is None:
        return
    async with payment_lock(ctx, payment.id):
        why = await _raise_hold(ctx, session, payment)
    if why is not None:
        await stop_for_payment(ctx, session, why)


async def _raise_hold(ctx: PaymentContext, session: Session, payment: Payment) -> str | None:
    """Raise the hold if the live cost needs it; why the session must stop, if it must."""
    async with ctx.uow() as uow:
        current = await uow.sessions.get(session.id)
        state = await state_of(uow, payment)
        if current is None or state.status is not PaymentStatus.AUTHORISED:
            return None
        try:
            live = (await price_captured_session(uow, current, ctx.rates)).billed.gross
        except ChargeledgerError:
            return None
    held = state.authorised
    wanted = hold_steps(live, held, ctx.hold.step, ctx.hold.ceiling)
    if wanted <= held:
        return "the hold is used up" if live >= held * Decimal("0.95") else None
    new_total = Money.of(wanted, payment.currency)
    gateway = ctx.gateway(payment.gateway)
    if not gateway.supports_increment:
        return "the hold cannot be raised"
    result = await run_operation(
        ctx,
        payment,
        Operation.RAISE,
        wanted,
        lambda gw, key: gw.increment(
            provider_ref=state.provider_ref or "", new_total=new_total, idempotency_key=key
        ),
        number=state.raises + 1,
    )
    if result is not None and result.decline_code and live >= held * Decimal("0.95"):
        return f"raise declined: {result.decline_code}"
    return None


async def stop_for_payment(ctx: PaymentContext, session: Session, why: str) -> None:
    """RemoteStop (1.6 §5.12) / RequestStopTransaction (2.0.1 F03) when payment runs out."""
    log.warning("stopping a session for payment", extra={"session": str(session.id), "why": why})
    if ctx.bus is None or not session.is_open:
        return
    command = StationCommand(CommandKind.REMOTE_STOP, transaction_ref=session.transaction_ref)
    try:
        await send_command(ctx.uow, ctx.bus, session.station_id, command)
    except Exception:
        log.warning("could not stop the session", exc_info=True)


async def settle_session(
    ctx: PaymentContext, session_id: uuid.UUID, lock_wait: float | None = None
) -> None:
    """Charge a completed session, then collect it by the route decided at its start
    (idempotent; a postpaid session only when it is a roaming partner's, ``roaming_session``);
    ``lock_wait`` bounds the wait for the payment's lock (the janitor: 0, it
    comes back next pass)."""
    async with ctx.uow() as uow:
        session = await uow.sessions.get(session_id)
        if session is None or session.status is not SessionStatus.COMPLETED:
            return  # open, or quarantined for review: nothing is charged blindly
        if not session.payment_route.paid_at_session and not await roaming_session(uow, session):
            return  # postpaid: the invoice run takes it
        charge = await uow.billing.charge_for_session(session.id)
        if charge is None:
            try:
                charge = await _charge(ctx, uow, session)
                await uow.commit()
            except DuplicateError:
                # Another settle of the same session (the stop hook and the janitor) charged
                # it at the same moment and was first: collect that charge.
                await uow.rollback()
                charge = await uow.billing.charge_for_session(session.id)
            if charge is None:
                return  # not priceable: reported by the charging pass
        payment = await session_payment(uow, session)
    if session.payment_route is PaymentRoute.WALLET:
        await debit_wallet(ctx, session, charge)
    elif payment is not None:
        await collect_hold(ctx, payment, charge, lock_wait)


async def roaming_session(uow: UnitOfWork, session: Session) -> bool:
    """A registered roaming partner's session is charged at its end too, though its invoice
    comes with the period's: the partner is owed its CDR now (OCPI 2.2.1 §10.2.2), and the
    charge announces it (``services.roaming.notices``)."""
    if session.account_id is None:
        return False
    return bool(await uow.roaming.registered_for_accounts([session.account_id]))


async def _charge(ctx: PaymentContext, uow: UnitOfWork, session: Session) -> Charge | None:
    """Charge the session in ``uow`` (priced once, booked, receipt issued; not committed)."""
    outcome = ChargingResult()
    await charge_sessions(
        uow, ctx.clock, [session.id], ctx.rates, ctx.time_zone, ctx.seller, outcome
    )
    return outcome.charged[0] if outcome.charged else None


async def debit_wallet(ctx: PaymentContext, session: Session, charge: Charge) -> None:
    """The session's price leaves the wallet (DESIGN §5: Liabilities:Wallets → receivable)."""
    if not charge.gross or session.account_id is None:
        return
    payment = Payment(
        id=uuid.uuid5(WALLET_NAMESPACE, f"wallet:{session.id}"),
        purpose=PaymentPurpose.SESSION,
        method=PaymentMethodKind.WALLET,
        gateway=WALLET_GATEWAY,
        currency=charge.currency,
        account_id=session.account_id,
        session_id=session.id,
    )
    async with ctx.uow() as uow:
        if await uow.payments.get(payment.id) is None:
            with contextlib.suppress(DuplicateError):  # added by a settle at the same moment
                await uow.payments.add(payment, ctx.clock.now())
        key = payment.key(Operation.CAPTURE)
        await learn(uow, ctx, payment, EventKind.CAPTURED, amount=charge.gross, operation=key)
        await uow.commit()
    await auto_top_up(ctx, session.account_id, trigger=str(payment.id))


async def collect_hold(
    ctx: PaymentContext, payment: Payment, charge: Charge, lock_wait: float | None = None
) -> None:
    """Capture the receipt's amount (at most the hold) or release an unused hold, decided
    under the payment's lock: a second settle of the same stop finds it done."""
    async with payment_lock(ctx, payment.id, lock_wait):
        await _collect(ctx, payment, charge)


async def _collect(ctx: PaymentContext, payment: Payment, charge: Charge) -> None:
    async with ctx.uow() as uow:
        state = await state_of(uow, payment)
        events = await uow.payments.events(payment.id)
    if state.captured or state.status in (PaymentStatus.RELEASED, PaymentStatus.UNKNOWN):
        return  # done, or the janitor settles the unknown first
    if charge.gross > state.authorised and _raise_under_way(events):
        return  # the last meter values' raise is still under way: the janitor captures after
    if state.status is not PaymentStatus.AUTHORISED:
        await _write_off(ctx, payment, charge.gross, state.decline_code or state.status.value)
        return
    if not charge.gross:
        await run_operation(
            ctx,
            payment,
            Operation.RELEASE,
            Decimal(0),
            lambda gw, key: gw.release(provider_ref=state.provider_ref or "", idempotency_key=key),
        )
        return
    amount = min(charge.gross, state.authorised)
    money = Money.of(amount, payment.currency)
    result = await run_operation(
        ctx,
        payment,
        Operation.CAPTURE,
        amount,
        lambda gw, key: gw.capture(
            provider_ref=state.provider_ref or "", amount=money, idempotency_key=key
        ),
    )
    if result is not None and result.decline_code:
        await _write_off(ctx, payment, charge.gross, result.decline_code)
    elif charge.gross > amount:
        await _write_off(ctx, payment, charge.gross - amount, "cost above the hold")


def _raise_under_way(events: list[PaymentEvent]) -> bool:
    """A raise of the hold was asked and not answered yet (or is in doubt)."""
    answered = {e.operation for e in events if e.kind is not EventKind.REQUESTED}
    return any(
        e.kind is EventKind.REQUESTED
        and e.operation is not None
        and operation_of(e.operation) is Operation.RAISE
        and e.operation not in answered
        for e in events
    )


async def _write_off(ctx: PaymentContext, payment: Payment, amount: Decimal, why: str) -> None:
    """Only walk-ins: an account holder's unpaid receipt stays on the account's receivable."""
    if payment.account_id is not None:
        return
    entry = written_off(payment, amount, ctx.today(), why)
    if entry is None:
        return
    async with ctx.uow() as uow:
        if await uow.ledger.find(entry.kind, entry.source_type, entry.source_id) is None:
            try:
                await uow.ledger.add([entry], ctx.clock.now())
            except DuplicateError:
                return  # written off by a collect of the same payment at the same moment
            await uow.commit()
