"""The dunning page (issue 16): ``GET /office/dunning`` lists the overdue invoices with their
last notice, the next level and its day, and whether a dispute pauses them (pagination, CSV);
finance pauses and resumes an invoice's dunning (``POST /office/dunning/{id}/pause`` and
``/resume``), waives what a notice claimed (``/waive``) and runs the notices due today
(``POST /office/dunning/run``).

The same rules as ``/api/v1/invoices/{id}/dispute``, ``/undispute``,
``/dunning/{level}/waive`` and ``/api/v1/dunning/runs`` (issue 13): their role
(``WriteBilling``: finance; admin always), bounds (a note of at most 500 characters, required
to waive) and use cases (``services.billing.dunning``), so a refusal carries the REST's stable
code, shown on the page. The standings come from ``dunning_overview``, which reads as the run
decides. Each action sends notices or books money, so its form asks for an explicit
confirmation (a required checkbox, checked again here: ``confirmation_required``) and is done
once per form (``office.once``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.dunning import DunningEvent, DunningEventKind, notices_in
from chargeledger.domain.identity import Role
from chargeledger.domain.text import money_figure
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.listing import CSV_BATCH, csv_download
from chargeledger.office.pages import render
from chargeledger.office.views import local_time
from chargeledger.services.billing import dunning
from chargeledger.services.billing.dunning_overview import DunningStanding, overdue_standing
from chargeledger.services.paging import Page
from chargeledger.services.transactions import in_transaction, reading

router = APIRouter()
LIST = "/office/dunning"
PAGE_SIZE = 50
WRITE_ROLES = frozenset({Role.FINANCE})  # as ``api.routers.access.WriteBilling``
MAX_NOTE = 500
Note = Annotated[str, Form(max_length=2000)]
Key = Annotated[str, Form(max_length=once.MAX_KEY_LENGTH + 1)]
Csrf = Annotated[str | None, Form(max_length=200)]
Confirm = Annotated[str, Form(max_length=10)]
COLUMNS = (
    "Invoice",
    "Number",
    "Buyer",
    "Due",
    "Days overdue",
    "Outstanding",
    "Currency",
    "Last level",
    "Last notice on",
    "Next level",
    "Next on",
    "Paused",
)
DONE = {
    "pause": "Dunning of the invoice is paused.",
    "resume": "Dunning of the invoice resumes.",
    "waive": "The claim is waived.",
    "run": "The notices due today were sent.",
}


def row(s: DunningStanding) -> list[str]:
    """One overdue invoice as the table and the CSV show it (``COLUMNS``)."""
    last = s.last_notice
    return [
        str(s.invoice.id),
        s.invoice.number or "",
        s.invoice.buyer.name,
        "" if s.invoice.due_date is None else s.invoice.due_date.isoformat(),
        str(s.days_overdue),
        money_figure(s.outstanding.amount, s.outstanding.currency.code),
        s.outstanding.currency.code,
        "" if last is None else f"{last.level} {last.title or ''}".strip(),
        "" if last is None else last.on.isoformat(),
        "" if s.next_level is None else f"{s.next_level.level} {s.next_level.title}",
        "" if s.next_on is None else s.next_on.isoformat(),
        "yes" if s.paused else "no",
    ]


async def _standings(rt: Runtime, offset: int, limit: int = PAGE_SIZE) -> Page[DunningStanding]:
    return await reading(rt.uow, overdue_standing, rt.clock, rt.dunning_terms(), limit, offset)


def waivable(s: DunningStanding) -> list[DunningEvent]:
    """The notices whose claim may still be waived (the service checks it again)."""
    waived = {e.level for e in s.history if e.kind is DunningEventKind.WAIVED}
    return [
        n
        for n in notices_in(s.history)
        if n.claimed is not None and not n.claimed.is_zero and n.level not in waived
    ]


@router.get("/dunning")
async def dunning_list(
    request: Request,
    rt: RuntimeDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    format: Annotated[str | None, Query(max_length=10)] = None,
    done: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    if format == "csv":
        return _csv(rt)
    return await list_page(rt, visitor, offset=offset, notice=DONE.get(done or ""))


async def list_page(
    rt: Runtime,
    visitor: Visitor,
    *,
    offset: int = 0,
    status_code: int = 200,
    notice: str | None = None,
    failed: str | None = None,
    error: dict[str, Any] | None = None,
) -> Response:
    page = await _standings(rt, offset)
    previous = None if offset == 0 else max(offset - PAGE_SIZE, 0)
    return render(
        "dunning.html",
        status_code,
        title="Dunning",
        **visitor.context("dunning"),
        rows=[(s, row(s), waivable(s), once.new_key()) for s in page.items],
        zone=rt.settings.operator_time_zone,
        local_time=local_time,
        money=money_figure,
        may_write=visitor.principal.role in WRITE_ROLES | {Role.ADMIN},
        run_key=once.new_key(),
        notice=notice,
        failed=failed,
        error=error,
        csv_link=f"{LIST}?format=csv",
        next_link=None if page.next_offset is None else f"{LIST}?offset={page.next_offset}",
        previous_link=None if previous is None else f"{LIST}?offset={previous}",
    )


def _csv(rt: Runtime) -> Response:
    async def page_at(offset: int) -> Page[DunningStanding]:
        return await _standings(rt, offset, CSV_BATCH)

    zone = ZoneInfo(rt.settings.operator_time_zone)
    today = rt.clock.now().astimezone(zone).date().isoformat()
    return csv_download(f"dunning-{today}", COLUMNS, page_at, row)


def _note(text: str, *, required: bool) -> str | None:
    note = text.strip()
    if len(note) > MAX_NOTE or (required and not note):
        raise InvalidInputError(
            f"note: {'say why, in' if required else 'at most'} {MAX_NOTE} characters",
            code="invalid_note",
            field="note",
        )
    return note or None


async def _act(
    rt: Runtime,
    request: Request,
    csrf: str | None,
    key: str,
    confirm: str,
    action: str,
    target: str,
    values: dict[str, str],
    work: Callable[[Visitor], Awaitable[once.Outcome]],
) -> Response:
    """Admit finance, check the confirmation, do ``work`` once per form, answer the page."""
    visitor = await admit(request, rt, WRITE_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor
    try:
        if confirm != "yes":
            raise InvalidInputError(
                "tick the confirmation first", code="confirmation_required", field="confirm"
            )
        status, outcome = await once.once(
            rt, visitor.principal, key, f"dunning {action} {target}", values, lambda: work(visitor)
        )
    except ChargeledgerError as exc:
        status, outcome = once.refusal(exc)
    if "error" in outcome:
        return await list_page(
            rt, visitor, status_code=status, failed=target, error=outcome["error"]
        )
    return RedirectResponse(f"{LIST}?done={action}", status_code=303)


@router.post("/dunning/{invoice_id}/{action}")
async def pause_or_resume(
    invoice_id: uuid.UUID,
    action: str,
    request: Request,
    rt: RuntimeDep,
    note: Note = "",
    level: Annotated[str, Form(max_length=4)] = "",
    confirm: Confirm = "",
    idempotency_key: Key = "",
    csrf: Csrf = None,
) -> Response:
    """``pause`` / ``resume`` (the invoice disputed, or no longer), or ``waive`` a level."""
    values = {"action": action, "note": note, "level": level}

    async def work(visitor: Visitor) -> once.Outcome:
        by = visitor.principal.subject
        tz = rt.settings.operator_time_zone
        if action in ("pause", "resume"):
            text = _note(note, required=False)
            paused = action == "pause"
            await in_transaction(
                rt.uow, dunning.set_disputed, rt.clock, tz, invoice_id, paused, by, text
            )
        elif action == "waive":
            if not level.isdigit() or not 1 <= int(level) <= 99:
                raise InvalidInputError(
                    "level: the notice's level, 1 to 99", code="invalid_level", field="level"
                )
            reason = _note(note, required=True) or ""
            await in_transaction(
                rt.uow, dunning.waive_claim, rt.clock, tz, invoice_id, int(level), by, reason
            )
        else:
            raise InvalidInputError("pause, resume or waive", code="invalid_action")
        return {"done": str(invoice_id)}

    return await _act(
        rt, request, csrf, idempotency_key, confirm, action, str(invoice_id), values, work
    )


@router.post("/dunning/run")
async def run(
    request: Request,
    rt: RuntimeDep,
    confirm: Confirm = "",
    idempotency_key: Key = "",
    csrf: Csrf = None,
) -> Response:
    """Send the notices due today, as ``POST /api/v1/dunning/runs`` (each level once)."""

    async def work(visitor: Visitor) -> once.Outcome:
        report = await in_transaction(
            rt.uow, dunning.run_dunning, rt.clock, rt.dunning_terms(), None
        )
        return {"done": len(report.notices)}

    return await _act(rt, request, csrf, idempotency_key, confirm, "run", "", {}, work)
