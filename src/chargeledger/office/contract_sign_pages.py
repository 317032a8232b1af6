"""Recording a contract's signature from its page (issue 16): ``POST
/office/contracts/{id}/sign``.

The same rules as ``POST /api/v1/contracts/{id}/sign`` (issue 14): its role
(``WriteContracts``: finance; admin always) and its use case (``records.sign_contract``), so
a contract signed already (``contract_signed``) or a signature dated after today
(``signed_in_future``) is refused with the REST's stable code, shown at the form. From its
start on a signed contract prices and bills, and a signature is never taken back, so the form
asks for an explicit confirmation (a required checkbox, checked again here:
``confirmation_required``) and is done once per form (``office.once``).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from chargeledger.api.deps import RuntimeDep
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.contract_pages import LIST, SIGN_ROLES, detail_page
from chargeledger.office.guard import admit
from chargeledger.office.listing import day_filter
from chargeledger.services.billing.invoicing import today
from chargeledger.services.contracts import records
from chargeledger.services.transactions import in_transaction

router = APIRouter()


@router.post("/contracts/{contract_id}/sign")
async def sign(
    contract_id: uuid.UUID,
    request: Request,
    rt: RuntimeDep,
    signed_on: Annotated[str, Form(max_length=40)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
    idempotency_key: Annotated[str, Form(max_length=once.MAX_KEY_LENGTH + 1)] = "",
    csrf: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    visitor = await admit(request, rt, SIGN_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor
    values = {"signed_on": signed_on}

    async def work() -> once.Outcome:
        on = today(rt.clock, rt.settings.operator_time_zone)
        try:
            day = day_filter(signed_on, "signed_on") or on
        except InvalidInputError as exc:
            raise InvalidInputError(exc.message, code="invalid_date", field="signed_on") from None
        await in_transaction(rt.uow, records.sign_contract, rt.clock, contract_id, day, on)
        return {"done": str(contract_id)}

    try:
        if confirm != "yes":
            raise InvalidInputError(
                "tick the confirmation: a signed contract prices and bills",
                code="confirmation_required",
                field="confirm",
            )
        status, outcome = await once.once(
            rt, visitor.principal, idempotency_key, f"sign {contract_id}", values, work
        )
    except ChargeledgerError as exc:
        status, outcome = once.refusal(exc)
    if "error" in outcome:
        form = {"key": once.new_key(), "values": values, "error": outcome["error"]}
        return await detail_page(rt, visitor, contract_id, status_code=status, sign=form)
    return RedirectResponse(f"{LIST}/{contract_id}?signed=yes", status_code=303)
