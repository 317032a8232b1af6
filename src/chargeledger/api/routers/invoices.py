"""``/api/v1/invoices``: invoices, receipts and credit notes, with their PDF and e-invoice.

There is no PUT, PATCH or DELETE: an issued document never changes (Council Directive
2006/112/EC art. 233); it is corrected by a credit note that references it.
"""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Query, Response, status

from chargeledger.api.deps import RuntimeDep
from chargeledger.api.routers.access import ReadBilling, WriteBilling
from chargeledger.api.schemas.billing import CreditNoteIn, InvoiceOut, InvoiceRunIn, InvoiceRunOut
from chargeledger.api.schemas.common import ERROR_RESPONSES, Limit, Offset, PageOut
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Principal
from chargeledger.domain.invoicing import DocumentKind
from chargeledger.domain.receivables import PaymentStatus
from chargeledger.services.billing import invoice_documents
from chargeledger.services.billing.invoice_documents import InvoiceView
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.billing.invoice_runs import run_month
from chargeledger.services.billing.invoicing import today
from chargeledger.services.transactions import in_transaction, reading

router = APIRouter(prefix="/api/v1", tags=["invoices"], responses=ERROR_RESPONSES)


def _out(view: InvoiceView) -> InvoiceOut:
    return InvoiceOut.of(view.invoice, view.status.value, view.outstanding)


def _today(rt: Runtime) -> date:
    return today(rt.clock, rt.settings.operator_time_zone)


@router.get("/invoices", summary="List invoices, receipts and credit notes")
async def list_invoices(
    principal: ReadBilling,
    rt: RuntimeDep,
    account_id: uuid.UUID | None = None,
    kind: DocumentKind | None = None,
    payment_status: PaymentStatus | None = Query(
        None,
        alias="status",
        description="the derived status each document shows (overdue: on the operator's today)",
    ),
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[InvoiceOut]:
    on = _today(rt)
    criteria = InvoiceFilter(account_id=account_id, kind=kind, payment_status=payment_status, on=on)
    page = await reading(
        rt.uow, invoice_documents.list_views, principal, criteria, limit, offset, on
    )
    return PageOut(items=[_out(v) for v in page.items], next_offset=page.next_offset)


@router.get("/invoices/{invoice_id}", summary="Show a document with its lines and VAT")
async def get_invoice(invoice_id: uuid.UUID, principal: ReadBilling, rt: RuntimeDep) -> InvoiceOut:
    return _out(
        await reading(rt.uow, invoice_documents.visible_view, principal, invoice_id, _today(rt))
    )


async def _download(
    rt: Runtime, principal: Principal, invoice_id: uuid.UUID, kind: str, media_type: str
) -> Response:
    document = await reading(
        rt.uow, invoice_documents.rendered, principal, invoice_id, rt.documents, kind
    )
    return Response(
        document.content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{document.filename}"'},
    )


@router.get(
    "/invoices/{invoice_id}/pdf",
    summary="The PDF with the EN 16931 e-invoice embedded (Factur-X)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def invoice_pdf(invoice_id: uuid.UUID, principal: ReadBilling, rt: RuntimeDep) -> Response:
    return await _download(rt, principal, invoice_id, "pdf", "application/pdf")


@router.get(
    "/invoices/{invoice_id}/xml",
    summary="The EN 16931 e-invoice (UN/CEFACT CII)",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}},
)
async def invoice_cii(invoice_id: uuid.UUID, principal: ReadBilling, rt: RuntimeDep) -> Response:
    return await _download(rt, principal, invoice_id, "xml", "application/xml")


@router.post("/invoices/{invoice_id}/issue", summary="Issue a draft: number it and book it")
async def issue_invoice(invoice_id: uuid.UUID, _: WriteBilling, rt: RuntimeDep) -> InvoiceOut:
    view = await in_transaction(
        rt.uow,
        invoice_documents.issue_draft,
        rt.clock,
        invoice_id,
        rt.settings.operator_time_zone,
        _today(rt),
    )
    return _out(view)


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    status_code=status.HTTP_201_CREATED,
    summary="Correct an issued document by a credit note (all, some lines, or an amount)",
)
async def credit_invoice(
    invoice_id: uuid.UUID, body: CreditNoteIn, _: WriteBilling, rt: RuntimeDep
) -> InvoiceOut:
    view = await in_transaction(
        rt.uow,
        invoice_documents.credit_document,
        rt.clock,
        invoice_id,
        body.reason,
        rt.settings.operator_time_zone,
        tuple(body.positions) if body.positions is not None else None,
        body.net_amount,
        _today(rt),
    )
    return _out(view)


@router.post(
    "/invoice-runs",
    summary="Charge completed sessions and invoice a month (idempotent; runs take turns)",
)
async def run_invoices(body: InvoiceRunIn, _: WriteBilling, rt: RuntimeDep) -> InvoiceRunOut:
    """A run started while another is under way waits for it (up to
    ``CHARGELEDGER_INVOICE_RUN_WAIT_SECONDS``, else 409 ``invoice_run_busy``), then reports
    what the other billed as already invoiced."""
    run = await run_month(
        rt.invoicer(), body.period, body.layout, issue=not body.draft, lines_kept=False
    )
    result = run.invoiced
    return InvoiceRunOut(
        period_start=result.period[0],
        period_end=result.period[1],
        issued=[i.number or "" for i in result.issued],
        drafts=[i.id for i in result.drafts],
        receipts=[r.number or "" for r in [*run.charged.receipts, *result.receipts]],
        already_invoiced=result.already_done,
    )
