"""Re-pricing a charged session (issue 15), end to end: decided and recorded in one
transaction (``services/billing/repricing``), then, when the session's money goes back, the
refund through the refund path (``refunds.refund_once``), which issues the receipt's credit
note with the refund's fact, so one correction has one credit note.

It lives here because it refunds: payments settle what billing charged and import billing,
never the other way round (CONTRIBUTING, "The layers"). Exactly once: the same request key
returns the re-pricing it made, and its refund is asked once (a retry after a lost answer
finds the refund asked, and the janitor or the PSP's webhook learns its outcome); the same
request without a key finds nothing to re-price, or completes the refund it left undone.
"""

from __future__ import annotations

import uuid

from chargeledger.domain.charging import Session
from chargeledger.domain.identity import Principal
from chargeledger.domain.payment_postings import WALLET_GATEWAY
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.payments import fold
from chargeledger.domain.repricing import Repricing, RepricingOutcome
from chargeledger.errors import ConflictError, InvalidInputError
from chargeledger.services.billing.repricing import (
    NOTHING_TO_REPRICE,
    Collected,
    RepriceRequest,
    record_repricing,
)
from chargeledger.services.charging.session_review import get_session
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.payments.methods import session_payment
from chargeledger.services.payments.refunds import refund_asked, refund_once
from chargeledger.services.payments.repricing_views import RepricingView, repricing_view
from chargeledger.services.payments.session_payments import WALLET_NAMESPACE
from chargeledger.services.ports import UnitOfWork


async def session_money(uow: UnitOfWork, session: Session) -> Collected:
    """The payment that took the session's money (the card's hold, the wallet's debit) and
    what of it can still be refunded. A payment with an operation in doubt is refused
    (``payment_in_doubt``): what it holds is known once the janitor has asked the PSP."""
    if session.payment_route is PaymentRoute.WALLET:
        payment = await uow.payments.get(uuid.uuid5(WALLET_NAMESPACE, f"wallet:{session.id}"))
        if payment is not None and payment.gateway != WALLET_GATEWAY:
            payment = None
    else:
        payment = await session_payment(uow, session)
    if payment is None:
        return Collected()
    state = fold(await uow.payments.events(payment.id))
    if state.open_operations:
        raise ConflictError(
            "an operation of the session's payment is still in doubt; try again after the janitor",
            code="payment_in_doubt",
        )
    return Collected(payment.id, state.refundable)


async def decide_repricing(
    uow: UnitOfWork,
    ctx: PaymentContext,
    principal: Principal,
    session_id: uuid.UUID,
    request: RepriceRequest,
) -> Repricing:
    """Re-price the session in ``uow`` (not committed): decided under the session's hold,
    with the money its payment holds; nothing is refunded yet."""
    return await record_repricing(
        uow,
        ctx.clock,
        principal,
        session_id,
        request,
        ctx.rates,
        ctx.time_zone,
        session_money,
    )


async def reprice_session(
    ctx: PaymentContext,
    principal: Principal,
    session_id: uuid.UUID,
    request: RepriceRequest,
) -> RepricingView:
    """Re-price a charged session under a corrected tariff version and/or readings, with a
    reason: recorded, and the difference issued (see ``domain.repricing``); a refund is asked
    once the re-pricing is committed (no transaction stays open while the PSP answers)."""
    try:
        async with ctx.uow() as uow:
            repricing = await decide_repricing(uow, ctx, principal, session_id, request)
            await uow.commit()
    except InvalidInputError as refused:
        if refused.code != NOTHING_TO_REPRICE:
            raise
        left = await _refund_left_undone(ctx, principal, session_id)
        if left is None:
            raise
        repricing = left
    if repricing.outcome is RepricingOutcome.REFUND and repricing.payment_id is not None:
        marker = repricing.refund_marker
        await refund_once(
            ctx, repricing.payment_id, -repricing.amount, f"{marker}: {repricing.reason}", marker
        )
    async with ctx.uow() as uow:
        return await repricing_view(uow, repricing)


async def _refund_left_undone(
    ctx: PaymentContext, principal: Principal, session_id: uuid.UUID
) -> Repricing | None:
    """The session's last re-pricing when the request asks again what it made (nothing to
    re-price) and its refund was never made: not asked (the PSP's lock was busy, the process
    ended) or declined. The same request then completes it, so a request without a key is
    exactly once too, and no refund is left behind."""
    async with ctx.uow() as uow:
        session = await get_session(uow, principal, session_id)
        history = await uow.repricings.of_session(session.id)
        last = history[-1] if history else None
        if last is None or last.outcome is not RepricingOutcome.REFUND or not last.payment_id:
            return None
        events = await uow.payments.events(last.payment_id)
    return None if refund_asked(events, last.refund_marker) else last
