"""Accounting exports started from the back office (issue 16): ``GET /office/exports`` (the
form: format and period), ``POST /office/exports`` (start one), ``GET /office/exports/{job}``
(its progress, then its outcome) and ``GET /office/exports/{job}/file`` (the file).

The export is ``chargeledger export ledger``'s (``ledger_exports.ledger_file`` over the
``Exports`` port: Beancount, CSV ledger, DATEV Buchungsstapel), so the file is byte for byte
the CLI's for the same format and period. It reads the books, so its roles are those of the
ledger's REST routes (``ReadLedger``: finance; admin always). It runs as background work of
this process (``Runtime.spawn``) with its status and its file in the job store
(``services.export_jobs``): the page refreshes itself every ``REFRESH_SECONDS`` (no script)
until the job has ended; the file is served from the database by any process, also after a
restart, for 7+ days. A job whose process died shows as interrupted, with a button that
starts the same export again. Each form starts one job (``office.once``): a double click
leads to the same job.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.pages import PAGE_HEADERS, error_page, render
from chargeledger.services import export_jobs
from chargeledger.services.billing.invoicing import today
from chargeledger.services.billing.ledger_exports import READING, WRITING, books_title
from chargeledger.services.transactions import reading

router = APIRouter()
EXPORT_ROLES = frozenset({Role.FINANCE})  # ``ReadLedger`` (admin is implied by ``admit``)
EXPORTS = "/office/exports"
REFRESH_SECONDS = 2
Short = Annotated[str, Form(max_length=40)]
STEPS = {
    export_jobs.QUEUED: "Queued",
    READING: "Reading the journal",
    WRITING: "Writing the file",
}


def _day(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(
            f"{field}: a date like 2026-10-01", code="invalid_date", field=field
        ) from None


def last_month(rt: Runtime) -> tuple[str, str]:
    """The usual period: the month before the operator's today, end exclusive."""
    first = today(rt.clock, rt.settings.operator_time_zone).replace(day=1)
    year, month = (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)
    return date(year, month, 1).isoformat(), first.isoformat()


def _form(
    rt: Runtime,
    visitor: Visitor,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    error: dict[str, object] | None = None,
) -> Response:
    start, end = last_month(rt)
    return render(
        "exports.html",
        status_code,
        title="Accounting export",
        **visitor.context("exports"),
        values=values or {"format": "datev", "start": start, "end": end},
        formats=rt.exports.formats(),
        error=error,
        key=once.new_key(),
    )


@router.get("/exports")
async def export_form(request: Request, rt: RuntimeDep) -> Response:
    visitor = await admit(request, rt, EXPORT_ROLES)
    if isinstance(visitor, Response):
        return visitor
    return _form(rt, visitor)


@router.post("/exports")
async def start_export(
    request: Request,
    rt: RuntimeDep,
    export_format: Annotated[str, Form(alias="format", max_length=40)] = "",
    start: Short = "",
    end: Short = "",
    idempotency_key: Annotated[str, Form(max_length=once.MAX_KEY_LENGTH + 1)] = "",
    csrf: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    visitor = await admit(request, rt, EXPORT_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor
    values = {"format": export_format, "start": start, "end": end}

    async def work() -> once.Outcome:
        first, last = _day(start, "start"), _day(end, "end")
        by = visitor.principal.subject
        job = await export_jobs.start(rt.uow, rt.clock, rt.exports, export_format, first, last, by)
        title = books_title(rt.settings.operator)
        rt.spawn(export_jobs.perform(rt.uow, rt.clock, rt.exports, job, title))
        return {"done": job.id}

    try:
        status, outcome = await once.once(
            rt, visitor.principal, idempotency_key, "export", values, work
        )
    except ChargeledgerError as exc:
        status, outcome = once.refusal(exc)
    if "error" in outcome:
        return _form(rt, visitor, status_code=status, values=values, error=outcome["error"])
    return RedirectResponse(f"{EXPORTS}/{outcome['done']}", status_code=303)


def _not_found(visitor: Visitor) -> Response:
    return error_page(
        404,
        "export_not_found",
        "No such export",
        "This export is unknown, not finished, or so old that it was forgotten.",
        principal=visitor.principal,
        csrf=visitor.csrf,
        back=EXPORTS,
        back_label="Back to the exports",
    )


@router.get("/exports/{job_id}")
async def export_page(job_id: str, request: Request, rt: RuntimeDep) -> Response:
    visitor = await admit(request, rt, EXPORT_ROLES)
    if isinstance(visitor, Response):
        return visitor
    job = await reading(rt.uow, export_jobs.job_status, job_id[:255], rt.clock.now())
    if job is None:
        return _not_found(visitor)
    return render(
        "export_job.html",
        title=f"Export {job.format}",
        **visitor.context("exports"),
        job=job,
        step=None if job.step is None else STEPS.get(job.step, job.step),
        refresh=None if job.finished or job.interrupted else REFRESH_SECONDS,
        key=once.new_key(),
    )


@router.get("/exports/{job_id}/file")
async def export_file(job_id: str, request: Request, rt: RuntimeDep) -> Response:
    visitor = await admit(request, rt, EXPORT_ROLES)
    if isinstance(visitor, Response):
        return visitor
    job = await reading(rt.uow, export_jobs.job_status, job_id[:255])
    found = await reading(rt.uow, export_jobs.job_file, job_id[:255])
    if job is None or job.outcome is None or found is None:
        return _not_found(visitor)
    content, media_type = found
    disposition = f'attachment; filename="{job.outcome["filename"]}"'
    headers = {**PAGE_HEADERS, "Content-Disposition": disposition}
    return Response(content, media_type=media_type, headers=headers)
