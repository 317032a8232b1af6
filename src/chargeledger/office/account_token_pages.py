"""Blocking and unblocking an account's token from its page (issue 16): ``POST
/office/accounts/{id}/tokens/{token_id}/status``, in two steps.

The same rules as ``PATCH /api/v1/tokens/{id}`` with ``{"status": …}``: its roles
(``BlockTokens``, in the office finance and operator; admin always) and its use case
(``customers.update_token``). A blocked card is refused at every station at once (OCPP
Authorize), so the first POST only says what will change and asks to confirm; the second
(``confirm=yes``) changes it and leads back to the account. Setting a status a token already
has changes nothing, so a double submit is harmless.
"""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from chargeledger.api.deps import RuntimeDep
from chargeledger.domain.accounts import TokenStatus
from chargeledger.errors import ChargeledgerError, InvalidInputError, NotFoundError
from chargeledger.office.accounts_pages import LIST, TOKEN_ROLES, account_page
from chargeledger.office.guard import admit
from chargeledger.office.pages import render
from chargeledger.services import customers
from chargeledger.services.transactions import in_transaction, reading

router = APIRouter()
Short = Annotated[str, Form(max_length=40)]
SETTABLE = (TokenStatus.BLOCKED, TokenStatus.ACTIVE)


def _status(text: str) -> TokenStatus:
    if text not in {s.value for s in SETTABLE}:
        raise InvalidInputError(
            "status: blocked or active", code="invalid_token_status", field="status"
        )
    return TokenStatus(text)


@router.post("/accounts/{account_id}/tokens/{token_id}/status")
async def token_status(
    account_id: uuid.UUID,
    token_id: uuid.UUID,
    request: Request,
    rt: RuntimeDep,
    status: Short = "",
    confirm: Short = "",
    csrf: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    visitor = await admit(request, rt, TOKEN_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor
    try:
        wanted = _status(status)
        token = await reading(rt.uow, customers.get_token, visitor.principal, token_id)
        if token.account_id != account_id:
            raise NotFoundError(
                f"token {token_id} is not one of this account's", code="token_not_found"
            )
        if confirm != "yes":
            return render(
                "token_confirm.html",
                title="Confirm the token change",
                **visitor.context("accounts"),
                token=token,
                account_id=account_id,
                wanted=wanted.value,
            )
        changed = await in_transaction(
            rt.uow,
            customers.update_token,
            rt.clock,
            visitor.principal,
            token_id,
            {"status": wanted},
        )
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return await account_page(
            rt, visitor, account_id, status_code=exc.http_status, token_error=exc.as_dict()
        )
    done = urlencode({"done": f"token {changed.uid} {changed.status.value}"})
    return RedirectResponse(f"{LIST}/{account_id}?{done}#tokens", status_code=303)
