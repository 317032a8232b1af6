"""The dispute case pages (issue 16): ``GET /office/disputes`` (filters by state, kind and due
date, pagination, CSV) and ``GET /office/disputes/{id}`` (the case history, its subject's
page, attachments and the evidence pack as PDF or ZIP), with the "take up" action.

The same use cases and roles as ``/api/v1/disputes`` (issue 15): ``cases.list_cases`` with
``DisputeFilter``, ``cases.case_file``, ``case_evidence.case_evidence`` rendered by the
runtime's evidence renderer, and ``cases.review_case`` (``ReviewDisputes``: operator,
finance). "Due by" is an operator's calendar day: cases whose answer is due before the end of
that day. Resolving (money) is ``dispute_resolve_pages``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.disputes import Dispute, DisputeReason, DisputeState, Resolution
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.text import money_figure
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.listing import (
    CSV_BATCH,
    PAGE_SIZE,
    choice_filter,
    csv_download,
    day_filter,
    page_links,
)
from chargeledger.office.pages import PAGE_HEADERS, error_page, render
from chargeledger.office.views import local_time
from chargeledger.services.disputes import case_evidence, cases
from chargeledger.services.disputes.case_ports import DisputeFilter
from chargeledger.services.paging import Page
from chargeledger.services.transactions import in_transaction, reading

router = APIRouter()
LIST = "/office/disputes"
# As ``api.routers.access``: ReviewDisputes, ResolveDisputes (admin is implied by ``admit``).
REVIEW_ROLES = frozenset({Role.OPERATOR, Role.FINANCE})
RESOLVE_ROLES = frozenset({Role.FINANCE})
Text = Annotated[str | None, Query(max_length=40)]
COLUMNS = (
    "Case",
    "Number",
    "State",
    "Kind",
    "Origin",
    "Opened",
    "Respond by",
    "Amount",
    "Currency",
    "Session",
    "Invoice",
    "Payment",
    "Resolution",
)


@dataclass(frozen=True, slots=True)
class Filters:
    """What the filter form asked, as typed (to show it again and to link the next page)."""

    state: str = ""
    kind: str = ""
    due: str = ""

    def query(self, **extra: object) -> str:
        fields = {"state": self.state, "kind": self.kind, "due": self.due, **extra}
        return urlencode({k: v for k, v in fields.items() if v not in ("", None)})

    def criteria(self, zone: str) -> DisputeFilter:
        """The ``DisputeFilter`` asked for; ``invalid_filter`` naming a field that is wrong.
        State ``open_cases``: every case not closed yet."""
        due = day_filter(self.due, "due")
        open_only = self.state == "open_cases"
        return DisputeFilter(
            state=None if open_only else choice_filter(DisputeState, self.state, "state"),
            open_only=open_only,
            reason=choice_filter(DisputeReason, self.kind, "kind"),
            respond_by_before=None
            if due is None
            else datetime.combine(due + timedelta(days=1), time(), ZoneInfo(zone)),
        )


def row(case: Dispute, zone: str) -> list[str]:
    """One case as the table and the CSV show it (``COLUMNS``)."""
    subject = case.subject
    return [
        str(case.id),
        case.number,
        case.state.value,
        case.reason.value,
        case.origin.value,
        local_time(case.opened_at, zone),
        local_time(case.respond_by, zone),
        "" if case.amount is None else money_figure(case.amount, case.currency.code),
        case.currency.code,
        "" if subject.session_id is None else str(subject.session_id),
        "" if subject.invoice_id is None else str(subject.invoice_id),
        "" if subject.payment_id is None else str(subject.payment_id),
        "" if case.resolution is None else case.resolution.value,
    ]


@router.get("/disputes")
async def disputes_list(
    request: Request,
    rt: RuntimeDep,
    state: Text = None,
    kind: Text = None,
    due: Text = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    format: Text = None,
) -> Response:
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    zone = rt.settings.operator_time_zone
    filters = Filters(state or "", kind or "", due or "")
    try:
        criteria = filters.criteria(zone)
    except InvalidInputError as exc:
        return _list_page(visitor, rt, filters, [], None, 0, exc)
    if format == "csv":
        return _csv(rt, visitor.principal, criteria, zone)
    page = await reading(rt.uow, cases.list_cases, visitor.principal, criteria, PAGE_SIZE, offset)
    rows = [(d, row(d, zone)) for d in page.items]
    return _list_page(visitor, rt, filters, rows, page.next_offset, offset, None)


def _list_page(
    visitor: Visitor,
    rt: Runtime,
    filters: Filters,
    rows: list[tuple[Dispute, list[str]]],
    next_offset: int | None,
    offset: int,
    error: InvalidInputError | None,
) -> Response:
    return render(
        "disputes.html",
        422 if error else 200,
        title="Disputes",
        **visitor.context("disputes"),
        filters=filters,
        states=["open_cases", *(s.value for s in DisputeState)],
        kinds=[r.value for r in DisputeReason],
        columns=COLUMNS,
        rows=rows,
        error=error,
        zone=rt.settings.operator_time_zone,
        **page_links(lambda **extra: f"{LIST}?{filters.query(**extra)}", offset, next_offset),
    )


def _csv(rt: Runtime, principal: Principal, criteria: DisputeFilter, zone: str) -> Response:
    async def page_at(offset: int) -> Page[Dispute]:
        return await reading(rt.uow, cases.list_cases, principal, criteria, CSV_BATCH, offset)

    today = rt.clock.now().astimezone(ZoneInfo(zone)).date().isoformat()
    return csv_download(f"disputes-{today}", COLUMNS, page_at, lambda d: row(d, zone))


def not_found(visitor: Visitor, exc: ChargeledgerError) -> Response:
    return error_page(
        exc.http_status,
        exc.code,
        "No such dispute",
        exc.message,
        principal=visitor.principal,
        csrf=visitor.csrf,
        back=LIST,
        back_label="Back to the disputes",
    )


async def detail_page(
    rt: Runtime,
    visitor: Visitor,
    dispute_id: uuid.UUID,
    *,
    status_code: int = 200,
    notice: str | None = None,
    resolve: dict[str, Any] | None = None,
    review_error: dict[str, Any] | None = None,
) -> Response:
    """The case page; ``resolve``: the resolution form's key, values and error to show."""
    zone = rt.settings.operator_time_zone
    try:
        found = await reading(rt.uow, cases.case_file, visitor.principal, dispute_id)
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return not_found(visitor, exc)
    case = found.dispute
    role = visitor.principal.role
    return render(
        "dispute.html",
        status_code,
        title=f"Dispute {case.number}",
        **visitor.context("disputes"),
        case=case,
        cells=dict(zip(COLUMNS, row(case, zone), strict=True)),
        events=found.events,
        attachments=found.attachments,
        zone=zone,
        local_time=local_time,
        notice=notice,
        can_review=case.state is DisputeState.OPEN and role in REVIEW_ROLES | {Role.ADMIN},
        can_resolve=not case.state.is_closed
        and not case.is_chargeback
        and role in RESOLVE_ROLES | {Role.ADMIN},
        review_key=once.new_key(),
        review_error=review_error,
        resolutions=[r.value for r in Resolution],
        resolve=resolve or {"key": once.new_key(), "values": {}, "error": None},
    )


