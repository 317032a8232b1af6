"""Deciding an unmatched bank entry from the queue (issue 16): ``POST
/office/bank/entries/{id}/match`` (to an invoice, by number or id), ``…/credit`` (kept as a
customer account's credit) and ``…/ignore`` (no customer payment, with a note).

The same rules as ``POST /api/v1/bank/entries/{id}/match`` / ``credit`` / ``ignore`` (issue
13): their role (``WriteBank``: finance; admin always), their bounds (``api.schemas.bank``: an
invoice reference of 1–64 characters, a note of at most 500, required to ignore) and their
use cases (``bank_decisions``), so an entry decided meanwhile or an invoice that is not
payable is refused with the REST's stable code, shown at the entry's form. A decision books
money out of suspense and is final, so the form asks for an explicit confirmation (a required
checkbox, checked again here: ``confirmation_required``) and is done once per form
(``office.once``): a double submit decides once and both answers lead to the same place.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.bank_entries import BankEntry, EntryState
from chargeledger.domain.identity import Principal
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.bank_pages import ENTRIES, PAGE_SIZE, WRITE_ROLES, entries_page
from chargeledger.office.guard import admit
from chargeledger.services.billing import bank_decisions as decisions
from chargeledger.services.transactions import in_transaction, reading

router = APIRouter()
MAX_NOTE = 500
MAX_INVOICE_REFERENCE = 64
Decide = Callable[[Runtime, Principal, uuid.UUID, dict[str, str]], Awaitable[BankEntry]]


def _note(values: dict[str, str], *, required: bool) -> str | None:
    note = values["note"].strip()
    if len(note) > MAX_NOTE or (required and not note):
        raise InvalidInputError(
            f"note: {'say why, in' if required else 'at most'} {MAX_NOTE} characters",
            code="invalid_note",
            field="note",
        )
    return note or None


async def _match(
    rt: Runtime, principal: Principal, entry_id: uuid.UUID, values: dict[str, str]
) -> BankEntry:
    invoice = values["target"].strip()
    if not 0 < len(invoice) <= MAX_INVOICE_REFERENCE:
        raise InvalidInputError(
            "invoice: the number or id of the invoice this pays",
            code="invalid_invoice_reference",
            field="target",
        )
    note = _note(values, required=False)
    tz = rt.settings.operator_time_zone
    return await in_transaction(
        rt.uow, decisions.match_entry, rt.clock, tz, entry_id, invoice, principal.subject, note
    )


async def _credit(
    rt: Runtime, principal: Principal, entry_id: uuid.UUID, values: dict[str, str]
) -> BankEntry:
    try:
        account_id = uuid.UUID(values["target"].strip())
    except ValueError:
        raise InvalidInputError(
            "account: the id of the customer account to credit",
            code="invalid_account_id",
            field="target",
        ) from None
    note = _note(values, required=False)
    tz = rt.settings.operator_time_zone
    return await in_transaction(
        rt.uow,
        decisions.credit_entry,
        rt.clock,
        tz,
        entry_id,
        account_id,
        principal.subject,
        note,
    )


async def _ignore(
    rt: Runtime, principal: Principal, entry_id: uuid.UUID, values: dict[str, str]
) -> BankEntry:
    note = _note(values, required=True)
    assert note is not None
    return await in_transaction(
        rt.uow, decisions.ignore_entry, rt.clock, entry_id, principal.subject, note
    )


DECISIONS: dict[str, Decide] = {"match": _match, "credit": _credit, "ignore": _ignore}


@router.post("/bank/entries/{entry_id}/{decision}")
async def decide(
    entry_id: uuid.UUID,
    decision: str,
    request: Request,
    rt: RuntimeDep,
    target: Annotated[str, Form(max_length=200)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
    idempotency_key: Annotated[str, Form(max_length=once.MAX_KEY_LENGTH + 1)] = "",
    csrf: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    visitor = await admit(request, rt, WRITE_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor
    values = {"decision": decision, "target": target, "note": note}

    async def work() -> once.Outcome:
        chosen = DECISIONS.get(decision)
        if chosen is None:
            raise InvalidInputError(
                f"decision: one of {', '.join(DECISIONS)}", code="invalid_decision"
            )
        decided = await chosen(rt, visitor.principal, entry_id, values)
        return {"done": decided.state.value}

    try:
        if confirm != "yes":
            raise InvalidInputError(
                "tick the confirmation: a decided entry books money and is final",
                code="confirmation_required",
                field="confirm",
            )
        status, outcome = await once.once(
            rt, visitor.principal, idempotency_key, f"bank {entry_id}", values, work
        )
    except ChargeledgerError as exc:
        status, outcome = once.refusal(exc)
    if "error" in outcome:
        unmatched = EntryState.UNMATCHED
        page = await reading(rt.uow, decisions.list_entries, unmatched, PAGE_SIZE, 0)
        return entries_page(
            rt,
            visitor,
            unmatched.value,
            page,
            0,
            status_code=status,
            failed=entry_id,
            error=outcome["error"],
            values=values,
        )
    return RedirectResponse(f"{ENTRIES}?state=unmatched&decided={entry_id}", status_code=303)
