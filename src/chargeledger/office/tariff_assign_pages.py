"""Assigning a tariff version from its page (issue 16): ``POST /office/tariffs/{id}/assign``.

The same rules as ``POST /api/v1/tariffs/{id}/assignments``: its roles (``WriteTariffs``:
operator and finance; admin always) and its use case (``tariffs.assign_tariff``), so an
unknown scope id, a connector not written ``STATION_ID:EVSE:CONNECTOR`` or a tariff whose
stated VAT is not the VAT due where it would apply (``tariff_vat_mismatch``) is refused with
the REST's stable code, shown in the form (answered with the error's status). An assignment
decides what every later session there pays, so it runs exactly once per rendered form
(``office.once``): a double submit assigns once and both answers lead to the tariff's page.
"""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from chargeledger.api.deps import RuntimeDep
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.guard import admit
from chargeledger.office.tariffs_pages import ASSIGN_ROLES, LIST, tariff_page
from chargeledger.services import tariffs
from chargeledger.services.transactions import in_transaction

router = APIRouter()
Short = Annotated[str, Form(max_length=40)]


def _scope(text: str) -> TariffScope:
    try:
        return TariffScope(text)
    except ValueError:
        known = ", ".join(s.value for s in TariffScope)
        raise InvalidInputError(
            f"scope: one of {known}", code="invalid_scope", field="scope"
        ) from None


@router.post("/tariffs/{tariff_id}/assign")
async def assign(
    tariff_id: uuid.UUID,
    request: Request,
    rt: RuntimeDep,
    scope: Short = "",
    scope_id: Annotated[str, Form(max_length=120)] = "",
    idempotency_key: Annotated[str, Form(max_length=once.MAX_KEY_LENGTH + 1)] = "",
    csrf: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    visitor = await admit(request, rt, ASSIGN_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor
    values = {"scope": scope, "scope_id": scope_id.strip()}

    async def work() -> once.Outcome:
        assignment = await in_transaction(
            rt.uow,
            tariffs.assign_tariff,
            rt.clock,
            tariff_id,
            _scope(scope),
            values["scope_id"] or None,
            rt.settings.vat_rates,
        )
        return {"done": f"{assignment.scope.value} {assignment.scope_id}"}

    try:
        status, outcome = await once.once(
            rt, visitor.principal, idempotency_key, f"assign {tariff_id}", values, work
        )
    except ChargeledgerError as exc:
        status, outcome = once.refusal(exc)
    if "error" in outcome:
        form = {"key": once.new_key(), "values": values, "error": outcome["error"]}
        return await tariff_page(rt, visitor, tariff_id, None, status_code=status, assign=form)
    done = urlencode({"assigned": outcome["done"]})
    return RedirectResponse(f"{LIST}/{tariff_id}?{done}#assignments", status_code=303)
