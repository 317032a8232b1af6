"""The payment janitor (DESIGN §4 periodic job): no payment is left in doubt.

Each pass:
1. settles every operation whose outcome is unknown (a timeout) or that was asked and never
   answered (the process died between asking and recording) by asking the PSP what it did;
2. captures or releases the holds of sessions that completed (a lost stop hook);
3. releases holds of QR checkouts whose session never started.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.payment_postings import WALLET_GATEWAY
from chargeledger.domain.payments import (
    EventKind,
    Operation,
    Payment,
    PaymentEvent,
    PaymentPurpose,
    PaymentState,
    PaymentStatus,
    operation_of,
)
from chargeledger.money import ZERO, Money
from chargeledger.services.payments._operations import learn, payment_lock, run_operation, state_of
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.payments.gateway import (
    GatewayTimeoutError,
    GatewayUnavailableError,
    ProviderView,
)
from chargeledger.services.payments.methods import payment_session
from chargeledger.services.payments.session_payments import settle_session
from chargeledger.services.ports import LockBusyError, UnitOfWork

log = logging.getLogger(__name__)
ANSWER_GRACE = timedelta(minutes=2)  # an operation unanswered this long is asked about
UNUSED_HOLD = timedelta(minutes=15)  # a checkout whose session did not start by then
FAILED = {
    Operation.AUTHORISE: EventKind.DECLINED,
    Operation.RAISE: EventKind.RAISE_DECLINED,
    Operation.CAPTURE: EventKind.CAPTURE_FAILED,
    Operation.REFUND: EventKind.REFUND_FAILED,
}


@dataclass(slots=True)
class JanitorReport:
    resolved: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)


async def run_janitor(ctx: PaymentContext) -> JanitorReport:
    """One pass. A payment busy with another operation (its lock is held) is left for the
    next pass rather than waited for: whoever holds it is settling it right now."""
    report = JanitorReport()
    async with ctx.uow() as uow:
        candidates = await uow.payments.with_event_since(
            [EventKind.REQUESTED, EventKind.UNKNOWN, EventKind.AUTHORISED]
        )
    for payment_id in candidates:
        try:
            payment = await _settle_doubts(ctx, payment_id, report)
            if payment is not None:
                await _finish(ctx, payment, report)
        except (GatewayTimeoutError, GatewayUnavailableError):
            # The PSP did not answer the lookup: this payment waits for the next pass, the
            # others are not held up by it.
            log.warning("PSP lookup failed", extra={"payment": str(payment_id)})
        except LockBusyError:
            log.info("payment busy, left for the next pass", extra={"payment": str(payment_id)})
    return report


async def _settle_doubts(
    ctx: PaymentContext, payment_id: uuid.UUID, report: JanitorReport
) -> Payment | None:
    """Ask the PSP about the payment's operations in doubt, under its lock (one try), so an
    operation still under way is never taken for a lost one."""
    async with payment_lock(ctx, payment_id, wait=0):
        async with ctx.uow() as uow:
            payment = await uow.payments.get(payment_id)
            if payment is None or not _reachable(ctx, payment):
                return None
            state = await state_of(uow, payment)
            events = await uow.payments.events(payment_id)
        doubtful = _in_doubt(events, ctx.clock.now())
        if doubtful:
            await resolve(ctx, payment, state, doubtful)
            report.resolved.append(str(payment.id))
    return payment


def _reachable(ctx: PaymentContext, payment: Payment) -> bool:
    """Payments of a PSP this installation no longer uses (the sandbox's, once Stripe is
    configured) wait untouched: no other PSP may speak for them, and they must not stop the
    janitor for everyone else."""
    if payment.gateway in ctx.gateways or payment.gateway == WALLET_GATEWAY:
        return True
    log.warning(
        "payment of a PSP that is not configured",
        extra={"payment": str(payment.id), "gateway": payment.gateway},
    )
    return False


def _in_doubt(events: list[PaymentEvent], now: datetime) -> list[str]:
    """Operations asked and never answered that timed out, or were asked so long ago that
    no answer is coming (the process died between asking and recording the answer; the
    folded state does not count those as open, so they are found from the events)."""
    answered = {
        e.operation
        for e in events
        if e.operation and e.kind not in (EventKind.REQUESTED, EventKind.UNKNOWN)
    }
    timed_out = {e.operation for e in events if e.kind is EventKind.UNKNOWN}
    return [
        e.operation
        for e in events
        if e.kind is EventKind.REQUESTED
        and e.operation
        and e.operation not in answered
        and (e.operation in timed_out or now - e.at >= ANSWER_GRACE)
    ]


async def resolve(
    ctx: PaymentContext, payment: Payment, state: PaymentState, operations: list[str]
) -> None:
    """Ask the PSP, record what it did; what it never received is declined/failed, except a
    capture or release of a hold that still stands: that is asked again, with the same
    idempotency key (a lost request must not leave the hold standing forever)."""
    gateway = ctx.gateway(payment.gateway)
    view = await gateway.lookup(reference=str(payment.id), provider_ref=state.provider_ref)
    again = [key for key in operations if _hold_still_stands(key, view)]
    async with ctx.uow() as uow:
        for key in operations:
            if key not in again:
                await _settle_operation(uow, ctx, payment, key, view)
        await uow.commit()
        events = await uow.payments.events(payment.id)
    for key in again:
        assert view is not None
        await _ask_again(ctx, payment, key, view.provider_ref, events)


def _hold_still_stands(key: str, view: ProviderView | None) -> bool:
    return (
        view is not None
        and operation_of(key) in (Operation.CAPTURE, Operation.RELEASE)
        and view.authorised > 0
        and not (view.captured or view.released or view.declined)
    )


async def _ask_again(
    ctx: PaymentContext, payment: Payment, key: str, ref: str, events: list[PaymentEvent]
) -> None:
    """Send a capture or release the PSP never received once more, as it was first asked."""
    if operation_of(key) is Operation.RELEASE:
        await run_operation(
            ctx,
            payment,
            Operation.RELEASE,
            ZERO,
            lambda gw, k: gw.release(provider_ref=ref, idempotency_key=k),
        )
        return
    asked = next(e for e in events if e.kind is EventKind.REQUESTED and e.operation == key)
    money = Money.of(asked.amount, payment.currency)
    await run_operation(
        ctx,
        payment,
        Operation.CAPTURE,
        asked.amount,
        lambda gw, k: gw.capture(provider_ref=ref, amount=money, idempotency_key=k),
    )


async def _settle_operation(
    uow: UnitOfWork, ctx: PaymentContext, payment: Payment, key: str, view: ProviderView | None
) -> None:
    operation = operation_of(key)
    ref = None if view is None else view.provider_ref

    async def fact(
        kind: EventKind,
        amount: Decimal = ZERO,
        detail: str | None = None,
        distinct: str | None = None,
        operation_key: str = key,
    ) -> bool:
        return await learn(
            uow,
            ctx,
            payment,
            kind,
            amount=amount,
            operation=operation_key,
            provider_ref=ref,
            detail=detail,
            distinct=distinct,
        )

    if view is None or (view.declined and operation is Operation.AUTHORISE):
        failed = FAILED.get(operation)
        if failed is not None:
            await fact(failed, detail=view.decline_code if view else "not_received")
        return
    if operation is Operation.AUTHORISE:
        await fact(EventKind.AUTHORISED, max(view.authorised, view.captured))
        if view.captured and payment.purpose is not PaymentPurpose.SESSION:
            await fact(
                EventKind.CAPTURED, view.captured, operation_key=payment.key(Operation.CAPTURE)
            )
    elif operation is Operation.RAISE:
        held = view.authorised > 0 and not view.captured and not view.released
        # A total we knew already (another raise reached it) answers nothing: this raise
        # changed nothing, and must not stay in doubt for ever.
        if not (
            held and await fact(EventKind.RAISED, view.authorised, distinct=str(view.authorised))
        ):
            await fact(EventKind.RAISE_DECLINED, detail="not_raised")
    elif operation is Operation.CAPTURE:
        if view.captured:
            await fact(EventKind.CAPTURED, view.captured)
        else:
            await fact(EventKind.CAPTURE_FAILED, detail="not_captured")
    elif operation is Operation.RELEASE and view.released:
        await fact(EventKind.RELEASED)
    elif operation is Operation.REFUND:
        known = {e.fact for e in await uow.payments.events(payment.id)}
        new = [(r, a) for r, a in view.refunds if f"refunded:{r}" not in known]
        if new:
            await fact(EventKind.REFUNDED, new[0][1], distinct=new[0][0])
        else:
            await fact(EventKind.REFUND_FAILED, detail="not_refunded")


async def _finish(ctx: PaymentContext, payment: Payment, report: JanitorReport) -> None:
    """Holds must end: captured when the session completed, released when it never came."""
    async with ctx.uow() as uow:
        state = await state_of(uow, payment)
        if (
            state.status is not PaymentStatus.AUTHORISED
            or payment.purpose is not PaymentPurpose.SESSION
        ):
            return
        session = await payment_session(uow, payment)
    if session is not None and session.status is SessionStatus.COMPLETED:
        await settle_session(ctx, session.id, lock_wait=0)
        report.settled.append(str(payment.id))
        return
    age = ctx.clock.now() - (payment.created_at or ctx.clock.now())
    if session is None and age >= UNUSED_HOLD and await _release_unused(ctx, payment):
        report.released.append(str(payment.id))


async def _release_unused(ctx: PaymentContext, payment: Payment) -> bool:
    """Release a checkout's hold whose session never started, if it still stands."""
    async with payment_lock(ctx, payment.id, wait=0):
        async with ctx.uow() as uow:
            state = await state_of(uow, payment)
            started = await payment_session(uow, payment)
        if state.status is not PaymentStatus.AUTHORISED or started is not None:
            return False
        await run_operation(
            ctx,
            payment,
            Operation.RELEASE,
            state.authorised,
            lambda gw, key: gw.release(provider_ref=state.provider_ref or "", idempotency_key=key),
        )
    return True
