"""The contract pages (issue 16), read-only: ``GET /office/contracts`` (filters by kind and
status as of today, pagination, CSV) and ``GET /office/contracts/{id}`` (parties, terms and
their versions, coverage, signed documents, milestones, the last three months' performance
and the invoices of the contract's account).

The same use cases and roles as ``/api/v1/contracts`` (issue 14; ``ReadContracts``: finance,
operators — the office is not for fleet managers): ``records.list_contracts``,
``visible_contract``, ``document_file``, ``milestones.contract_milestones``,
``contract_performance`` with its ``performance_table``, and ``invoice_documents.list_views``
for the invoices, so the page and the API never disagree. Writing contracts stays with the
API and the command line, but for the signature (``contract_sign_pages``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.contract_performance import performance_table
from chargeledger.domain.contracts import (
    ContractStatus,
    ContractType,
    end_of_term_on,
    notice_deadline,
)
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.invoicing import DocumentKind
from chargeledger.domain.report_tables import ColumnKind, ReportTable
from chargeledger.domain.text import money_figure
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.money import Money
from chargeledger.office import once
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.listing import (
    CSV_BATCH,
    PAGE_SIZE,
    choice_filter,
    csv_download,
    page_links,
)
from chargeledger.office.pages import PAGE_HEADERS, error_page, render
from chargeledger.office.views import local_time, plain
from chargeledger.services.billing import invoice_documents
from chargeledger.services.billing.contract_performance import contract_performance
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.billing.invoicing import today
from chargeledger.services.contracts import milestones, records
from chargeledger.services.contracts.records import ContractView
from chargeledger.services.paging import Page
from chargeledger.services.transactions import reading

router = APIRouter()
LIST = "/office/contracts"
READ_ROLES = frozenset({Role.FINANCE, Role.OPERATOR})  # of ``ReadContracts``, in the office
SIGN_ROLES = frozenset({Role.FINANCE})  # as ``WriteContracts``
PERFORMANCE_MONTHS = 3
Text = Annotated[str | None, Query(max_length=40)]
COLUMNS = (
    "Contract",
    "Number",
    "Kind",
    "Title",
    "Status",
    "Currency",
    "Start",
    "End",
    "Signed on",
    "Account",
    "Partner",
)


@dataclass(frozen=True, slots=True)
class Filters:
    kind: str = ""
    status: str = ""

    def query(self, **extra: object) -> str:
        fields = {"kind": self.kind, "status": self.status, **extra}
        return urlencode({k: v for k, v in fields.items() if v not in ("", None)})


def row(view: ContractView) -> list[str]:
    record = view.record
    contract = record.contract
    return [
        str(record.id),
        record.number,
        contract.kind.value,
        record.title,
        view.status.value,
        record.currency.code,
        contract.start.isoformat(),
        "" if contract.end is None else contract.end.isoformat(),
        "" if record.signed_on is None else record.signed_on.isoformat(),
        "" if record.account_id is None else str(record.account_id),
        "" if record.partner_id is None else str(record.partner_id),
    ]


async def _page(
    rt: Runtime,
    principal: Principal,
    kind: ContractType | None,
    status: ContractStatus | None,
    limit: int,
    offset: int,
) -> Page[ContractView]:
    views, next_offset = await reading(
        rt.uow,
        records.list_contracts,
        principal,
        today(rt.clock, rt.settings.operator_time_zone),
        kind=kind,
        status=status,
        limit=limit,
        offset=offset,
    )
    return Page(items=views, next_offset=next_offset)


@router.get("/contracts")
async def contracts_list(
    request: Request,
    rt: RuntimeDep,
    kind: Text = None,
    status: Text = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    format: Text = None,
) -> Response:
    visitor = await admit(request, rt, READ_ROLES)
    if isinstance(visitor, Response):
        return visitor
    filters = Filters(kind or "", status or "")
    error: InvalidInputError | None = None
    page: Page[ContractView] = Page(items=[], next_offset=None)
    try:
        chosen_kind = choice_filter(ContractType, filters.kind, "kind")
        chosen_status = choice_filter(ContractStatus, filters.status, "status")
    except InvalidInputError as exc:
        error = exc
    else:
        if format == "csv":
            return _csv(rt, visitor.principal, chosen_kind, chosen_status)
        page = await _page(rt, visitor.principal, chosen_kind, chosen_status, PAGE_SIZE, offset)
    return render(
        "contracts.html",
        422 if error else 200,
        title="Contracts",
        **visitor.context("contracts"),
        filters=filters,
        kinds=[k.value for k in ContractType],
        statuses=[s.value for s in ContractStatus],
        rows=[(v, row(v)) for v in page.items],
        error=error,
        **page_links(lambda **extra: f"{LIST}?{filters.query(**extra)}", offset, page.next_offset),
    )


def _csv(
    rt: Runtime,
    principal: Principal,
    kind: ContractType | None,
    status: ContractStatus | None,
) -> Response:
    async def page_at(offset: int) -> Page[ContractView]:
        return await _page(rt, principal, kind, status, CSV_BATCH, offset)

    day = today(rt.clock, rt.settings.operator_time_zone).isoformat()
    return csv_download(f"contracts-{day}", COLUMNS, page_at, row)


def _not_found(visitor: Visitor, exc: ChargeledgerError) -> Response:
    return error_page(
        exc.http_status,
        exc.code,
        "No such contract",
        exc.message,
        principal=visitor.principal,
        csrf=visitor.csrf,
        back=LIST,
        back_label="Back to the contracts",
    )


def _months_back(day: date, count: int) -> date:
    """The first day of the month ``count - 1`` months before ``day``'s."""
    months = day.year * 12 + day.month - 1 - (count - 1)
    return date(months // 12, months % 12 + 1, 1)


def cell(value: object, kind: ColumnKind = ColumnKind.TEXT, currency: str = "") -> str:
    """A report cell as text: money to the currency's minor units, other decimals as
    written (never floats, DESIGN §2)."""
    if value is None:
        return ""
    if isinstance(value, Money):
        return money_figure(value.amount, value.currency.code)
    if isinstance(value, Decimal):
        return (
            money_figure(value, currency) if kind is ColumnKind.MONEY and currency else plain(value)
        )
    return str(value)


def table_rows(table: ReportTable) -> list[list[str]]:
    """The performance table's rows, then its totals, as text (``currency`` column aware)."""
    kinds = [c.kind for c in table.columns]
    keys = [c.key for c in table.columns]
    shown = []
    for values in (*table.rows, *table.totals):
        currency = str(dict(zip(keys, values, strict=True)).get("currency") or "")
        shown.append([cell(v, k, currency) for v, k in zip(values, kinds, strict=True)])
    return shown


@router.get("/contracts/{contract_id}")
async def contract_page(
    contract_id: uuid.UUID, request: Request, rt: RuntimeDep, signed: Text = None
) -> Response:
    visitor = await admit(request, rt, READ_ROLES)
    if isinstance(visitor, Response):
        return visitor
    return await detail_page(rt, visitor, contract_id, notice=bool(signed))


async def detail_page(
    rt: Runtime,
    visitor: Visitor,
    contract_id: uuid.UUID,
    *,
    status_code: int = 200,
    notice: bool = False,
    sign: dict[str, Any] | None = None,
) -> Response:
    """The contract page; ``sign``: the signature form's key, values and error to show."""
    zone = rt.settings.operator_time_zone
    on = today(rt.clock, zone)
    principal = visitor.principal
    try:
        view = await reading(rt.uow, records.visible_contract, principal, contract_id, on)
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return _not_found(visitor, exc)
    record = view.record
    partner = None
    if record.partner_id is not None:
        partner = await reading(rt.uow, records.get_partner, record.partner_id)
    found = await reading(rt.uow, milestones.contract_milestones, principal, contract_id, on)
    performance: ReportTable | None = None
    performance_problem: ChargeledgerError | None = None
    try:
        report = await reading(
            rt.uow,
            contract_performance,
            principal,
            contract_id,
            _months_back(on, PERFORMANCE_MONTHS),
            on.replace(day=1),
            rt.settings.vat_rates,
            rt.settings.energy_price,
        )
        performance = performance_table(report)
    except ChargeledgerError as exc:  # said on the page; the rest of it still shows
        if exc.http_status >= 500:
            raise
        performance_problem = exc
    invoices = None
    if record.account_id is not None:
        criteria = InvoiceFilter(account_id=record.account_id, kind=DocumentKind.INVOICE)
        invoices = await reading(
            rt.uow, invoice_documents.list_views, principal, criteria, PAGE_SIZE, 0, on
        )
    contract = record.contract
    term_end = end_of_term_on(contract, max(on, contract.start))
    current = view.current
    return render(
        "contract.html",
        status_code,
        title=f"Contract {record.number}",
        **visitor.context("contracts"),
        view=view,
        record=record,
        contract=contract,
        cells=dict(zip(COLUMNS, row(view), strict=True)),
        partner=partner,
        term_end=term_end,
        deadline=None
        if contract.renewal is None or term_end is None or contract.termination is not None
        else notice_deadline(term_end, contract.renewal),
        current=current,
        terms=None if current is None else json.dumps(dict(current.terms), indent=2),
        milestones=[m for m in found if m.due_on >= on][:12],
        performance=performance,
        performance_rows=[] if performance is None else table_rows(performance),
        performance_problem=performance_problem,
        money=money_figure,
        invoices=invoices,
        zone=zone,
        local_time=local_time,
        notice=notice,
        may_sign=record.signed_on is None and visitor.principal.role in SIGN_ROLES | {Role.ADMIN},
        sign=sign or {"key": once.new_key(), "values": {}, "error": None},
    )


@router.get("/contracts/{contract_id}/documents/{document_id}")
async def document(
    contract_id: uuid.UUID, document_id: uuid.UUID, request: Request, rt: RuntimeDep
) -> Response:
    """A signed document as uploaded (``records.document_file``, as the API)."""
    visitor = await admit(request, rt, READ_ROLES)
    if isinstance(visitor, Response):
        return visitor
    try:
        stored, content = await reading(
            rt.uow, records.document_file, visitor.principal, contract_id, document_id
        )
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return _not_found(visitor, exc)
    return Response(
        content,
        media_type=stored.content_type,
        headers={
            **PAGE_HEADERS,
            "Content-Disposition": f'attachment; filename="{stored.filename}"',
        },
    )
