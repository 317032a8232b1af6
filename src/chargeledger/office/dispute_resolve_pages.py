"""Resolving a dispute from its page (issue 16): ``POST /office/disputes/{id}/resolve`` —
refund, credit note, re-price, or rejected with a reason — in two steps.

The same rules as ``POST /api/v1/disputes/{id}/resolve`` (issue 15): its role
(``ResolveDisputes``: finance; admin always), its bounds (``api.schemas.disputes.ResolveIn``:
an amount above 0 and at most 1,000,000 with two decimals, readings of at most three) and its
use case (``resolution.resolve_dispute``), so a rejection without a reason or a refund with
nothing to refund is refused with the REST's stable code, shown in the form. A resolution
moves money and closes the case for good, so the first POST only shows what will happen and
asks to confirm; the second (``confirm=yes``) resolves, exactly once per form
(``office.once``: the key generated with the case page's form travels through the
confirmation), and leads back to the case.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.disputes import Resolution
from chargeledger.domain.disputes import resolve as resolve_case
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.dispute_pages import LIST, RESOLVE_ROLES, detail_page, not_found
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.pages import render
from chargeledger.services.disputes import cases
from chargeledger.services.disputes.resolution import ResolutionRequest, resolve_dispute
from chargeledger.services.transactions import reading

router = APIRouter()
Short = Annotated[str, Form(max_length=60)]
MAX_AMOUNT = Decimal(1_000_000)
MAX_READING = Decimal("1e12")
FIELDS = ("resolution", "note", "amount", "tariff_id", "meter_start_wh", "meter_stop_wh")


def _decimal(text: str, field: str, places: int, top: Decimal, *, positive: bool) -> Decimal | None:
    """A bounded decimal as ``ResolveIn`` takes it; empty: not given."""
    if not text.strip():
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not _within(value, places, top, positive=positive):
        raise InvalidInputError(
            f"{field}: a number {'above' if positive else 'from'} 0 up to {top:f} "
            f"with at most {places} decimals",
            code="invalid_number",
            field=field,
        )
    return value


def _within(value: Decimal, places: int, top: Decimal, *, positive: bool) -> bool:
    low_ok = value > 0 if positive else value >= 0
    return low_ok and value <= top and value == round(value, places)


def resolution_request(values: dict[str, str]) -> ResolutionRequest:
    """The form as the use case's request; ``InvalidInputError`` naming the wrong field."""
    try:
        resolution = Resolution(values["resolution"])
    except ValueError:
        known = ", ".join(r.value for r in Resolution)
        raise InvalidInputError(
            f"resolution: one of {known}", code="invalid_resolution", field="resolution"
        ) from None
    tariff: uuid.UUID | None = None
    if values["tariff_id"].strip():
        try:
            tariff = uuid.UUID(values["tariff_id"].strip())
        except ValueError:
            raise InvalidInputError(
                "tariff_id: a tariff's id", code="invalid_tariff_id", field="tariff_id"
            ) from None
    return ResolutionRequest(
        resolution,
        values["note"].strip() or None,
        _decimal(values["amount"], "amount", 2, MAX_AMOUNT, positive=True),
        tariff_id=tariff,
        meter_start_wh=_reading(values["meter_start_wh"], "meter_start_wh"),
        meter_stop_wh=_reading(values["meter_stop_wh"], "meter_stop_wh"),
    )


def _reading(text: str, field: str) -> Decimal | None:
    return _decimal(text, field, 3, MAX_READING, positive=False)


@router.post("/disputes/{dispute_id}/resolve")
async def resolve(
    dispute_id: uuid.UUID,
    request: Request,
    rt: RuntimeDep,
    resolution: Short = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    amount: Short = "",
    tariff_id: Short = "",
    meter_start_wh: Short = "",
    meter_stop_wh: Short = "",
    confirm: Short = "",
    idempotency_key: Annotated[str, Form(max_length=once.MAX_KEY_LENGTH + 1)] = "",
    csrf: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    visitor = await admit(request, rt, RESOLVE_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor
    values = dict(
        zip(
            FIELDS,
            (resolution, note, amount, tariff_id, meter_start_wh, meter_stop_wh),
            strict=True,
        )
    )

    async def work() -> once.Outcome:
        wanted = resolution_request(values)
        await resolve_dispute(rt.payments, visitor.principal, dispute_id, wanted)
        return {"done": str(dispute_id)}

    try:
        if confirm != "yes":  # the first step: check what can be checked, then ask
            wanted = resolution_request(values)
            return await _confirmation(rt, visitor, dispute_id, values, wanted, idempotency_key)
        status, outcome = await once.once(
            rt, visitor.principal, idempotency_key, f"resolve {dispute_id}", values, work
        )
    except ChargeledgerError as exc:
        status, outcome = once.refusal(exc)
    if "error" in outcome:
        form = {"key": once.new_key(), "values": values, "error": outcome["error"]}
        return await detail_page(rt, visitor, dispute_id, status_code=status, resolve=form)
    return RedirectResponse(f"{LIST}/{dispute_id}?done=resolved", status_code=303)


def _what(wanted: ResolutionRequest, currency: str) -> str:
    """What the resolution will do, in words."""
    match wanted.resolution:
        case Resolution.REFUND:
            return (
                "refund everything still refundable of the payment"
                if wanted.amount is None
                else f"refund {wanted.amount} {currency} (gross) of the payment"
            )
        case Resolution.CREDIT_NOTE:
            return (
                "issue a credit note for the disputed line or document"
                if wanted.amount is None
                else f"issue a credit note of {wanted.amount} {currency} net (plus its VAT)"
            )
        case Resolution.REPRICE:
            return "price the session again and issue the difference"
    return "reject the dispute: the charge stands"


async def _confirmation(
    rt: Runtime,
    visitor: Visitor,
    dispute_id: uuid.UUID,
    values: dict[str, str],
    wanted: ResolutionRequest,
    key: str,
) -> Response:
    try:
        case = await reading(rt.uow, cases.visible_case, visitor.principal, dispute_id)
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return not_found(visitor, exc)
    # The domain's own check, before anything is asked: a closed case, a rejection without
    # its reason (``dispute_closed``, ``rejection_reason_missing``).
    resolve_case(
        case,
        wanted.resolution,
        note=wanted.note,
        by=visitor.principal.subject,
        now=rt.clock.now(),
        outcome_ref=None,
    )
    return render(
        "dispute_resolve_confirm.html",
        title="Confirm the resolution",
        **visitor.context("disputes"),
        case=case,
        values=values,
        key=key,
        what=_what(wanted, case.currency.code),
    )
