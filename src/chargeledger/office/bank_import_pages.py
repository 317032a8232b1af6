"""The bank statement import as a long job (issue 16: "long jobs started from the UI (invoice
run, exports, statement import) show progress and their outcome"): ``POST
/office/bank/statements`` (the upload on ``/office/bank``) keeps the file and starts the job,
``GET /office/bank/imports/{job}`` shows its progress and then its report (or its error with
the stable code), ``POST /office/bank/imports/{job}/again`` imports an interrupted job's file
again.

The import is ``bank_reconciliation.import_statement_file`` with the runtime's statement
reader, the use case of ``POST /api/v1/bank/statements``, run as background work of this
process (``Runtime.spawn``) with its file and status in the job store
(``services.bank_import_jobs``): the report is the REST's for the same file. Roles are the
REST's ``WriteBank`` (finance; admin always) for the upload and the job pages alike.

Exactly once: each form starts one job (``office.once``, the file's SHA-256 in the
fingerprint), so a double click leads to the same job; the same file from another form is a
second job that imports nothing new (the import skips the entries it knows). The page
refreshes itself every ``REFRESH_SECONDS`` (no script) while the job runs. A job whose process
died shows as interrupted with "Import it again": safe, because the dead import's one
transaction was committed or rolled back whole and the new import skips what is stored
(``bank_import_jobs``).
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse

from chargeledger.api.body_limit import body_limit
from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.errors import ChargeledgerError, InvalidInputError
from chargeledger.office import once
from chargeledger.office.bank_pages import HOME, WRITE_ROLES, home_page
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.pages import error_page, render
from chargeledger.services import bank_import_jobs as jobs
from chargeledger.services.billing.statements import MAX_STATEMENT_BYTES
from chargeledger.services.transactions import reading

router = APIRouter()
IMPORTS = "/office/bank/imports"
REFRESH_SECONDS = 2
MULTIPART_OVERHEAD = 64 * 1024
STEPS = {
    jobs.QUEUED: "Queued",
    jobs.READING: "Reading the file",
    jobs.IMPORTING: "Importing",
}
Key = Annotated[str, Form(max_length=once.MAX_KEY_LENGTH + 1)]
Csrf = Annotated[str | None, Form(max_length=200)]


def _spawn(rt: Runtime, job: jobs.ImportJob) -> None:
    zone = rt.settings.operator_time_zone
    rt.spawn(jobs.perform(rt.uow, rt.locks, rt.clock, zone, rt.statements, job.id))


@router.post("/bank/statements", openapi_extra=body_limit(MAX_STATEMENT_BYTES + MULTIPART_OVERHEAD))
async def upload_statement(
    request: Request,
    rt: RuntimeDep,
    statement: Annotated[UploadFile | None, File()] = None,
    idempotency_key: Key = "",
    csrf: Csrf = None,
) -> Response:
    """Keep an uploaded statement file and start its import, as ``POST
    /api/v1/bank/statements`` imports it; to the job's page."""
    visitor = await admit(request, rt, WRITE_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor
    data = b"" if statement is None else await statement.read(MAX_STATEMENT_BYTES + 1)
    filename = None if statement is None else (statement.filename or None)
    values = {"sha256": hashlib.sha256(data).hexdigest(), "filename": filename or ""}

    async def work() -> once.Outcome:
        if not data:
            raise InvalidInputError(
                "choose a statement file (camt.053 XML or CSV)",
                code="statement_missing",
                field="statement",
            )
        job = await jobs.start(rt.uow, rt.clock, data, filename, visitor.principal.subject)
        _spawn(rt, job)
        return {"done": job.id}

    try:
        status, outcome = await once.once(
            rt, visitor.principal, idempotency_key, "import statement job", values, work
        )
    except ChargeledgerError as exc:
        status, outcome = once.refusal(exc)
    if "error" in outcome:
        return await home_page(rt, visitor, status_code=status, error=outcome["error"])
    return RedirectResponse(f"{IMPORTS}/{outcome['done']}", status_code=303)


def _not_found(visitor: Visitor) -> Response:
    return error_page(
        404,
        jobs.NOT_FOUND,
        "No such import",
        "This import is unknown, or so old that it was forgotten.",
        principal=visitor.principal,
        csrf=visitor.csrf,
        back=HOME,
        back_label="Back to the bank statements",
    )


@router.get("/bank/imports/{job_id}")
async def import_page(job_id: str, request: Request, rt: RuntimeDep) -> Response:
    visitor = await admit(request, rt, WRITE_ROLES)
    if isinstance(visitor, Response):
        return visitor
    job = await reading(rt.uow, jobs.job_status, job_id[:255], rt.clock.now())
    if job is None:
        return _not_found(visitor)
    return render(
        "bank_import.html",
        title=f"Import of {job.filename or 'a statement file'}",
        **visitor.context("bank"),
        job=job,
        report=job.outcome,
        step=None if job.step is None else STEPS.get(job.step, job.step),
        refresh=None if job.finished or job.interrupted else REFRESH_SECONDS,
        key=once.new_key(),
    )


@router.post("/bank/imports/{job_id}/again")
async def import_again(
    job_id: str, request: Request, rt: RuntimeDep, idempotency_key: Key = "", csrf: Csrf = None
) -> Response:
    """Import an interrupted job's file again (a new job; module docstring: why it is safe)."""
    visitor = await admit(request, rt, WRITE_ROLES, csrf=csrf)
    if isinstance(visitor, Response):
        return visitor

    async def work() -> once.Outcome:
        job = await jobs.restart(rt.uow, rt.clock, job_id[:255], visitor.principal.subject)
        _spawn(rt, job)
        return {"done": job.id}

    try:
        status, outcome = await once.once(
            rt, visitor.principal, idempotency_key, "import again", {"job": job_id}, work
        )
    except ChargeledgerError as exc:
        status, outcome = once.refusal(exc)
    if "error" in outcome:
        error = outcome["error"]
        return error_page(
            status,
            error["code"],
            "Not started again",
            error["message"],
            principal=visitor.principal,
            csrf=visitor.csrf,
            back=f"{IMPORTS}/{job_id[:255]}",
            back_label="Back to the import",
        )
    return RedirectResponse(f"{IMPORTS}/{outcome['done']}", status_code=303)
