"""Issuing a credit note from a document's page (issue 16): ``POST
/office/invoices/{id}/credit-note``, in two steps.

The same rules as ``POST /api/v1/invoices/{id}/credit-notes``: its role (``WriteBilling``:
finance; admin always) and its use case (``invoice_documents.credit_document``), so a credit
that is too large, of a draft or of a credit note is refused with the REST's stable code,
shown in the form (the page answered with the error's status). A credit note books money and
can never be taken back (Directive 2006/112/EC art. 219), so the first POST only shows what
will be issued and asks to confirm; the second (``confirm=yes``) issues it, exactly once per
form (``office.once``: the key generated with the detail page's form travels through the
confirmation), and leads to the new credit note's page.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.text import money_text
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.invoices_pages import CREDIT_ROLES, LIST, detail_page, not_found
from chargeledger.office.pages import render
from chargeledger.services.billing import invoice_documents
from chargeledger.services.billing.invoicing import today
from chargeledger.services.transactions import reading

router = APIRouter()
Short = Annotated[str, Form(max_length=40)]


def _amount(text: str) -> Decimal | None:
    """The net amount to credit, or None for the whole document (left empty)."""
    if not text.strip():
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0:
        raise InvalidInputError(
            "amount: a positive net amount like 12.50, or empty to credit it all",
            code="invalid_amount",
            field="net_amount",
        )
    return value


@router.post("/invoices/{invoice_id}/credit-note")
async def credit_note(
    invoice_id: uuid.UUID,
    request: Request,
    rt: RuntimeDep,
    reason: Annotated[str, Form(max_length=2000)] = "",
    net_amount: Short = "",
    confirm: Short = "",
    idempotency_key: Annotated[str, Form(max_length=once.MAX_KEY_LENGTH + 1)] = "",
    csrf: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    visitor = await admit(request, rt, CREDIT_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor
    zone = rt.settings.operator_time_zone
    values = {"reason": reason, "net_amount": net_amount}

    async def work() -> once.Outcome:
        if not reason.strip():
            raise InvalidInputError(
                "reason: say why the document is corrected (printed on the credit note)",
                code="reason_required",
                field="reason",
            )
        async with rt.uow() as uow:
            note = await invoice_documents.credit_document(
                uow,
                rt.clock,
                invoice_id,
                reason.strip(),
                zone,
                None,
                _amount(net_amount),
                today(rt.clock, zone),
            )
            await uow.commit()
        return {"done": str(note.invoice.id)}

    try:
        if confirm != "yes":  # the first step: check what can be checked, then ask
            _amount(net_amount)
            if not reason.strip():
                raise InvalidInputError(
                    "reason: say why the document is corrected (printed on the credit note)",
                    code="reason_required",
                    field="reason",
                )
            return await _confirmation(rt, visitor, invoice_id, values, idempotency_key)
        status, outcome = await once.once(
            rt, visitor.principal, idempotency_key, f"credit {invoice_id}", values, work
        )
    except ChargeledgerError as exc:
        status, outcome = once.refusal(exc)
    if "error" in outcome:
        credit = {"key": once.new_key(), "values": values, "error": outcome["error"]}
        return await detail_page(rt, visitor, invoice_id, status_code=status, credit=credit)
    return RedirectResponse(f"{LIST}/{outcome['done']}?credited={invoice_id}", status_code=303)


async def _confirmation(
    rt: Runtime, visitor: Visitor, invoice_id: uuid.UUID, values: dict[str, str], key: str
) -> Response:
    on = today(rt.clock, rt.settings.operator_time_zone)
    try:
        view = await reading(
            rt.uow, invoice_documents.visible_view, visitor.principal, invoice_id, on
        )
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return not_found(visitor, exc)
    invoice = view.invoice
    currency = str(invoice.currency)
    amount = _amount(values["net_amount"])
    return render(
        "credit_note_confirm.html",
        title="Confirm the credit note",
        **visitor.context("invoices"),
        invoice=invoice,
        values=values,
        key=key,
        what=f"all of it ({money_text(invoice.net_total, currency)} net)"
        if amount is None
        else f"{money_text(amount, currency)} net (plus its VAT)",
        gross=money_text(invoice.gross_total, currency),
    )
