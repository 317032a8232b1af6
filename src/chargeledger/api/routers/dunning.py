"""``/api/v1/dunning/runs`` and an invoice's dunning: its notices and disputes (issue 13).
Finance runs dunning, opens or closes disputes and waives what a notice claimed; every reader
of an invoice sees its history (drivers and fleet managers their own account's)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from chargeledger.api.deps import RuntimeDep
from chargeledger.api.routers.access import ReadBilling, WriteBilling
from chargeledger.api.schemas.common import ERROR_RESPONSES
from chargeledger.api.schemas.dunning import (
    DisputeIn,
    DunningEventOut,
    DunningRunIn,
    DunningRunOut,
    WaiveIn,
)
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Principal
from chargeledger.services.billing import dunning
from chargeledger.services.transactions import in_transaction, reading

router = APIRouter(prefix="/api/v1", tags=["dunning"], responses=ERROR_RESPONSES)


@router.post("/dunning/runs", summary="Send the dunning notices due (idempotent per level)")
async def run_dunning(body: DunningRunIn, _: WriteBilling, rt: RuntimeDep) -> DunningRunOut:
    report = await in_transaction(
        rt.uow, dunning.run_dunning, rt.clock, rt.dunning_terms(), body.date
    )
    return DunningRunOut.of(report)


@router.get("/invoices/{invoice_id}/dunning", summary="An invoice's notices and disputes")
async def dunning_history(
    invoice_id: uuid.UUID, principal: ReadBilling, rt: RuntimeDep
) -> list[DunningEventOut]:
    events = await reading(rt.uow, dunning.dunning_history, principal, invoice_id)
    return [DunningEventOut.of(e) for e in events]


async def _dispute(
    rt: Runtime, principal: Principal, invoice_id: uuid.UUID, disputed: bool, note: str | None
) -> list[DunningEventOut]:
    events = await in_transaction(
        rt.uow,
        dunning.set_disputed,
        rt.clock,
        rt.settings.operator_time_zone,
        invoice_id,
        disputed,
        principal.subject,
        note,
    )
    return [DunningEventOut.of(e) for e in events]


@router.post("/invoices/{invoice_id}/dispute", summary="Pause dunning: the invoice is disputed")
async def dispute(
    invoice_id: uuid.UUID, body: DisputeIn, principal: WriteBilling, rt: RuntimeDep
) -> list[DunningEventOut]:
    return await _dispute(rt, principal, invoice_id, True, body.note)


@router.post("/invoices/{invoice_id}/undispute", summary="Resume dunning: the dispute is over")
async def undispute(
    invoice_id: uuid.UUID, body: DisputeIn, principal: WriteBilling, rt: RuntimeDep
) -> list[DunningEventOut]:
    return await _dispute(rt, principal, invoice_id, False, body.note)


@router.post(
    "/invoices/{invoice_id}/dunning/{level}/waive",
    summary="Waive what a notice claimed (fee, compensation, interest)",
)
async def waive(
    invoice_id: uuid.UUID,
    level: Annotated[int, Path(ge=1, le=99)],
    body: WaiveIn,
    principal: WriteBilling,
    rt: RuntimeDep,
) -> list[DunningEventOut]:
    events = await in_transaction(
        rt.uow,
        dunning.waive_claim,
        rt.clock,
        rt.settings.operator_time_zone,
        invoice_id,
        level,
        principal.subject,
        body.note,
    )
    return [DunningEventOut.of(e) for e in events]
