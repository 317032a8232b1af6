"""A bank statement import started from the back office as a background job (issue 16: "long
jobs started from the UI (invoice run, exports, statement import) show progress and their
outcome"), its status and its file.

The import itself is ``bank_reconciliation.import_statement_file``, the same as ``POST
/api/v1/bank/statements`` and ``chargeledger bank import``, so the report is the REST's for the
same file. The uploaded file is kept in the job store of ``job_records`` (scope
``bank-import-file``, key the id of the job it was uploaded with; the body is the file), so
every process can read it and a restart can import it again; the status lives beside it (scope
``bank-import-job``): queued, reading the file, then importing with the entries read and
matched so far of the file's total (the import's ``progress``, told per batch), then the
report (or the error with its stable code). Both are forgotten after 7+ days.

Progress is written by a task of its own (``_ProgressNotes``), never by the import: the import
holds one transaction (on SQLite: the database's write lock) until it commits, so a note
written meanwhile waits for that commit there, while the import goes on; on PostgreSQL it is
seen at once. The final note waits for the last progress note, so it is always the last.

A process that dies mid-import leaves its job "running"; once the lease ran out
(``job_records.LEASE``) it is *interrupted* and ``restart`` starts a new job over the same kept
file (the old one ends naming it). Importing it again is safe: the dead import's single
transaction was either committed or rolled back with its process, and an import skips what is
stored — each statement is found again by (account IBAN, statement id) and each entry by
(account IBAN, entry reference), so what the dead import committed counts as "already
imported" and only the rest is imported. Two restarts of one job from two forms at once may
both start a job; the imports take turns on the ``bank-import`` lock and the second finds
everything stored.

Handed the unit-of-work factory: each status change is its own short transaction (DESIGN §3).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chargeledger.errors import ChargeledgerError, ConflictError, NotFoundError
from chargeledger.services.billing.bank_reconciliation import (
    ImportProgress,
    ImportReport,
    import_statement_file,
)
from chargeledger.services.billing.statements import StatementReader
from chargeledger.services.idempotency_keys import claim_key, store_answer
from chargeledger.services.job_records import DONE, JSON, RUNNING, JobLog, encode, read_job
from chargeledger.services.payments.ports import IdempotencyRecord
from chargeledger.services.ports import Clock, Locks, UnitOfWork, UnitOfWorkFactory
from chargeledger.services.transactions import in_transaction, reading

log = logging.getLogger(__name__)
JOBS = "bank-import-job"
FILES = "bank-import-file"
QUEUED, READING, IMPORTING = "queued", "reading", "importing"
INTERRUPTED = "interrupted"
NOT_FOUND = "bank_import_not_found"
NOT_INTERRUPTED = "bank_import_not_interrupted"


@dataclass(frozen=True, slots=True)
class ImportJob:
    """What the import page shows: the file, the step (None once finished) with the progress
    so far, then the report or the error; ``interrupted`` when its process stopped beating."""

    id: str
    filename: str
    sha256: str
    file_key: str  # the job the file was uploaded with
    started_by: str
    step: str | None
    read: int | None = None
    matched: int | None = None
    total: int | None = None
    statements: list[str] = field(default_factory=list)  # stored statement rows seen
    outcome: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    interrupted: bool = False

    @property
    def finished(self) -> bool:
        return self.step is None


def report_of(report: ImportReport, filename: str | None) -> dict[str, Any]:
    """What the import did, as the pages show it (the REST ``ImportOut``'s numbers)."""
    return {
        "filename": filename or "the file",
        "statements": report.statements,
        "new": report.new,
        "duplicates": report.duplicates,
        "matched": report.matched,
        "unmatched": report.unmatched,
        "states": {state.value: count for state, count in sorted(report.states.items())},
        "rules": dict(sorted(report.by_rule.items())),
        "balance_gaps": report.balance_gaps,
        "payout_differences": report.payout_differences,
    }


def _inputs(filename: str, sha256: str, file_key: str, by: str) -> dict[str, Any]:
    return {"filename": filename, "sha256": sha256, "file": file_key, "by": by}


async def _record_queued(
    uow: UnitOfWork, job_id: str, inputs: dict[str, Any], now: datetime
) -> None:
    await claim_key(uow, IdempotencyRecord(JOBS, job_id, inputs["sha256"], now))
    body = encode(inputs, {"step": QUEUED}, now)
    await store_answer(uow, JOBS, job_id, RUNNING, body, JSON)


async def start(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    data: bytes,
    filename: str | None,
    started_by: str,
) -> ImportJob:
    """Keep the file and record a new import job of it as queued (one transaction)."""
    job_id = str(uuid.uuid4())
    digest = hashlib.sha256(data).hexdigest()
    inputs = _inputs((filename or "")[:255], digest, job_id, started_by)
    now = clock.now()

    async def record(uow: UnitOfWork) -> None:
        await claim_key(uow, IdempotencyRecord(FILES, job_id, digest, now))
        await store_answer(uow, FILES, job_id, DONE, data, "application/octet-stream")
        await _record_queued(uow, job_id, inputs, now)

    await in_transaction(uow_factory, record)
    return _job(job_id, inputs, step=QUEUED)


def _job(job_id: str, inputs: dict[str, Any], **state: Any) -> ImportJob:
    return ImportJob(
        id=job_id,
        filename=inputs["filename"],
        sha256=inputs["sha256"],
        file_key=inputs["file"],
        started_by=inputs["by"],
        **state,
    )


async def restart(
    uow_factory: UnitOfWorkFactory, clock: Clock, job_id: str, started_by: str
) -> ImportJob:
    """A new queued job over the kept file of the interrupted ``job_id``; the old job ends as
    ``interrupted`` naming the new one. NotFoundError ``bank_import_not_found`` for a job (or
    file) unknown or forgotten; ConflictError ``bank_import_not_interrupted`` for a job that
    runs or ended."""
    now = clock.now()
    new_id = str(uuid.uuid4())

    async def take_over(uow: UnitOfWork) -> ImportJob:
        old = await job_status(uow, job_id, now)
        kept = None if old is None else await uow.payments.idempotency_record(FILES, old.file_key)
        if old is None or kept is None or kept.body is None:
            raise NotFoundError("this import (or its file) is unknown", code=NOT_FOUND)
        if not old.interrupted:
            raise ConflictError(
                "this import was not interrupted: only one whose process stopped starts again",
                code=NOT_INTERRUPTED,
            )
        inputs = _inputs(old.filename, old.sha256, old.file_key, started_by)
        await _record_queued(uow, new_id, inputs, now)
        ended = {
            "code": INTERRUPTED,
            "message": "the import's process stopped before it ended; it was started again",
            "details": {"restarted_as": new_id, "by": started_by},
        }
        old_inputs = _inputs(old.filename, old.sha256, old.file_key, old.started_by)
        await store_answer(uow, JOBS, job_id, 410, encode(old_inputs, {"error": ended}, now), JSON)
        return _job(new_id, inputs, step=QUEUED)

    return await in_transaction(uow_factory, take_over)


class _ProgressNotes:
    """Keeps the newest progress and writes it from a task of its own (module docstring)."""

    def __init__(self, job_log: JobLog) -> None:
        self.job_log = job_log
        self.statements: list[str] = []
        self._pending: dict[str, Any] | None = None
        self._writer: asyncio.Task[None] | None = None

    async def __call__(self, progress: ImportProgress) -> None:
        row = str(progress.statement_row)
        if row not in self.statements:
            self.statements.append(row)
        self._pending = {
            "step": IMPORTING,
            "read": progress.read,
            "matched": progress.matched,
            "total": progress.total,
            "statements": list(self.statements),
        }
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())

    async def _write(self) -> None:
        while self._pending is not None:
            content, self._pending = self._pending, None
            try:
                await self.job_log.note(RUNNING, content)
            except Exception:  # a missed note; the next one (or the outcome) follows
                log.warning("import job: progress not written", exc_info=True)

    async def settled(self) -> None:
        """Wait for the last progress note (before the outcome is written)."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)


async def perform(
    uow_factory: UnitOfWorkFactory,
    locks: Locks,
    clock: Clock,
    time_zone: str,
    reader: StatementReader,
    job_id: str,
) -> ImportJob | None:
    """Import the file of the job ``start`` (or ``restart``) recorded, keeping its progress
    and then its report (or its error; a server error is kept as ``internal_error`` and raised
    again, to be logged). None for a job (or file) unknown or forgotten meanwhile."""
    queued = await reading(uow_factory, job_status, job_id)
    kept = None if queued is None else await reading(uow_factory, _file, queued.file_key)
    if queued is None or kept is None:
        return None
    inputs = _inputs(queued.filename, queued.sha256, queued.file_key, queued.started_by)
    job_log = JobLog(uow_factory, clock, JOBS, job_id, inputs)
    notes = _ProgressNotes(job_log)
    filename = queued.filename or None
    try:
        async with job_log.heartbeat():
            await job_log.note(RUNNING, {"step": READING})
            report = await import_statement_file(
                uow_factory,
                locks,
                clock,
                time_zone,
                reader,
                kept,
                filename=filename,
                imported_by=queued.started_by,
                progress=notes,
            )
            await notes.settled()
        outcome = {**report_of(report, filename), "statement_rows": notes.statements}
        await job_log.note(DONE, outcome)
    except ChargeledgerError as error:
        await notes.settled()
        await job_log.note(error.http_status, {"error": error.as_dict()})
    except Exception:
        await notes.settled()
        failed = {"code": "internal_error", "message": "the import failed"}
        await job_log.note(500, {"error": failed})
        raise
    return await reading(uow_factory, job_status, job_id)


async def _file(uow: UnitOfWork, file_key: str) -> bytes | None:
    record = await uow.payments.idempotency_record(FILES, file_key)
    return None if record is None else record.body


async def job_status(uow: UnitOfWork, job_id: str, now: datetime | None = None) -> ImportJob | None:
    """The job's status, or None for a job unknown (or forgotten after its 7+ days); given
    ``now``, a running job whose lease ran out is ``interrupted``."""
    record = await read_job(uow, JOBS, job_id)
    if record is None:
        return None
    body = record.body
    if record.running:
        return _job(
            job_id,
            record.inputs,
            step=str(body.get("step", QUEUED)),
            read=body.get("read"),
            matched=body.get("matched"),
            total=body.get("total"),
            statements=list(body.get("statements", [])),
            interrupted=now is not None and record.interrupted(now),
        )
    if record.status == DONE:
        rows = list(body.get("statement_rows", []))
        return _job(job_id, record.inputs, step=None, outcome=body, statements=rows)
    return _job(job_id, record.inputs, step=None, error=body.get("error", {}))
