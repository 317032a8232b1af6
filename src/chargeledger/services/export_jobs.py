"""An accounting export started from the back office as a background job (issue 16: "long
jobs started from the UI show progress and their outcome"), its status and its file.

The export itself is ``ledger_exports.ledger_file``, the same as ``chargeledger export
ledger``'s, so the file's bytes are the CLI's for the same format and period. The status lives
in the job store of ``job_records`` (scope ``export-job``, key the job's id): queued, reading
the journal, writing N entries (a format writes its file in one piece, so there is no finer
progress), then the outcome (entries, file name, size, SHA-256) or the error.

The produced file is kept in the same store, beside its job (scope ``export-file``, key the
job's id; the body is the file, the content type its media type): every process of the
installation serves it, a restart keeps it, and it is forgotten with the job after 7+ days.
A process that dies mid-export leaves a job without a file that shows as interrupted once its
lease ran out; starting it again is a new job with the same inputs (an export changes
nothing, so there is nothing to take over).

Handed the unit-of-work factory: each status change is its own short transaction (DESIGN §3).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from chargeledger.errors import ChargeledgerError
from chargeledger.services.billing.ledger_exports import (
    LedgerFile,
    check_period,
    chosen_format,
    ledger_file,
)
from chargeledger.services.idempotency_keys import claim_key, store_answer
from chargeledger.services.job_records import DONE, JSON, RUNNING, JobLog, encode, read_job
from chargeledger.services.payments.ports import IdempotencyRecord
from chargeledger.services.ports import Clock, Exports, UnitOfWork, UnitOfWorkFactory
from chargeledger.services.transactions import in_transaction

JOBS = "export-job"
FILES = "export-file"
QUEUED = "queued"


@dataclass(frozen=True, slots=True)
class ExportJob:
    """What the export page shows: the inputs, the step (None once finished) with the number
    of entries once known, then the outcome or the error."""

    id: str
    format: str
    start: str  # ISO date or "" (from the beginning)
    end: str  # ISO date or "" (to the end), exclusive
    started_by: str
    step: str | None
    entries: int | None = None
    outcome: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    interrupted: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.step is None


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


async def start(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    exports: Exports,
    format_name: str,
    first: date | None,
    last: date | None,
    started_by: str,
) -> ExportJob:
    """Record a new export job as queued; InvalidInputError for an unknown format
    (``unknown_export_format``) or a period that ends before it starts."""
    chosen = chosen_format(exports, format_name)
    check_period(first, last)
    job = ExportJob(
        id=str(uuid.uuid4()),
        format=chosen.name,
        start=first.isoformat() if first else "",
        end=last.isoformat() if last else "",
        started_by=started_by,
        step=QUEUED,
    )
    now = clock.now()

    async def record(uow: UnitOfWork) -> None:
        await claim_key(uow, IdempotencyRecord(JOBS, job.id, job.format, now))
        body = encode(_inputs(job), {"step": QUEUED}, now)
        await store_answer(uow, JOBS, job.id, RUNNING, body, JSON)

    await in_transaction(uow_factory, record)
    return job


def _inputs(job: ExportJob) -> dict[str, Any]:
    return {"format": job.format, "start": job.start, "end": job.end, "by": job.started_by}


async def perform(
    uow_factory: UnitOfWorkFactory, clock: Clock, exports: Exports, job: ExportJob, title: str
) -> None:
    """Write the export ``start`` recorded, keep its file, then its outcome (or its error; a
    server error is kept as ``internal_error`` and raised again, to be logged)."""
    log = JobLog(uow_factory, clock, JOBS, job.id, _inputs(job))

    async def progress(step: str, entries: int | None) -> None:
        await log.note(RUNNING, {"step": step, "entries": entries})

    try:
        async with log.heartbeat():
            made = await ledger_file(
                uow_factory,
                exports,
                job.format,
                _day(job.start),
                _day(job.end),
                title,
                progress,
            )
            await in_transaction(uow_factory, _keep_file, job.id, made, clock.now())
        await log.note(DONE, _outcome(made))
    except ChargeledgerError as error:
        await log.note(error.http_status, {"error": error.as_dict()})
    except Exception:
        failed = {"code": "internal_error", "message": "the export failed"}
        await log.note(500, {"error": failed})
        raise


def _outcome(made: LedgerFile) -> dict[str, Any]:
    return {
        "entries": made.entries,
        "filename": made.filename,
        "media_type": made.media_type,
        "size": len(made.content),
        "sha256": hashlib.sha256(made.content).hexdigest(),
    }


async def _keep_file(uow: UnitOfWork, job_id: str, made: LedgerFile, now: datetime) -> None:
    digest = hashlib.sha256(made.content).hexdigest()
    await claim_key(uow, IdempotencyRecord(FILES, job_id, digest, now))
    await store_answer(uow, FILES, job_id, DONE, made.content, made.media_type)


async def job_status(uow: UnitOfWork, job_id: str, now: datetime | None = None) -> ExportJob | None:
    """The job's status, or None for a job unknown (or forgotten after its 7+ days); given
    ``now``, a running job whose lease ran out is ``interrupted``."""
    record = await read_job(uow, JOBS, job_id)
    if record is None:
        return None
    inputs, body = record.inputs, record.body
    common: dict[str, Any] = {
        "id": job_id,
        "format": inputs["format"],
        "start": inputs["start"],
        "end": inputs["end"],
        "started_by": inputs["by"],
    }
    if record.running:
        return ExportJob(
            step=str(body.get("step", QUEUED)),
            entries=body.get("entries"),
            interrupted=now is not None and record.interrupted(now),
            **common,
        )
    if record.status == DONE:
        return ExportJob(step=None, entries=body["entries"], outcome=body, **common)
    error = body.get("error", {})
    return ExportJob(step=None, error=error, details=error.get("details", {}), **common)


async def job_file(uow: UnitOfWork, job_id: str) -> tuple[bytes, str] | None:
    """The finished job's file and its media type; None when there is none (yet)."""
    record = await uow.payments.idempotency_record(FILES, job_id)
    if record is None or record.body is None:
        return None
    return record.body, record.content_type or "application/octet-stream"
