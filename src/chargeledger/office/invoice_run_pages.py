"""The month's invoice run started from the back office (issue 16): ``GET /office/invoice-runs``
(the form), ``POST /office/invoice-runs`` (start it) and ``GET /office/invoice-runs/{job}``
(its progress, then its outcome).

The run is the REST's and the CLI's (``invoice_runs.run_month``, role ``WriteBilling``:
finance; admin always), started as background work of this process (``Runtime.spawn``) with
its status persisted by ``invoice_run_jobs``; the job page refreshes itself every
``REFRESH_SECONDS`` (``<meta http-equiv=refresh>``, no script) until the run has ended, then
shows what it issued, its totals and its errors. A run books money, so the form asks to
confirm (``confirmation_required``) and carries the session's CSRF token; an operator
without its seller details gets the form again with ``operator_not_configured`` (500); a
second start of the same month while one runs is refused with ``invoice_run_in_progress``
(and a link to the run under way). Runs are idempotent (a run finds what an earlier one
billed), so a double click at worst starts a run that issues nothing.

A run whose process died shows as *interrupted* once its lease ran out
(``services.job_records``) with a form to start it again (``POST
/office/invoice-runs/{job}/restart``: same roles, CSRF, a confirmation, exactly once per form
via ``office.once``): the new job takes over the month and bills what the dead one had not
(``invoice_run_jobs.restart``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.domain.invoicing import Layout
from chargeledger.errors import ChargeledgerError, ConfigurationError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.pages import error_page, render
from chargeledger.services import invoice_run_jobs
from chargeledger.services.billing.invoicing import today
from chargeledger.services.transactions import reading

router = APIRouter()
RUN_ROLES = frozenset({Role.FINANCE})  # ``WriteBilling`` (admin is implied by ``admit``)
RUNS = "/office/invoice-runs"
REFRESH_SECONDS = 2
Short = Annotated[str, Form(max_length=40)]
STEPS = {
    invoice_run_jobs.QUEUED: "Queued",
    "waiting": "Waiting for another run to finish",
    "charging": "Charging completed sessions",
    "invoicing": "Invoicing the month",
    "settling": "Settling site hosts' revenue shares",
}


def last_month(rt: Runtime) -> str:
    """The month a run is usually for: the one before the operator's today."""
    first = today(rt.clock, rt.settings.operator_time_zone).replace(day=1)
    year, month = (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def _form(
    rt: Runtime,
    visitor: Visitor,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    error: dict[str, object] | None = None,
) -> Response:
    return render(
        "invoice_runs.html",
        status_code,
        title="Invoice run",
        **visitor.context("invoice-runs"),
        values=values
        or {"period": last_month(rt), "layout": Layout.PER_SESSION.value, "draft": ""},
        layouts=[layout.value for layout in Layout],
        error=error,
        running=None if error is None else error.get("details", {}),
    )


@router.get("/invoice-runs")
async def run_form(request: Request, rt: RuntimeDep) -> Response:
    visitor = await admit(request, rt, RUN_ROLES)
    if isinstance(visitor, Response):
        return visitor
    return _form(rt, visitor)


@router.post("/invoice-runs")
async def start_run(
    request: Request,
    rt: RuntimeDep,
    period: Short = "",
    layout: Short = Layout.PER_SESSION.value,
    draft: Short = "",
    confirm: Short = "",
    csrf: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    visitor = await admit(request, rt, RUN_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor
    values = {"period": period, "layout": layout, "draft": draft}
    try:
        if confirm != "yes":
            raise InvalidInputError(
                "tick the confirmation: a run issues the month's invoices",
                code="confirmation_required",
                field="confirm",
            )
        try:
            chosen = Layout(layout)
        except ValueError:
            raise InvalidInputError(
                f"layout: one of {', '.join(Layout)}", code="invalid_layout", field="layout"
            ) from None
        invoicer = rt.invoicer()  # operator_not_configured before anything is started
        by = visitor.principal.subject
        job = await invoice_run_jobs.start(
            rt.uow, rt.clock, period.strip(), chosen, bool(draft), by
        )
    except ChargeledgerError as exc:
        if exc.http_status >= 500 and not isinstance(exc, ConfigurationError):
            raise
        return _form(rt, visitor, status_code=exc.http_status, values=values, error=exc.as_dict())
    rt.spawn(invoice_run_jobs.perform(invoicer, job, period.strip(), chosen, bool(draft), by))
    return RedirectResponse(f"{RUNS}/{job}", status_code=303)


@router.get("/invoice-runs/{job_id}")
async def run_page(job_id: str, request: Request, rt: RuntimeDep) -> Response:
    visitor = await admit(request, rt, RUN_ROLES)
    if isinstance(visitor, Response):
        return visitor
    return await _job_page(rt, visitor, job_id)


async def _job_page(
    rt: Runtime,
    visitor: Visitor,
    job_id: str,
    *,
    status_code: int = 200,
    error: dict[str, object] | None = None,
) -> Response:
    job = await reading(rt.uow, invoice_run_jobs.job_status, job_id[:255], rt.clock.now())
    if job is None:
        return error_page(
            404,
            "invoice_run_not_found",
            "No such run",
            "This run is unknown, or so old that its status was forgotten.",
            principal=visitor.principal,
            csrf=visitor.csrf,
            back=RUNS,
            back_label="Back to the invoice run",
        )
    return render(
        "invoice_run.html",
        status_code,
        title=f"Invoice run {job.period}",
        **visitor.context("invoice-runs"),
        job=job,
        step=None if job.step is None else STEPS.get(job.step, job.step),
        steps=list(STEPS.values()),
        refresh=None if job.finished or job.interrupted else REFRESH_SECONDS,
        key=once.new_key(),
        error=error,
    )


@router.post("/invoice-runs/{job_id}/restart")
async def restart_run(
    job_id: str,
    request: Request,
    rt: RuntimeDep,
    confirm: Short = "",
    idempotency_key: Annotated[str, Form(max_length=once.MAX_KEY_LENGTH + 1)] = "",
    csrf: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    """Start an interrupted run again (finance; admin), once per form."""
    visitor = await admit(request, rt, RUN_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor
    job_id = job_id[:255]

    async def work() -> once.Outcome:
        invoicer = rt.invoicer()
        by = visitor.principal.subject
        new = await invoice_run_jobs.restart(rt.uow, rt.clock, job_id, by)
        chosen = Layout(new.layout)
        rt.spawn(invoice_run_jobs.perform(invoicer, new.id, new.period, chosen, new.draft, by))
        return {"done": new.id}

    try:
        if confirm != "yes":
            raise InvalidInputError(
                "tick the confirmation: the run issues the month's remaining invoices",
                code="confirmation_required",
                field="confirm",
            )
        status, outcome = await once.once(
            rt, visitor.principal, idempotency_key, f"restart run {job_id}", {}, work
        )
    except ChargeledgerError as exc:
        if exc.http_status >= 500 and not isinstance(exc, ConfigurationError):
            raise
        status, outcome = exc.http_status, {"error": exc.as_dict()}
    if "error" in outcome:
        return await _job_page(rt, visitor, job_id, status_code=status, error=outcome["error"])
    return RedirectResponse(f"{RUNS}/{outcome['done']}", status_code=303)
