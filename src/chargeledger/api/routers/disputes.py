"""``/api/v1/disputes``: dispute cases from drivers, fleet managers, staff and the PSP
(issue 15). Resolving moves money and honours ``Idempotency-Key``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from chargeledger.api.body_limit import body_limit
from chargeledger.api.deps import RuntimeDep
from chargeledger.api.idempotency import idempotent
from chargeledger.api.routers.access import (
    OpenDisputes,
    ReadDisputes,
    ResolveDisputes,
    ReviewDisputes,
)
from chargeledger.api.schemas.common import ERROR_RESPONSES, Limit, Offset, PageOut
from chargeledger.api.schemas.disputes import (
    DISPUTE_BODY_BYTES,
    CaseNoteIn,
    CaseOut,
    DisputeIn,
    DisputeOut,
    ResolveIn,
)
from chargeledger.bootstrap import Runtime
from chargeledger.domain.disputes import DisputeState, Subject
from chargeledger.domain.evidence import EvidencePack
from chargeledger.domain.identity import Principal
from chargeledger.services.disputes import case_evidence, cases
from chargeledger.services.disputes.case_ports import DisputeFilter
from chargeledger.services.disputes.resolution import resolve_dispute
from chargeledger.services.transactions import in_transaction, reading

router = APIRouter(prefix="/api/v1", tags=["disputes"], responses=ERROR_RESPONSES)


@router.post(
    "/disputes",
    summary="Open a dispute on a session, an invoice line or a payment",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=body_limit(DISPUTE_BODY_BYTES),
)
async def open_dispute(body: DisputeIn, principal: OpenDisputes, rt: RuntimeDep) -> CaseOut:
    request = cases.CaseRequest(
        subject=Subject(
            session_id=body.session_id,
            invoice_id=body.invoice_id,
            line=body.line,
            payment_id=body.payment_id,
        ),
        reason=body.reason,
        description=body.description,
        amount=body.amount,
        attachment=None if body.attachment is None else body.attachment.attachment(),
    )
    found = await in_transaction(
        rt.uow,
        cases.open_dispute,
        rt.clock,
        rt.settings.operator_time_zone,
        principal,
        request,
        staff_email=rt.settings.operator.get("email") or None,
    )
    return CaseOut.of_file(found)


@router.get("/disputes", summary="Dispute cases, newest first")
async def list_disputes(
    principal: ReadDisputes,
    rt: RuntimeDep,
    state: DisputeState | None = None,
    open_only: bool = False,
    session_id: uuid.UUID | None = None,
    invoice_id: uuid.UUID | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[DisputeOut]:
    criteria = DisputeFilter(
        state=state, open_only=open_only, session_id=session_id, invoice_id=invoice_id
    )
    page = await reading(rt.uow, cases.list_cases, principal, criteria, limit, offset)
    return PageOut(items=[DisputeOut.of(d) for d in page.items], next_offset=page.next_offset)


@router.get("/disputes/{dispute_id}", summary="A case with its history and attachments")
async def get_dispute(dispute_id: uuid.UUID, principal: ReadDisputes, rt: RuntimeDep) -> CaseOut:
    return CaseOut.of_file(await reading(rt.uow, cases.case_file, principal, dispute_id))


@router.post(
    "/disputes/{dispute_id}/notes",
    summary="Add a note or an attachment to an open case",
    openapi_extra=body_limit(DISPUTE_BODY_BYTES),
)
async def add_note(
    dispute_id: uuid.UUID, body: CaseNoteIn, principal: OpenDisputes, rt: RuntimeDep
) -> CaseOut:
    attachment = None if body.attachment is None else body.attachment.attachment()
    found = await in_transaction(
        rt.uow, cases.add_to_case, rt.clock, principal, dispute_id, body.note, attachment
    )
    return CaseOut.of_file(found)


@router.get(
    "/disputes/{dispute_id}/attachments/{attachment_id}",
    summary="An attachment of a case, as it was sent",
    response_class=Response,
)
async def get_attachment(
    dispute_id: uuid.UUID, attachment_id: uuid.UUID, principal: ReadDisputes, rt: RuntimeDep
) -> Response:
    stored, content = await reading(
        rt.uow, cases.attachment_content, principal, dispute_id, attachment_id
    )
    return Response(
        content,
        media_type=stored.media_type,
        headers={"Content-Disposition": f'attachment; filename="{stored.name}"'},
    )


@router.post("/disputes/{dispute_id}/review", summary="Take a case up: open → under review")
async def review(dispute_id: uuid.UUID, principal: ReviewDisputes, rt: RuntimeDep) -> CaseOut:
    found = await in_transaction(rt.uow, cases.review_case, rt.clock, principal, dispute_id)
    return CaseOut.of_file(found)


@router.post(
    "/disputes/{dispute_id}/resolve",
    summary="Resolve a case: refund, credit note, re-price or reject with a reason",
)
async def resolve(
    dispute_id: uuid.UUID,
    body: ResolveIn,
    principal: ResolveDisputes,
    rt: RuntimeDep,
    request: Request,
) -> Response:
    async def work() -> tuple[int, object]:
        found = await resolve_dispute(rt.payments, principal, dispute_id, body.request())
        return 200, CaseOut.of_file(found)

    return await idempotent(rt, request, principal.subject[:80], body, work)


async def _pack(rt: Runtime, principal: Principal, dispute_id: uuid.UUID) -> EvidencePack:
    return await reading(
        rt.uow,
        case_evidence.case_evidence,
        rt.clock,
        principal,
        dispute_id,
        rates=rt.settings.vat_rates,
        verifier=rt.meter_signatures,
    )


@router.get(
    "/disputes/{dispute_id}/evidence.pdf",
    summary="The case's evidence pack as a PDF",
    response_class=Response,
)
async def evidence_pdf(dispute_id: uuid.UUID, principal: ReadDisputes, rt: RuntimeDep) -> Response:
    pack = await _pack(rt, principal, dispute_id)
    return Response(rt.evidence.pdf(pack), media_type="application/pdf")


@router.get(
    "/disputes/{dispute_id}/evidence.zip",
    summary="The case's evidence pack as a ZIP of JSON files, the PDF and their SHA-256",
    response_class=Response,
)
async def evidence_zip(dispute_id: uuid.UUID, principal: ReadDisputes, rt: RuntimeDep) -> Response:
    pack = await _pack(rt, principal, dispute_id)
    return Response(rt.evidence.zip(pack), media_type="application/zip")


@router.post(
    "/disputes/{dispute_id}/evidence/submit",
    summary="Answer a chargeback with the evidence pack at the PSP (once)",
)
async def submit_evidence(
    dispute_id: uuid.UUID, principal: ResolveDisputes, rt: RuntimeDep
) -> CaseOut:
    found = await case_evidence.submit_chargeback_evidence(
        rt.payments,
        principal,
        dispute_id,
        rates=rt.settings.vat_rates,
        verifier=rt.meter_signatures,
    )
    return CaseOut.of_file(found)
