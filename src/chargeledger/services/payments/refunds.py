"""Refunds, full or partial, with a reason; and paying an invoice by card.

A refund of a session gives money back *and* corrects the receipt: the PSP refunds first,
then a credit note for the same gross amount reduces revenue and VAT (DESIGN §5: "credit note
/ refund"). A refund of a wallet session goes back into the wallet; a refund of a top-up
takes it out of the wallet again.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from decimal import Decimal

from chargeledger.domain.payment_postings import WALLET_GATEWAY
from chargeledger.domain.payments import (
    EventKind,
    Operation,
    Payment,
    PaymentEvent,
    PaymentMethodKind,
    PaymentPurpose,
    PaymentState,
    StoredCard,
)
from chargeledger.domain.text import money_text, required_text
from chargeledger.errors import ConflictError, InvalidInputError
from chargeledger.money import Currency, Money
from chargeledger.services.billing.invoicing import get_invoice, open_amount
from chargeledger.services.locking import exclusive
from chargeledger.services.payments._operations import (
    PAYMENT_BUSY,
    learn,
    load,
    payment_lock,
    run_operation,
    state_of,
)
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.payments.wallets import wallet_balance, wallet_lock


async def refund_payment(
    ctx: PaymentContext,
    payment_id: uuid.UUID,
    amount: Decimal | None,
    reason: str,
) -> tuple[Payment, PaymentState]:
    """Give back ``amount`` (all that is left when None) of a captured payment.

    Decided and done under the payment's lock (a top-up's also under its wallet's, whose
    balance limits it): the limit and the refund's number, hence its PSP idempotency key,
    come from the state read under it, so parallel refunds are each a refund of their own at
    the PSP, or refused having done nothing. The state returned is the one right after it.
    """
    reason = required_text(reason, "reason")
    async with ctx.uow() as uow:
        payment = await load(uow, payment_id)
    async with contextlib.AsyncExitStack() as held:
        await held.enter_async_context(payment_lock(ctx, payment.id))
        if payment.purpose is PaymentPurpose.TOP_UP and payment.account_id is not None:
            await held.enter_async_context(wallet_lock(ctx, payment.account_id))
        await _refund(ctx, payment, amount, reason)
        # A session refund's credit note is issued with the refund's fact (``learn``), also
        # when the janitor or a webhook learns it after a timeout.
        async with ctx.uow() as uow:
            return payment, await state_of(uow, payment)


async def refund_once(
    ctx: PaymentContext, payment_id: uuid.UUID, amount: Decimal | None, reason: str, marker: str
) -> tuple[Payment, PaymentState]:
    """Give back ``amount`` (None: all that is left) of a captured payment for the purpose
    ``reason`` starts with ``marker`` (a re-pricing's, a dispute case's), once: a refund
    already asked with it (answered, in doubt or under way) is not asked again; only one the
    PSP declined is. Decided under the payment's lock like :func:`refund_payment`, so a retry
    at the same moment finds the first."""
    async with ctx.uow() as uow:
        payment = await load(uow, payment_id)
    async with contextlib.AsyncExitStack() as held:
        await held.enter_async_context(payment_lock(ctx, payment.id))
        if payment.purpose is PaymentPurpose.TOP_UP and payment.account_id is not None:
            await held.enter_async_context(wallet_lock(ctx, payment.account_id))
        async with ctx.uow() as uow:
            events = await uow.payments.events(payment.id)
        if not refund_asked(events, marker):
            await _refund(ctx, payment, amount, reason)
        async with ctx.uow() as uow:
            return payment, await state_of(uow, payment)


def refund_asked(events: Sequence[PaymentEvent], marker: str) -> bool:
    """Whether a refund asked with ``marker`` was made, is in doubt or under way (asked and
    not declined)."""
    asked = {
        e.operation
        for e in events
        if e.kind in (EventKind.REQUESTED, EventKind.REFUNDED)
        and e.operation
        and (e.detail or "").startswith(marker)
    }
    declined = {e.operation for e in events if e.kind is EventKind.REFUND_FAILED}
    return bool(asked - declined)


async def _refund(
    ctx: PaymentContext, payment: Payment, amount: Decimal | None, reason: str
) -> None:
    async with ctx.uow() as uow:
        state = await state_of(uow, payment)
        limit = state.refundable
        if payment.purpose is PaymentPurpose.TOP_UP and payment.account_id is not None:
            limit = min(limit, await wallet_balance(uow, payment.account_id))
    currency = Currency.of(payment.currency)
    wanted = limit if amount is None else amount
    if state.open_operations:
        raise ConflictError(
            "an operation of this payment is still in doubt; try again after the janitor",
            code="payment_in_doubt",
        )
    if wanted <= 0 or wanted > limit or wanted != wanted.quantize(currency.quantum):
        raise InvalidInputError(
            f"a refund is more than 0 and at most {money_text(limit, currency.code)}",
            code="invalid_refund_amount",
            field="amount",
        )
    number = state.refunds + 1
    if payment.gateway == WALLET_GATEWAY:
        async with ctx.uow() as uow:
            key = payment.key(Operation.REFUND, number)
            await learn(
                uow,
                ctx,
                payment,
                EventKind.REFUNDED,
                amount=wanted,
                operation=key,
                detail=reason[:255],
                distinct=key,
            )
            await uow.commit()
        return
    money = Money(wanted, currency)
    await run_operation(
        ctx,
        payment,
        Operation.REFUND,
        wanted,
        lambda gw, key: gw.refund(
            provider_ref=state.provider_ref or "",
            amount=money,
            idempotency_key=key,
            reason=reason,
        ),
        number=number,
        detail=reason[:255],
    )


async def pay_invoice(
    ctx: PaymentContext, invoice_id: uuid.UUID, card: StoredCard, payment_id: uuid.UUID
) -> tuple[Payment, PaymentState]:
    """Charge the card for what is still open on an issued invoice (DESIGN §5: PSP /
    Receivable). One payment of an invoice at a time: the open amount is read under the
    invoice's lock, so two payments sent at once cannot both take it."""
    name = f"invoice-payment:{invoice_id}"
    async with exclusive(
        ctx.locks, name, ctx.lock_wait, code=PAYMENT_BUSY, what=f"invoice {invoice_id}"
    ):
        payment = await _invoice_payment(ctx, invoice_id, card, payment_id)
        async with ctx.uow() as uow:
            return payment, await state_of(uow, payment)


