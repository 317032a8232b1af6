"""``/api/v1/audit``: what the tamper-evident chain says about a record (its content hash,
chain position and, once its day is closed, the Merkle inclusion proof and the signed
checkpoint), and the closed days (issue 15). Finance reads them, as it reads the ledger."""

from __future__ import annotations

from fastapi import APIRouter

from chargeledger.api.deps import RuntimeDep
from chargeledger.api.routers.access import ReadAudit
from chargeledger.api.schemas.audit import CheckpointOut, RecordSealOut
from chargeledger.api.schemas.common import ERROR_RESPONSES, Limit, Offset, PageOut
from chargeledger.services.audit import records
from chargeledger.services.transactions import reading

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=ERROR_RESPONSES)


@router.get(
    "/records/{record_type}/{record_id}",
    summary="A record's content hash, chain position and checkpoint proof",
)
async def record_seal(
    record_type: str, record_id: str, _: ReadAudit, rt: RuntimeDep
) -> RecordSealOut:
    seal = await reading(rt.uow, records.record_seal, record_type, record_id)
    return RecordSealOut.of(seal, rt.auditor.signer.public_key)


@router.get("/checkpoints", summary="The closed days' signed checkpoints, newest first")
async def list_checkpoints(
    _: ReadAudit, rt: RuntimeDep, limit: Limit = 100, offset: Offset = 0
) -> PageOut[CheckpointOut]:
    page = await reading(rt.uow, records.list_checkpoints, limit, offset)
    key = rt.auditor.signer.public_key
    return PageOut(
        items=[CheckpointOut.of(c, key) for c in page.items], next_offset=page.next_offset
    )