@router.get("/disputes/{dispute_id}")
async def dispute_page(
    dispute_id: uuid.UUID, request: Request, rt: RuntimeDep, done: Text = None
) -> Response:
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    notice = {"reviewed": "The case is under review.", "resolved": "The case is resolved."}
    return await detail_page(rt, visitor, dispute_id, notice=notice.get(done or ""))


@router.post("/disputes/{dispute_id}/review")
async def review(
    dispute_id: uuid.UUID,
    request: Request,
    rt: RuntimeDep,
    idempotency_key: Annotated[str, Form(max_length=once.MAX_KEY_LENGTH + 1)] = "",
    csrf: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    """Take the case up (open → under review), once per form."""
    visitor = await admit(request, rt, REVIEW_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor

    async def work() -> once.Outcome:
        await in_transaction(rt.uow, cases.review_case, rt.clock, visitor.principal, dispute_id)
        return {"done": str(dispute_id)}

    try:
        status, outcome = await once.once(
            rt, visitor.principal, idempotency_key, f"review {dispute_id}", {}, work
        )
    except ChargeledgerError as exc:
        status, outcome = once.refusal(exc)
    if "error" in outcome:
        return await detail_page(
            rt, visitor, dispute_id, status_code=status, review_error=outcome["error"]
        )
    return RedirectResponse(f"{LIST}/{dispute_id}?done=reviewed", status_code=303)


async def _evidence(rt: Runtime, request: Request, dispute_id: uuid.UUID, kind: str) -> Response:
    """The case's evidence pack, as ``GET /api/v1/disputes/{id}/evidence.pdf`` / ``.zip``."""
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    try:
        pack = await reading(
            rt.uow,
            case_evidence.case_evidence,
            rt.clock,
            visitor.principal,
            dispute_id,
            rates=rt.settings.vat_rates,
            verifier=rt.meter_signatures,
        )
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return not_found(visitor, exc)
    content = rt.evidence.pdf(pack) if kind == "pdf" else rt.evidence.zip(pack)
    name = f"evidence-{dispute_id}.{kind}"
    return Response(
        content,
        media_type=f"application/{kind}",
        headers={**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/disputes/{dispute_id}/evidence.pdf")
async def evidence_pdf(dispute_id: uuid.UUID, request: Request, rt: RuntimeDep) -> Response:
    return await _evidence(rt, request, dispute_id, "pdf")


@router.get("/disputes/{dispute_id}/evidence.zip")
async def evidence_zip(dispute_id: uuid.UUID, request: Request, rt: RuntimeDep) -> Response:
    return await _evidence(rt, request, dispute_id, "zip")


@router.get("/disputes/{dispute_id}/attachments/{attachment_id}")
async def attachment(
    dispute_id: uuid.UUID, attachment_id: uuid.UUID, request: Request, rt: RuntimeDep
) -> Response:
    """An attachment as it was sent (``cases.attachment_content``, as the API)."""
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    try:
        stored, content = await reading(
            rt.uow, cases.attachment_content, visitor.principal, dispute_id, attachment_id
        )
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return not_found(visitor, exc)
    return Response(
        content,
        media_type=stored.media_type,
        headers={**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{stored.name}"'},
    )
