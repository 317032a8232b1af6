"""The invoices pages (issue 16): ``GET /office/invoices`` lists invoices, receipts and credit
notes (filters, pagination, CSV); ``GET /office/invoices/{id}`` shows one with its lines, VAT,
payment status and settlements; ``/pdf`` and ``/xml`` download its files under the cookie.

The same rules as ``GET /api/v1/invoices`` and its downloads: the use cases
``invoice_documents.list_views``, ``visible_view`` and ``rendered`` (so a file is exactly the
REST's), the derived payment status on the operator's today, and the roles of ``ReadBilling``
that may open the office (finance, operator; admin). Filters: kind, stored status (draft,
issued), payment status, issue dates (the operator's calendar days, "to" inclusive) and an
account: its id, or a search of names, e-mails and references that must find one account
(several are offered to pick from). The CSV is streamed page by page, amounts as text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.invoicing import DocumentKind, DocumentStatus
from chargeledger.domain.receivables import PaymentStatus
from chargeledger.domain.text import money_figure, money_text
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.guard import OFFICE_ROLES, Visitor, admit
from chargeledger.office.listing import (
    CSV_BATCH,
    PAGE_SIZE,
    choice_filter,
    csv_download,
    day_filter,
    page_links,
)
from chargeledger.office.pages import error_page, render
from chargeledger.office.views import local_time, plain
from chargeledger.services import customers
from chargeledger.services.billing import invoice_documents
from chargeledger.services.billing.invoice_documents import InvoiceView
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.billing.invoicing import today
from chargeledger.services.paging import Page
from chargeledger.services.transactions import reading

router = APIRouter()
READ_ROLES = OFFICE_ROLES  # ``ReadBilling``'s roles that may open the office
CREDIT_ROLES = frozenset({Role.FINANCE})  # ``WriteBilling`` (admin is implied by ``admit``)
LIST = "/office/invoices"
ACCOUNT_CHOICES = 20
Text = Annotated[str | None, Query(max_length=200)]
COLUMNS = (
    "Number",
    "Kind",
    "Payment status",
    "Account",
    "Buyer",
    "Issue date",
    "Due date",
    "Period",
    "Currency",
    "Net",
    "VAT",
    "Gross",
    "Outstanding",
)
MEDIA = {"pdf": "application/pdf", "xml": "application/xml"}


@dataclass(frozen=True, slots=True)
class Filters:
    """What the filter form asked, as typed (to show it again and to link the next page)."""

    kind: str = ""
    status: str = ""
    payment: str = ""
    start: str = ""
    end: str = ""
    q: str = ""

    def query(self, **extra: object) -> str:
        fields: dict[str, object] = {"kind": self.kind, "status": self.status}
        fields |= {"payment": self.payment, "from": self.start, "to": self.end, "q": self.q}
        return urlencode({k: v for k, v in {**fields, **extra}.items() if v not in ("", None)})

    def criteria(self, on: date, account_id: uuid.UUID | None) -> InvoiceFilter:
        """The ``InvoiceFilter`` asked for; ``invalid_filter`` naming a field that is wrong."""
        end = day_filter(self.end, "to")
        return InvoiceFilter(
            account_id=account_id,
            kind=choice_filter(DocumentKind, self.kind, "kind"),
            status=choice_filter(DocumentStatus, self.status, "status"),
            issued_from=day_filter(self.start, "from"),
            issued_before=None if end is None else end + timedelta(days=1),
            payment_status=choice_filter(PaymentStatus, self.payment, "payment"),
            on=on,
        )


async def _accounts(rt: Runtime, principal: Principal, q: str) -> list[Account] | uuid.UUID:
    """The account ``q`` names: its id as typed, else the accounts whose name, e-mail or
    reference contain it (the REST ``GET /accounts?q=``)."""
    try:
        return uuid.UUID(q)
    except ValueError:
        page = await reading(
            rt.uow, customers.list_accounts, principal, search=q, limit=ACCOUNT_CHOICES
        )
        return list(page.items)


def row(view: InvoiceView) -> list[str]:
    """One document as the table and the CSV show it (``COLUMNS``)."""
    invoice = view.invoice
    currency = str(invoice.currency)
    money = [invoice.net_total, invoice.tax_total, invoice.gross_total, view.outstanding]
    return [
        invoice.number or f"draft {str(invoice.id)[:8]}",
        invoice.kind.value,
        view.status.value,
        "" if invoice.account_id is None else str(invoice.account_id),
        invoice.buyer.name,
        "" if invoice.issue_date is None else invoice.issue_date.isoformat(),
        "" if invoice.due_date is None else invoice.due_date.isoformat(),
        f"{invoice.period_start.isoformat()} – "
        f"{(invoice.period_end - timedelta(days=1)).isoformat()}",
        currency,
        *(money_figure(amount, currency) for amount in money),
    ]


@router.get("/invoices")
async def invoices_list(
    request: Request,
    rt: RuntimeDep,
    kind: Text = None,
    status: Text = None,
    payment: Text = None,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    q: Text = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    format: Text = None,
) -> Response:
    visitor = await admit(request, rt, READ_ROLES)
    if isinstance(visitor, Response):
        return visitor
    filters = Filters(kind or "", status or "", payment or "", start or "", end or "", q or "")
    on = today(rt.clock, rt.settings.operator_time_zone)
    page_of = _ListPage(visitor, rt, filters, offset)
    account_id: uuid.UUID | None = None
    if filters.q.strip():
        found = await _accounts(rt, visitor.principal, filters.q.strip())
        if isinstance(found, uuid.UUID):
            account_id = found
        elif len(found) != 1:  # none, or several to pick from: no documents yet
            return page_of.render(accounts=found)
        else:
            account_id = found[0].id
    try:
        criteria = filters.criteria(on, account_id)
    except InvalidInputError as exc:
        return page_of.render(error=exc)
    if format == "csv":
        return _csv(rt, visitor.principal, criteria, on)
    page = await reading(
        rt.uow,
        invoice_documents.list_views,
        visitor.principal,
        criteria,
        PAGE_SIZE,
        offset,
        on,
    )
    return page_of.render(rows=[(v, row(v)) for v in page.items], next_offset=page.next_offset)


@dataclass(frozen=True, slots=True)
class _ListPage:
    visitor: Visitor
    rt: Runtime
    filters: Filters
    offset: int

    def render(
        self,
        *,
        rows: list[tuple[InvoiceView, list[str]]] | None = None,
        next_offset: int | None = None,
        error: InvalidInputError | None = None,
        accounts: list[Account] | None = None,
    ) -> Response:
        filters, offset = self.filters, self.offset
        return render(
            "invoices.html",
            422 if error else 200,
            title="Invoices",
            **self.visitor.context("invoices"),
            filters=filters,
            kinds=[k.value for k in DocumentKind],
            statuses=[s.value for s in DocumentStatus],
            payments=[s.value for s in PaymentStatus],
            columns=COLUMNS,
            rows=rows or [],
            error=error,
            accounts=accounts,
            account_link=lambda account: f"{LIST}?{filters.query(q=str(account.id))}",
            **page_links(lambda **extra: f"{LIST}?{filters.query(**extra)}", offset, next_offset),
        )


def _csv(rt: Runtime, principal: Principal, criteria: InvoiceFilter, on: date) -> Response:
    async def page_at(offset: int) -> Page[InvoiceView]:
        return await reading(
            rt.uow, invoice_documents.list_views, principal, criteria, CSV_BATCH, offset, on
        )

    def line(view: InvoiceView) -> list[str]:
        return [str(view.invoice.id), *row(view)]

    return csv_download(f"invoices-{on.isoformat()}", ["Id", *COLUMNS], page_at, line)


def not_found(visitor: Visitor, exc: ChargeledgerError) -> Response:
    return error_page(
        exc.http_status,
        exc.code,
        "No such document" if exc.http_status == 404 else "Not available",
        exc.message,
        principal=visitor.principal,
        csrf=visitor.csrf,
        back=LIST,
        back_label="Back to the invoices",
    )


async def detail_page(
    rt: Runtime,
    visitor: Visitor,
    invoice_id: uuid.UUID,
    *,
    status_code: int = 200,
    credit: dict[str, Any] | None = None,
    credited: str | None = None,
) -> Response:
    """The document's page; ``credit``: the credit note form's values and error, if any."""
    on = today(rt.clock, rt.settings.operator_time_zone)
    zone = rt.settings.operator_time_zone
    try:
        view = await reading(
            rt.uow, invoice_documents.visible_view, visitor.principal, invoice_id, on
        )
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return not_found(visitor, exc)
    invoice = view.invoice
    settlements = await reading(rt.uow, invoice_documents.settlements_of, invoice.id)
    currency = str(invoice.currency)
    may_credit = (
        visitor.principal.role in CREDIT_ROLES | {Role.ADMIN}
        and invoice.status is DocumentStatus.ISSUED
        and invoice.kind is not DocumentKind.CREDIT_NOTE
    )
    return render(
        "invoice.html",
        status_code,
        title=f"{invoice.kind.value.replace('_', ' ').capitalize()} {invoice.number or 'draft'}",
        **visitor.context("invoices"),
        view=view,
        invoice=invoice,
        cells=dict(zip(COLUMNS, row(view), strict=True)),
        lines=invoice.document_lines(),
        money=lambda amount: money_text(amount, currency),
        plain=plain,
        settlements=[
            (s, local_time(s.booked_at, zone), money_text(s.amount.amount, currency))
            for s in settlements
        ],
        zone=zone,
        may_credit=may_credit,
        credit=credit or {"key": once.new_key(), "values": {}, "error": None},
        credited=credited,
    )


@router.get("/invoices/{invoice_id}")
async def invoice_page(
    invoice_id: uuid.UUID, request: Request, rt: RuntimeDep, credited: Text = None
) -> Response:
    visitor = await admit(request, rt, READ_ROLES)
    if isinstance(visitor, Response):
        return visitor
    return await detail_page(rt, visitor, invoice_id, credited=credited)


@router.get("/invoices/{invoice_id}/{kind}")
async def invoice_file(
    invoice_id: uuid.UUID, kind: str, request: Request, rt: RuntimeDep
) -> Response:
    """The PDF (Factur-X) or the CII e-invoice, as ``GET /api/v1/invoices/{id}/pdf|xml``."""
    visitor = await admit(request, rt, READ_ROLES)
    if isinstance(visitor, Response):
        return visitor
    if kind not in MEDIA:
        return error_page(
            404, "not_found", "No such file", "Only the PDF and the XML of a document exist."
        )
    try:
        document = await reading(
            rt.uow, invoice_documents.rendered, visitor.principal, invoice_id, rt.documents, kind
        )
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return not_found(visitor, exc)
    return Response(
        document.content,
        media_type=MEDIA[kind],
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{document.filename}"',
        },
    )