async def _invoice_payment(
    ctx: PaymentContext, invoice_id: uuid.UUID, card: StoredCard, payment_id: uuid.UUID
) -> Payment:
    async with ctx.uow() as uow:
        invoice = await get_invoice(uow, invoice_id)
        due = await open_amount(uow, invoice)
        existing = await uow.payments.get(payment_id)
    if invoice.account_id is None or card.account_id != invoice.account_id:
        raise InvalidInputError("the card is not on the invoice's account", code="card_not_found")
    if existing is None and due <= 0:
        raise ConflictError("the invoice is paid", code="invoice_paid")
    payment = existing or Payment(
        id=payment_id,
        purpose=PaymentPurpose.INVOICE,
        method=PaymentMethodKind.APP,
        gateway=card.gateway,
        currency=invoice.currency,
        account_id=invoice.account_id,
        invoice_id=invoice.id,
        method_token=card.token,
    )
    if existing is None:
        async with ctx.uow() as uow:
            await uow.payments.add(payment, ctx.clock.now())
            await uow.commit()
    money = Money.of(due, invoice.currency)
    await run_operation(
        ctx,
        payment,
        Operation.AUTHORISE,
        money.amount,
        lambda gw, key: gw.authorise(
            amount=money,
            method_token=card.token,
            idempotency_key=key,
            reference=str(payment.id),
            capture=True,
        ),
    )
    return payment
