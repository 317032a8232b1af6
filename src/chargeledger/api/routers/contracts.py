"""``/api/v1/partners`` and ``/api/v1/contracts`` (issue 14): contracts, their versions of
terms, signature, termination, coverage, signed documents and milestones. Finance (and admin)
write; operators read; a fleet manager reads the contracts of their own account."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response

from chargeledger.api.body_limit import body_limit
from chargeledger.api.deps import RuntimeDep
from chargeledger.api.routers.access import ReadContracts, ReadPartners, WriteContracts
from chargeledger.api.schemas.billing import InvoiceOut
from chargeledger.api.schemas.common import ERROR_RESPONSES, Limit, Offset, PageOut
from chargeledger.api.schemas.contracts import (
    ContractIn,
    ContractOut,
    CoverageIn,
    DocumentOut,
    MilestoneIn,
    MilestoneOut,
    PartnerIn,
    PartnerOut,
    SignIn,
    TerminateIn,
    VersionIn,
    VersionOut,
)
from chargeledger.bootstrap import Runtime
from chargeledger.domain.contract_milestones import CustomMilestone
from chargeledger.domain.contract_records import MAX_DOCUMENT_BYTES, ContractRecord
from chargeledger.domain.contracts import Contract, ContractStatus, ContractType, Renewal
from chargeledger.money import Currency
from chargeledger.services.billing import allowances, invoice_documents
from chargeledger.services.common import operator_today
from chargeledger.services.contracts import milestones, records
from chargeledger.services.transactions import in_transaction, reading

router = APIRouter(prefix="/api/v1", tags=["contracts"], responses=ERROR_RESPONSES)


def _today(rt: Runtime) -> dt.date:
    return operator_today(rt.clock, rt.settings.operator_time_zone)


@router.post("/partners", status_code=status.HTTP_201_CREATED, summary="Add a partner")
async def add_partner(body: PartnerIn, _: WriteContracts, rt: RuntimeDep) -> PartnerOut:
    partner = await in_transaction(rt.uow, records.add_partner, rt.clock, body.domain())
    return PartnerOut.of(partner)


@router.get("/partners", summary="Partners (site hosts, roaming partners)")
async def list_partners(
    _: ReadPartners, rt: RuntimeDep, limit: Limit = 100, offset: Offset = 0
) -> PageOut[PartnerOut]:
    page = await reading(rt.uow, records.list_partners, limit=limit, offset=offset)
    return PageOut(items=[PartnerOut.of(p) for p in page.items], next_offset=page.next_offset)


@router.get("/partners/{partner_id}", summary="A partner")
async def get_partner(partner_id: uuid.UUID, _: ReadPartners, rt: RuntimeDep) -> PartnerOut:
    return PartnerOut.of(await reading(rt.uow, records.get_partner, partner_id))


@router.post(
    "/contracts",
    status_code=status.HTTP_201_CREATED,
    summary="Create a contract (unsigned) with version 1 of its terms",
)
async def create_contract(
    body: ContractIn, principal: WriteContracts, rt: RuntimeDep
) -> ContractOut:
    renewal = None if body.renewal is None else Renewal(**body.renewal.model_dump())
    record = ContractRecord(
        contract=Contract(body.number, body.kind, body.start, body.end, renewal),
        currency=Currency.of(body.currency.upper()),
        account_id=body.account_id,
        partner_id=body.partner_id,
        title=body.title,
        contacts=body.contacts_domain(),
        reminder_days=body.reminder_days,
    )
    draft = records.ContractDraft(record, body.terms, body.summary, body.account_ids, body.site_ids)
    view = await in_transaction(
        rt.uow, records.create_contract, rt.clock, principal.subject, draft, _today(rt)
    )
    return ContractOut.of(view)


@router.get("/contracts", summary="Contracts, by number")
async def list_contracts(
    principal: ReadContracts,
    rt: RuntimeDep,
    account_id: uuid.UUID | None = None,
    partner_id: uuid.UUID | None = None,
    kind: ContractType | None = None,
    status: ContractStatus | None = Query(None, description="as of today"),
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[ContractOut]:
    views, next_offset = await reading(
        rt.uow,
        records.list_contracts,
        principal,
        _today(rt),
        account_id=account_id,
        partner_id=partner_id,
        kind=kind,
        status=status,
        limit=limit,
        offset=offset,
    )
    return PageOut(items=[ContractOut.of(v) for v in views], next_offset=next_offset)


@router.get("/contracts/{contract_id}", summary="A contract, its versions and documents")
async def get_contract(
    contract_id: uuid.UUID, principal: ReadContracts, rt: RuntimeDep
) -> ContractOut:
    view = await reading(rt.uow, records.visible_contract, principal, contract_id, _today(rt))
    return ContractOut.of(view)


@router.post("/contracts/{contract_id}/sign", summary="Record the signature")
async def sign(
    contract_id: uuid.UUID, body: SignIn, _: WriteContracts, rt: RuntimeDep
) -> ContractOut:
    today = _today(rt)
    view = await in_transaction(
        rt.uow, records.sign_contract, rt.clock, contract_id, body.signed_on or today, today
    )
    return ContractOut.of(view)


@router.get("/contracts/{contract_id}/versions", summary="The versions of the terms")
async def versions(
    contract_id: uuid.UUID, principal: ReadContracts, rt: RuntimeDep
) -> list[VersionOut]:
    view = await reading(rt.uow, records.visible_contract, principal, contract_id, _today(rt))
    return [VersionOut.of(v) for v in view.versions]


@router.post(
    "/contracts/{contract_id}/versions",
    status_code=status.HTTP_201_CREATED,
    summary="Amend: a new version of the terms valid from a day (never a past one)",
)
async def amend(
    contract_id: uuid.UUID, body: VersionIn, principal: WriteContracts, rt: RuntimeDep
) -> ContractOut:
    view = await in_transaction(
        rt.uow,
        records.amend_contract,
        rt.clock,
        principal.subject,
        contract_id,
        body.valid_from,
        body.summary,
        body.terms,
        _today(rt),
    )
    return ContractOut.of(view)


@router.post(
    "/contracts/{contract_id}/terminate",
    summary="Terminate: at the running term's end by the notice deadline, else the next's",
)
async def terminate(
    contract_id: uuid.UUID, body: TerminateIn, principal: WriteContracts, rt: RuntimeDep
) -> ContractOut:
    today = _today(rt)
    view = await in_transaction(
        rt.uow,
        records.terminate_contract,
        rt.clock,
        principal.subject,
        contract_id,
        body.given_on or today,
        body.reason,
        body.immediate,
        today,
    )
    return ContractOut.of(view)


@router.post("/contracts/{contract_id}/coverage", summary="Add covered accounts or sites")
async def add_coverage(
    contract_id: uuid.UUID, body: CoverageIn, _: WriteContracts, rt: RuntimeDep
) -> ContractOut:
    view = await in_transaction(
        rt.uow,
        records.cover,
        rt.clock,
        contract_id,
        body.account_ids,
        body.site_ids,
        _today(rt),
    )
    return ContractOut.of(view)


@router.post(
    "/contracts/{contract_id}/documents",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a signed PDF of a version (the body is the file)",
    openapi_extra=body_limit(MAX_DOCUMENT_BYTES),
)
async def upload_document(
    contract_id: uuid.UUID,
    request: Request,
    principal: WriteContracts,
    rt: RuntimeDep,
    version: Annotated[int, Query(ge=1, le=100_000)],
    filename: Annotated[str, Query(max_length=255)] = "contract.pdf",
) -> DocumentOut:
    document = await in_transaction(
        rt.uow,
        records.add_document,
        rt.clock,
        principal.subject,
        contract_id,
        version,
        filename,
        await request.body(),
    )
    return DocumentOut.of(document)


@router.get("/contracts/{contract_id}/documents", summary="The signed documents")
async def documents(
    contract_id: uuid.UUID, principal: ReadContracts, rt: RuntimeDep
) -> list[DocumentOut]:
    view = await reading(rt.uow, records.visible_contract, principal, contract_id, _today(rt))
    return [DocumentOut.of(d) for d in view.documents]


@router.get(
    "/contracts/{contract_id}/documents/{document_id}",
    summary="Download a signed document",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def download_document(
    contract_id: uuid.UUID, document_id: uuid.UUID, principal: ReadContracts, rt: RuntimeDep
) -> Response:
    document, content = await reading(
        rt.uow, records.document_file, principal, contract_id, document_id
    )
    return Response(
        content,
        media_type=document.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{document.filename}"',
            "ETag": f'"{document.sha256}"',
        },
    )


@router.get("/contracts/{contract_id}/milestones", summary="Renewals, deadlines, reviews")
async def list_milestones(
    contract_id: uuid.UUID,
    principal: ReadContracts,
    rt: RuntimeDep,
    through: dt.date | None = None,
) -> list[MilestoneOut]:
    found = await reading(
        rt.uow, milestones.contract_milestones, principal, contract_id, _today(rt), through
    )
    return [MilestoneOut.of(m) for m in found]


@router.post(
    "/contracts/{contract_id}/milestones",
    status_code=status.HTTP_201_CREATED,
    summary="Add a review or custom milestone (reminded ahead like the others)",
)
async def add_milestone(
    contract_id: uuid.UUID, body: MilestoneIn, principal: WriteContracts, rt: RuntimeDep
) -> MilestoneOut:
    custom = CustomMilestone(body.title, body.due_on, body.kind)
    await in_transaction(
        rt.uow, milestones.add_milestone, rt.clock, principal.subject, contract_id, custom
    )
    return MilestoneOut(kind=custom.kind, due_on=custom.due_on, title=custom.title, key=custom.key)


@router.post(
    "/contracts/{contract_id}/allowance/invoice",
    summary="Invoice the car maker for its OEM bundle's allowance (once; again: the same)",
)
async def sell_allowance(contract_id: uuid.UUID, _: WriteContracts, rt: RuntimeDep) -> InvoiceOut:
    settings = rt.settings
    document = await in_transaction(
        rt.uow,
        allowances.sell_allowance,
        rt.clock,
        settings.seller(),
        settings.operator_time_zone,
        settings.vat_rates,
        contract_id,
    )
    [view] = await reading(rt.uow, invoice_documents.views_of, [document], _today(rt))
    return InvoiceOut.of(view.invoice, view.status.value, view.outstanding)
