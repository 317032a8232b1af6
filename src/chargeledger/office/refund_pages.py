"""Refunding a payment from its page (issue 16): ``POST /office/payments/{id}/refund``, in
two steps.

The same rules as ``POST /api/v1/payments/{id}/refunds``: its role (``WriteBilling``:
finance; admin always) and its use case (``refunds.refund_payment``, which decides and asks
the PSP under the payment's lock, so parallel refunds never share a PSP key), so an amount
above what is left, a payment still in doubt or a busy payment is refused with the REST's
stable code, shown in the form. A refund sends money back and cannot be undone, so the first
POST only shows what will be refunded and what is left to refund and asks to confirm; the
second (``confirm=yes``) refunds, exactly once per form (``office.once``: the key generated
with the detail page's form travels through the confirmation; a double submit or a second
tab with the same form refunds once), and leads back to the payment's page.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.text import money_text, required_text
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.pages import render
from chargeledger.office.payments_pages import LIST, REFUND_ROLES, detail_page, not_found
from chargeledger.services.payments import views as payment_views
from chargeledger.services.payments.refunds import refund_payment
from chargeledger.services.transactions import reading

router = APIRouter()
Short = Annotated[str, Form(max_length=40)]


def refund_amount(text: str) -> Decimal | None:
    """The amount to refund, or None for all that is left (left empty). Whether it fits is
    the use case's decision (``invalid_refund_amount``), made under the payment's lock."""
    if not text.strip():
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0:
        raise InvalidInputError(
            "amount: a positive amount like 12.50, or empty to refund all that is left",
            code="invalid_refund_amount",
            field="amount",
        )
    return value


def _checked(amount: str, reason: str) -> tuple[Decimal | None, str]:
    return refund_amount(amount), required_text(reason, "reason", 255)


@router.post("/payments/{payment_id}/refund")
async def refund(
    payment_id: uuid.UUID,
    request: Request,
    rt: RuntimeDep,
    reason: Annotated[str, Form(max_length=2000)] = "",
    amount: Short = "",
    confirm: Short = "",
    idempotency_key: Annotated[str, Form(max_length=once.MAX_KEY_LENGTH + 1)] = "",
    csrf: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    visitor = await admit(request, rt, REFUND_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor
    values = {"reason": reason, "amount": amount}

    async def work() -> once.Outcome:
        wanted, why = _checked(amount, reason)
        _, state = await refund_payment(rt.payments, payment_id, wanted, why)
        return {"done": str(payment_id), "refunded": str(state.refunded)}

    try:
        if confirm != "yes":  # the first step: check what can be checked, then ask
            _checked(amount, reason)
            return await _confirmation(rt, visitor, payment_id, values, idempotency_key)
        status, outcome = await once.once(
            rt, visitor.principal, idempotency_key, f"refund {payment_id}", values, work
        )
    except ChargeledgerError as exc:
        status, outcome = once.refusal(exc)
    if "error" in outcome:
        form = {"key": once.new_key(), "values": values, "error": outcome["error"]}
        return await detail_page(rt, visitor, payment_id, status_code=status, refund=form)
    return RedirectResponse(f"{LIST}/{outcome['done']}?refunded=1", status_code=303)


async def _confirmation(
    rt: Runtime, visitor: Visitor, payment_id: uuid.UUID, values: dict[str, str], key: str
) -> Response:
    try:
        detail = await reading(rt.uow, payment_views.visible_payment, visitor.principal, payment_id)
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return not_found(visitor, exc)
    currency = str(detail.payment.currency)
    wanted = refund_amount(values["amount"])
    left = detail.state.refundable
    return render(
        "refund_confirm.html",
        title="Confirm the refund",
        **visitor.context("payments"),
        payment=detail.payment,
        values=values,
        key=key,
        what=f"all that is left ({money_text(left, currency)})"
        if wanted is None
        else money_text(wanted, currency),
        refundable=money_text(left, currency),
        captured=money_text(detail.state.captured, currency),
    )
