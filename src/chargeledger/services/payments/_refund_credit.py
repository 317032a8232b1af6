"""The credit note that goes with a session refund (DESIGN §5: "credit note / refund").

Issued by ``_operations.learn`` in the transaction that keeps the refund's fact, whoever
learns it (the refund call's answer, the PSP's webhook, the janitor after a timeout), so a
refund never leaves the receipt unpaid on the payer's receivable. It sits below the
operations (it runs no PSP call), so learning a fact calls down, never back up into the
refund use case built on it.
"""

from __future__ import annotations

from decimal import Decimal

from chargeledger.domain.billing import net_for_gross
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.payments import EventKind, Payment
from chargeledger.money import Currency
from chargeledger.services.billing.invoicing import issue_credit_note, session_receipt
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.payments.methods import payment_session
from chargeledger.services.ports import UnitOfWork


async def credit_session_refund(
    uow: UnitOfWork, ctx: PaymentContext, payment: Payment, gross: Decimal, key: str | None
) -> Invoice | None:
    """Credit ``gross`` of the receipt of the refunded session, with the reason the refund
    was asked with; None when the payment has no session or the session no receipt. Does
    not commit."""
    if payment.session_id is None and payment.id_tag is None:
        return None
    session = await payment_session(uow, payment)
    receipt = None if session is None else await session_receipt(uow, session.id)
    if receipt is None:
        return None
    asked = [
        e.detail
        for e in await uow.payments.events(payment.id)
        if e.operation == key and e.kind in (EventKind.REQUESTED, EventKind.REFUNDED) and e.detail
    ]
    reason = asked[0] if asked else f"refund of payment {payment.id}"
    [line] = receipt.lines[:1]
    net = net_for_gross(gross, line.vat_percent, Currency.of(receipt.currency))
    return await issue_credit_note(
        uow, ctx.clock, receipt.id, reason, ctx.time_zone, net_amount=net
    )
