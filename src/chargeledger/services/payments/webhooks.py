"""Webhooks from a PSP: verified, deduplicated by provider event id, applied in any order.

A webhook only reports facts the payment's log may already have (from the call's own answer);
facts are unique per payment, so a webhook that overtakes the answer, or repeats it, books
nothing twice. Payouts are booked once per payout id (DESIGN §5: Bank + PSPFees / PSP).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chargeledger.domain.payment_postings import paid_out
from chargeledger.domain.payments import EventKind, Operation, Payment
from chargeledger.domain.payout_reconciliation import provider_refs
from chargeledger.services.payments._operations import learn
from chargeledger.services.payments.chargebacks import apply_chargeback
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.payments.gateway import (
    GatewayTimeoutError,
    GatewayUnavailableError,
    Payout,
    WebhookEvent,
    WebhookKind,
    WebhookRejectedError,
)
from chargeledger.services.ports import UnitOfWork

log = logging.getLogger(__name__)
_DIGITS = re.compile(r"\d[\d -]{11,}\d")


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    event_id: str
    duplicate: bool
    applied: bool


async def receive_webhook(
    ctx: PaymentContext, gateway_name: str, payload: bytes, headers: Mapping[str, str]
) -> WebhookOutcome:
    """Verify and apply one delivery; a rejected one is kept (masked) and raises."""
    gateway = ctx.gateway(gateway_name)
    try:
        event = gateway.verify_webhook(payload, headers, ctx.clock.now())
        _check_lengths(event)
    except WebhookRejectedError as error:
        log.warning("webhook rejected", extra={"gateway": gateway_name, "code": error.code})
        async with ctx.uow() as uow:
            text = _DIGITS.sub("[digits]", payload[:8192].decode("utf-8", "replace"))
            await uow.payments.reject_webhook(gateway_name, error.code, text, ctx.clock.now())
            await uow.commit()
        raise
    event = await _with_payout_items(ctx, gateway_name, event)
    async with ctx.uow() as uow:
        first = await uow.payments.first_webhook(
            gateway_name, event.event_id, event.kind.value, event.provider_ref, ctx.clock.now()
        )
        if not first:
            return WebhookOutcome(event.event_id, duplicate=True, applied=False)
        applied = await apply_webhook(uow, ctx, gateway_name, event)
        await uow.commit()
    return WebhookOutcome(event.event_id, duplicate=False, applied=applied)


async def apply_webhook(
    uow: UnitOfWork, ctx: PaymentContext, gateway_name: str, event: WebhookEvent
) -> bool:
    if event.kind is WebhookKind.PAYOUT_PAID and event.payout is not None:
        return await book_payout(uow, ctx, gateway_name, event.payout)
    if event.kind is WebhookKind.DISPUTE:
        return await apply_chargeback(uow, ctx, gateway_name, event)
    payment = await _payment_of(uow, event)
    if payment is None or event.kind is WebhookKind.IGNORED:
        return False
    if payment.gateway != gateway_name:
        # A PSP speaks for its own payments only: a (sandbox-)signed event must never capture,
        # release or refund a Stripe payment or a wallet payment in our books.
        log.warning(
            "webhook for another gateway's payment",
            extra={"gateway": gateway_name, "payment": str(payment.id)},
        )
        return False
    common: dict[str, Any] = {"provider_ref": event.provider_ref}
    match event.kind:
        case WebhookKind.AUTHORISED:
            op = payment.key(Operation.AUTHORISE)
            return await learn(
                uow,
                ctx,
                payment,
                EventKind.AUTHORISED,
                amount=event.amount,
                operation=op,
                **common,
            )
        case WebhookKind.DECLINED:
            op = payment.key(Operation.AUTHORISE)
            return await learn(
                uow,
                ctx,
                payment,
                EventKind.DECLINED,
                operation=op,
                detail=_masked(event.decline_code),
                **common,
            )
        case WebhookKind.CAPTURED:
            op = payment.key(Operation.CAPTURE)
            return await learn(
                uow,
                ctx,
                payment,
                EventKind.CAPTURED,
                amount=event.amount,
                operation=op,
                **common,
            )
        case WebhookKind.RELEASED:
            op = payment.key(Operation.RELEASE)
            return await learn(uow, ctx, payment, EventKind.RELEASED, operation=op, **common)
        case WebhookKind.REFUNDED:
            return await learn(
                uow,
                ctx,
                payment,
                EventKind.REFUNDED,
                amount=event.amount,
                operation=_our_refund(payment, event.operation),
                distinct=event.refund_ref,
                **common,
            )
    return False


# Longer ids are no PSP's and do not fit their columns (payment_tables; a refund's fact is
# "refunded:<refund id>" in 120): refused as unreadable on every back end, not a 500 on one.
_MAX_LENGTHS = {"event_id": 255, "provider_ref": 255, "refund_ref": 100, "operation": 80}


def _check_lengths(event: WebhookEvent) -> None:
    for name, limit in _MAX_LENGTHS.items():
        value = getattr(event, name)
        if value is not None and len(value) > limit:
            raise WebhookRejectedError(f"{name} is longer than {limit}", code="webhook_malformed")


def _our_refund(payment: Payment, operation: str | None) -> str | None:
    """The refund's operation key when it is one of ours (a refund made at the PSP by hand
    may carry any label, which ``fold`` could not read)."""
    ours = payment.key(Operation.REFUND)
    if operation is not None and (operation == ours or operation.startswith(ours + "-")):
        return operation
    return None


def _masked(text: str | None) -> str | None:
    """Free text from outside is stored without card-like digits (DESIGN §2: no card data)."""
    return None if text is None else _DIGITS.sub("[digits]", text)[:255]


async def _payment_of(uow: UnitOfWork, event: WebhookEvent) -> Payment | None:
    if not event.reference:
        return None
    try:
        return await uow.payments.get(uuid.UUID(event.reference))
    except ValueError:
        return None  # a payment this operator did not start (another integration's)


async def _with_payout_items(
    ctx: PaymentContext, gateway_name: str, event: WebhookEvent
) -> WebhookEvent:
    """A payout event names no items (Stripe's ``payout.paid`` neither): ask the PSP, before
    the unit of work opens (no PSP call inside a transaction). A PSP that does not answer
    leaves them out; the payout is still booked, and the next ``reconcile_payouts`` keeps its
    items."""
    payout = event.payout
    if event.kind is not WebhookKind.PAYOUT_PAID or payout is None or payout.items:
        return event
    async with ctx.uow() as uow:  # a replayed event: its items are kept already
        if (await uow.payouts.items([payout.payout_id]))[payout.payout_id]:
            return event
    try:
        items = await ctx.gateway(gateway_name).payout_items(payout.payout_id)
    except (GatewayTimeoutError, GatewayUnavailableError):
        log.warning("payout items unavailable", extra={"payout": payout.payout_id})
        return event
    return replace(event, payout=replace(payout, items=items))


async def book_payout(
    uow: UnitOfWork, ctx: PaymentContext, gateway_name: str, payout: Payout
) -> bool:
    """Book a payout once: ``Assets:Bank`` (net) and ``Expenses:PSPFees`` / ``Assets:PSP``,
    and keep what it settled (``payout_items``, each PSP item once) in the same transaction.
    A payout booked without its items (the PSP could not tell them then) gets them the next
    time it is reported with them. True when the payout was booked now."""
    entry = paid_out(gateway_name, payout.payout_id, payout.gross, payout.fee, payout.arrival)
    booked = await uow.ledger.find(entry.kind, entry.source_type, entry.source_id) is None
    if booked:
        await uow.ledger.add([entry], ctx.clock.now())
    await _keep_items(uow, ctx, gateway_name, payout, check=not booked)
    return booked


async def _keep_items(
    uow: UnitOfWork, ctx: PaymentContext, gateway_name: str, payout: Payout, *, check: bool
) -> None:
    """Keep the payout's items with our payment of each, where our books know it (by the
    PSP's payment id; the PSP's echo of our reference is only a hint)."""
    if not payout.items:
        return
    if check and (await uow.payouts.items([payout.payout_id]))[payout.payout_id]:
        return
    ours = await uow.payouts.booked_payments(gateway_name, provider_refs(payout.items))
    items = [
        replace(item, payment_id=known.payment_id if known else None)
        for item in payout.items
        for known in [ours.get(item.provider_ref or "")]
    ]
    await uow.payouts.add_items(gateway_name, payout.payout_id, items, ctx.clock.now())


async def reconcile_payouts(ctx: PaymentContext, gateway_name: str, since: datetime) -> int:
    """Ask the PSP for its payouts (a missed webhook) and book the new ones."""
    payouts = await ctx.gateway(gateway_name).payouts(since)
    booked = 0
    async with ctx.uow() as uow:
        for payout in payouts:
            booked += await book_payout(uow, ctx, gateway_name, payout)
        await uow.commit()
    return booked
