"""``/api/v1/bank``: import bank statements (camt.053 or CSV, the file as the request body),
and the entries finance works through: match one to an invoice, keep it as a customer's
credit, or set it aside with a note (issue 13). Finance writes; operators read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from chargeledger.api.body_limit import body_limit
from chargeledger.api.deps import RuntimeDep
from chargeledger.api.routers.access import ReadBank, WriteBank
from chargeledger.api.schemas.bank import BankEntryOut, CreditIn, IgnoreIn, ImportOut, MatchIn
from chargeledger.api.schemas.common import ERROR_RESPONSES, Limit, Offset, PageOut
from chargeledger.domain.bank_entries import EntryState
from chargeledger.services.billing import bank_decisions as decisions
from chargeledger.services.billing import bank_reconciliation as bank
from chargeledger.services.billing.statements import MAX_STATEMENT_BYTES
from chargeledger.services.transactions import in_transaction, reading

router = APIRouter(prefix="/api/v1/bank", tags=["bank"], responses=ERROR_RESPONSES)


@router.post(
    "/statements",
    status_code=status.HTTP_201_CREATED,
    summary="Import a bank statement file (camt.053 .001.02/.04/.08 or CSV) as the body",
    openapi_extra=body_limit(MAX_STATEMENT_BYTES),
)
async def import_statement(
    request: Request,
    principal: WriteBank,
    rt: RuntimeDep,
    filename: Annotated[str | None, Query(max_length=255)] = None,
) -> ImportOut:
    report = await bank.import_statement_file(
        rt.uow,
        rt.locks,
        rt.clock,
        rt.settings.operator_time_zone,
        rt.statements,
        await request.body(),
        filename=filename,
        imported_by=principal.subject,
    )
    return ImportOut.of(report)


@router.get("/entries", summary="Statement entries, e.g. the unmatched queue (?state=unmatched)")
async def list_entries(
    _: ReadBank,
    rt: RuntimeDep,
    state: EntryState | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[BankEntryOut]:
    page = await reading(rt.uow, decisions.list_entries, state, limit, offset)
    return PageOut(items=[BankEntryOut.of(e) for e in page.items], next_offset=page.next_offset)


@router.post("/entries/{entry_id}/match", summary="Match an unmatched receipt to an invoice")
async def match_entry(
    entry_id: uuid.UUID, body: MatchIn, principal: WriteBank, rt: RuntimeDep
) -> BankEntryOut:
    tz = rt.settings.operator_time_zone
    matched = await in_transaction(
        rt.uow,
        decisions.match_entry,
        rt.clock,
        tz,
        entry_id,
        body.invoice,
        principal.subject,
        body.note,
    )
    return BankEntryOut.of(matched)


@router.post("/entries/{entry_id}/credit", summary="Keep an unmatched receipt as account credit")
async def credit_entry(
    entry_id: uuid.UUID, body: CreditIn, principal: WriteBank, rt: RuntimeDep
) -> BankEntryOut:
    tz = rt.settings.operator_time_zone
    credited = await in_transaction(
        rt.uow,
        decisions.credit_entry,
        rt.clock,
        tz,
        entry_id,
        body.account_id,
        principal.subject,
        body.note,
    )
    return BankEntryOut.of(credited)


@router.post("/entries/{entry_id}/ignore", summary="Set aside an entry that is no customer payment")
async def ignore_entry(
    entry_id: uuid.UUID, body: IgnoreIn, principal: WriteBank, rt: RuntimeDep
) -> BankEntryOut:
    ignored = await in_transaction(
        rt.uow, decisions.ignore_entry, rt.clock, entry_id, principal.subject, body.note
    )
    return BankEntryOut.of(ignored)
