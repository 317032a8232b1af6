"""Driving a PSP safely: ask, remember that we asked, learn the answer exactly once.

Every operation follows the same three steps, each in its own short transaction so that no
database transaction stays open while the PSP thinks (on SQLite the process's transactions
take turns):

1. record ``requested`` with the operation's deterministic idempotency key;
2. call the PSP with that key, outside any transaction;
3. record the outcome (``authorised``, ``captured``, ...) and its journal entry together.

A timeout records ``unknown``; the janitor later asks the PSP what happened
(``janitor``). Facts are unique per payment, so an answer learnt twice (the call's
return and the webhook, in either order) is kept and booked once.

The use cases that decide an amount or an operation number from a payment's state (refund,
capture, release, raise, the janitor's settling) do so holding :func:`payment_lock` from the
read to the recorded outcome, so two of them never decide on the same state (issue 11 item 7).
Learning a fact the PSP reports (a webhook) decides nothing and takes no lock.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal

from chargeledger.domain.payment_postings import captured, refunded
from chargeledger.domain.payments import (
    EventKind,
    Operation,
    Payment,
    PaymentEvent,
    PaymentPurpose,
    PaymentState,
    fact_of,
    fold,
    operation_of,
)
from chargeledger.domain.receivables import card_settlement
from chargeledger.errors import NotFoundError
from chargeledger.services.billing.document_notices import announce_payment
from chargeledger.services.locking import exclusive
from chargeledger.services.payments._refund_credit import credit_session_refund
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.payments.gateway import (
    GatewayResult,
    GatewayTimeoutError,
    GatewayUnavailableError,
    Outcome,
    PaymentGateway,
)
from chargeledger.services.ports import UnitOfWork

log = logging.getLogger(__name__)
PAYMENT_BUSY = "payment_busy"


def payment_lock(
    ctx: PaymentContext, payment_id: uuid.UUID, wait: float | None = None
) -> AbstractAsyncContextManager[None]:
    """Money operations on one payment, one at a time, on every node (409 ``payment_busy``
    when it is not had within ``wait``, by default ``ctx.lock_wait``; 0: one try)."""
    return exclusive(
        ctx.locks,
        f"payment:{payment_id}",
        ctx.lock_wait if wait is None else wait,
        code=PAYMENT_BUSY,
        what=f"payment {payment_id}",
    )


_KIND: dict[tuple[Operation, Outcome], EventKind] = {
    (Operation.AUTHORISE, Outcome.AUTHORISED): EventKind.AUTHORISED,
    (Operation.AUTHORISE, Outcome.CAPTURED): EventKind.CAPTURED,
    (Operation.AUTHORISE, Outcome.DECLINED): EventKind.DECLINED,
    (Operation.RAISE, Outcome.AUTHORISED): EventKind.RAISED,
    (Operation.RAISE, Outcome.DECLINED): EventKind.RAISE_DECLINED,
    (Operation.CAPTURE, Outcome.CAPTURED): EventKind.CAPTURED,
    (Operation.CAPTURE, Outcome.DECLINED): EventKind.CAPTURE_FAILED,
    (Operation.RELEASE, Outcome.RELEASED): EventKind.RELEASED,
    (Operation.REFUND, Outcome.REFUNDED): EventKind.REFUNDED,
    (Operation.REFUND, Outcome.DECLINED): EventKind.REFUND_FAILED,
}


async def learn(
    uow: UnitOfWork,
    ctx: PaymentContext,
    payment: Payment,
    kind: EventKind,
    *,
    amount: Decimal = Decimal(0),
    operation: str | None = None,
    provider_ref: str | None = None,
    detail: str | None = None,
    distinct: str | None = None,
) -> bool:
    """Keep one fact about ``payment`` and book it, once; False when it was known already.
    In the same transaction, whoever learns it (the call's answer, the webhook, the janitor):
    an invoice payment's capture or refund settles or reopens the invoice
    (``domain.receivables.card_settlement``), a session refund's credit note is issued.
    The caller commits."""
    event = PaymentEvent(
        payment_id=payment.id,
        kind=kind,
        fact=fact_of(kind, operation, distinct),
        at=ctx.clock.now(),
        amount=amount,
        operation=operation,
        provider_ref=provider_ref,
        detail=detail,
    )
    if not await uow.payments.record(event):
        return False
    entry = None
    if kind is EventKind.CAPTURED:
        entry = captured(payment, amount, ctx.today())
    elif kind is EventKind.REFUNDED:
        entry = refunded(payment, amount, distinct or operation or "", ctx.today())
    if entry is not None:
        await uow.ledger.add([entry], ctx.clock.now())
    settlement = card_settlement(payment, event, ctx.today())
    if settlement is not None and await uow.billing.add_settlement(settlement):
        await announce_payment(uow, ctx.clock, settlement)
    if kind is EventKind.REFUNDED and payment.purpose is PaymentPurpose.SESSION:
        await credit_session_refund(uow, ctx, payment, amount, operation)
    return True


async def apply_result(
    uow: UnitOfWork, ctx: PaymentContext, payment: Payment, key: str, result: GatewayResult
) -> None:
    """Record what the PSP answered to the operation ``key``. Does not commit."""
    operation = operation_of(key)
    kind = _KIND.get((operation, result.outcome))
    if kind is None:
        log.warning(
            "unexpected PSP answer",
            extra={"payment": str(payment.id), "operation": key, "outcome": result.outcome},
        )
        return
    if kind is EventKind.CAPTURED and operation is Operation.AUTHORISE:
        # Charged at once (a top-up, an invoice): held and captured in one go.
        await learn(
            uow,
            ctx,
            payment,
            EventKind.AUTHORISED,
            amount=result.amount,
            operation=key,
            provider_ref=result.provider_ref,
        )
        key = payment.key(Operation.CAPTURE)
    distinct = result.refund_ref if kind is EventKind.REFUNDED else None
    if kind is EventKind.RAISED:
        distinct = str(result.amount)
    await learn(
        uow,
        ctx,
        payment,
        kind,
        amount=result.amount,
        operation=key,
        provider_ref=result.provider_ref,
        detail=result.decline_code,
        distinct=distinct,
    )


async def run_operation(
    ctx: PaymentContext,
    payment: Payment,
    operation: Operation,
    amount: Decimal,
    call: Callable[[PaymentGateway, str], Awaitable[GatewayResult]],
    number: int = 0,
    detail: str | None = None,
) -> GatewayResult | None:
    """Ask the PSP once (or again, with the same key); None when the outcome is unknown.
    ``detail`` is kept with the request (a refund's reason, for its credit note)."""
    key = payment.key(operation, number)
    async with ctx.uow() as uow:
        await learn(
            uow, ctx, payment, EventKind.REQUESTED, amount=amount, operation=key, detail=detail
        )
        await uow.commit()
    try:
        result = await call(ctx.gateway(payment.gateway), key)
    except (GatewayTimeoutError, GatewayUnavailableError) as exc:
        log.warning("PSP outcome unknown", extra={"payment": str(payment.id), "operation": key})
        async with ctx.uow() as uow:
            await learn(uow, ctx, payment, EventKind.UNKNOWN, operation=key, detail=exc.code)
            await uow.commit()
        return None
    async with ctx.uow() as uow:
        await apply_result(uow, ctx, payment, key, result)
        await uow.commit()
    return result


async def state_of(uow: UnitOfWork, payment: Payment) -> PaymentState:
    return fold(await uow.payments.events(payment.id))


async def load(uow: UnitOfWork, payment_id: uuid.UUID) -> Payment:
    found = await uow.payments.get(payment_id)
    if found is None:
        raise NotFoundError(f"payment {payment_id} not found", code="payment_not_found")
    return found
