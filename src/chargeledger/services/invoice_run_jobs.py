"""An invoice run started from the back office as a background job (issue 16: "long jobs
started from the UI show progress and their outcome"), with a small persisted status.

The run itself is ``invoice_runs.run_month``, the same as the CLI's and ``POST
/api/v1/invoice-runs``; this module only keeps what a page shows while and after it runs, in
the job store of ``job_records`` (scope ``invoice-run-job``, key the job's id; forgotten after
7+ days), with its inputs under ``"job"`` and a heartbeat while it runs.

One run per month at a time from the office: a start claims the key ``<period>`` in scope
``invoice-run-period`` (naming the job) and the job frees it when it ends; a second start
meanwhile is refused with ``invoice_run_in_progress`` (the running job named in its details).
Runs of different months still take turns on the ``invoice-runs`` lock (``run_month``).

A process that dies mid-run leaves its month claimed and its job "running"; once the job's
lease has run out (``job_records.LEASE``) the job is *interrupted* and ``restart`` hands the
month's claim to a new job with the same inputs (in one transaction, only while the claim
still names the dead job: two restarts at once start one run). Starting again is safe: the
dead run's database work was either committed or rolled back with its process (its
``invoice-runs`` lock went with its connection), and a run is idempotent per (account,
period): each has a run key, unique in storage, so the new run counts what the dead one
billed as ``already_invoiced`` and bills only the rest (``billing.invoicing``).

Handed the unit-of-work factory: each status change is its own short transaction (DESIGN §3).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from chargeledger.domain.accounts import BillingCycle
from chargeledger.domain.billing_periods import billing_period
from chargeledger.domain.invoicing import Invoice, Layout
from chargeledger.errors import ChargeledgerError, ConflictError, NotFoundError
from chargeledger.services.billing.invoice_runs import Invoicer, MonthRun, run_month
from chargeledger.services.idempotency_keys import claim_key, forget_key, store_answer
from chargeledger.services.job_records import DONE, JSON, RUNNING, JobLog, encode, read_job
from chargeledger.services.payments.ports import IdempotencyRecord
from chargeledger.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from chargeledger.services.transactions import in_transaction, reading

__all__ = ["DONE", "JSON", "RUNNING", "RunJob", "job_status", "perform", "restart", "start"]

JOBS = "invoice-run-job"
PERIODS = "invoice-run-period"
RUN_IN_PROGRESS = "invoice_run_in_progress"
NOT_INTERRUPTED = "invoice_run_not_interrupted"
INTERRUPTED = "interrupted"
QUEUED = "queued"


@dataclass(frozen=True, slots=True)
class RunJob:
    """What the run page shows: the inputs, the step under way, then the outcome or error;
    ``interrupted`` when its process stopped beating (``job_records.LEASE``)."""

    id: str
    period: str
    draft: bool
    started_by: str
    step: str | None  # None once finished
    outcome: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    layout: str = Layout.PER_SESSION.value

    @property
    def finished(self) -> bool:
        return self.step is None


def _inputs(period: str, layout: Layout, draft: bool, started_by: str) -> dict[str, Any]:
    return {"period": period, "layout": layout.value, "draft": draft, "by": started_by}


async def _record_queued(
    uow: UnitOfWork, job_id: str, inputs: dict[str, Any], now: datetime
) -> None:
    await claim_key(uow, IdempotencyRecord(JOBS, job_id, inputs["period"], now))
    body = encode(inputs, {"step": QUEUED}, now)
    await store_answer(uow, JOBS, job_id, RUNNING, body, JSON)


def _in_progress(period: str, job: str) -> ConflictError:
    return ConflictError(
        f"an invoice run of {period} is under way: wait for it to finish",
        code=RUN_IN_PROGRESS,
        details={"job": job},
    )


async def start(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    period: str,
    layout: Layout,
    draft: bool,
    started_by: str,
) -> str:
    """Claim the month for a new job and record it as queued; its id. InvalidInputError for
    a period that is no month; ConflictError ``invoice_run_in_progress`` while one runs."""
    billing_period(BillingCycle.MONTHLY, period)
    job_id = str(uuid.uuid4())
    now = clock.now()

    async def claim(uow: UnitOfWork) -> None:
        running = await claim_key(uow, IdempotencyRecord(PERIODS, period, job_id, now))
        if running is not None:
            raise _in_progress(period, running.request_hash)
        await _record_queued(uow, job_id, _inputs(period, layout, draft, started_by), now)

    await in_transaction(uow_factory, claim)
    return job_id


async def restart(
    uow_factory: UnitOfWorkFactory, clock: Clock, job_id: str, started_by: str
) -> RunJob:
    """A new queued job with the inputs of the interrupted ``job_id``, holding its month;
    the old job ends as ``interrupted`` naming the new one. NotFoundError for a job unknown;
    ConflictError ``invoice_run_not_interrupted`` for one that runs (or ended), and
    ``invoice_run_in_progress`` when another job holds the month meanwhile."""
    now = clock.now()
    new_id = str(uuid.uuid4())

    async def take_over(uow: UnitOfWork) -> RunJob:
        old = await job_status(uow, job_id, now)
        if old is None:
            raise NotFoundError("this run is unknown", code="invoice_run_not_found")
        if not old.interrupted:
            raise ConflictError(
                "this run was not interrupted: only a run whose process stopped starts again",
                code=NOT_INTERRUPTED,
            )
        claim = await uow.payments.idempotency_record(PERIODS, old.period)
        if claim is not None and claim.request_hash != job_id:
            raise _in_progress(old.period, claim.request_hash)
        await forget_key(uow, PERIODS, old.period)
        taken = await claim_key(uow, IdempotencyRecord(PERIODS, old.period, new_id, now))
        if taken is not None:  # another restart took it first
            raise _in_progress(old.period, taken.request_hash)
        inputs = _inputs(old.period, Layout(old.layout), old.draft, started_by)
        await _record_queued(uow, new_id, inputs, now)
        ended = {
            "code": INTERRUPTED,
            "message": "the run's process stopped before it ended; it was started again",
            "details": {"restarted_as": new_id, "by": started_by},
        }
        old_inputs = _inputs(old.period, Layout(old.layout), old.draft, old.started_by)
        body = encode(old_inputs, {"error": ended}, now)
        await store_answer(uow, JOBS, job_id, 410, body, JSON)
        return RunJob(new_id, old.period, old.draft, started_by, QUEUED, layout=old.layout)

    return await in_transaction(uow_factory, take_over)


async def perform(
    invoicer: Invoicer, job_id: str, period: str, layout: Layout, draft: bool, started_by: str
) -> RunJob | None:
    """Run the job ``start`` recorded to its end, keeping its status and beating while it
    runs; the month is freed for another run whatever happens. A server error is kept as
    ``internal_error`` (and raised again, to be logged)."""
    uow_factory = invoicer.uow
    inputs = _inputs(period, layout, draft, started_by)
    log = JobLog(uow_factory, invoicer.clock, JOBS, job_id, inputs)

    async def step(name: str) -> None:
        await log.note(RUNNING, {"step": name})

    try:
        async with log.heartbeat():
            run = await run_month(
                invoicer, period, layout, issue=not draft, progress=step, lines_kept=False
            )
        await log.note(DONE, outcome_of(run))
    except ChargeledgerError as error:
        await log.note(error.http_status, {"error": error.as_dict()})
    except Exception:
        await log.note(500, {"error": {"code": "internal_error", "message": "the run failed"}})
        raise
    finally:
        await in_transaction(uow_factory, _free_month, period, job_id)
    return await reading(uow_factory, job_status, job_id)


async def _free_month(uow: UnitOfWork, period: str, job_id: str) -> None:
    """Free the month, unless a restart handed it to another job meanwhile."""
    claim = await uow.payments.idempotency_record(PERIODS, period)
    if claim is not None and claim.request_hash == job_id:
        await forget_key(uow, PERIODS, period)


def _totals(documents: list[Invoice]) -> dict[str, str]:
    """Gross totals by currency, as text (Decimal, never float: DESIGN §2)."""
    sums: dict[str, Decimal] = {}
    for document in documents:
        currency = str(document.currency)
        sums[currency] = sums.get(currency, Decimal(0)) + document.gross_total
    return {currency: f"{amount:f}" for currency, amount in sorted(sums.items())}


def outcome_of(run: MonthRun) -> dict[str, Any]:
    """What the page shows of a finished run (as the REST answer, plus totals and errors)."""
    result = run.invoiced
    receipts = [*run.charged.receipts, *result.receipts]
    return {
        "period_start": result.period[0].isoformat(),
        "period_end": result.period[1].isoformat(),
        "issued": [i.number or "" for i in result.issued],
        "drafts": [str(i.id) for i in result.drafts],
        "receipts": [r.number or "" for r in receipts],
        "already_invoiced": result.already_done,
        "sessions_charged": run.charged.total,
        "invoiced_totals": _totals([*result.issued, *result.drafts]),
        "receipt_totals": _totals(receipts),
        "unpriced": {str(k): v for k, v in sorted(run.charged.unpriced.items())},
        "shares_issued": [] if run.shares is None else [i.number or "" for i in run.shares.issued],
        "shares_held": [] if run.shares is None else [list(h) for h in run.shares.held],
    }


async def job_status(uow: UnitOfWork, job_id: str, now: datetime | None = None) -> RunJob | None:
    """The job's status, or None for a job unknown (or forgotten after its 7+ days); given
    ``now``, a running job whose lease ran out is ``interrupted``."""
    record = await read_job(uow, JOBS, job_id)
    if record is None:
        return None
    inputs, body = record.inputs, record.body
    common: dict[str, Any] = {
        "id": job_id,
        "period": inputs["period"],
        "draft": bool(inputs["draft"]),
        "started_by": inputs["by"],
        "layout": inputs.get("layout", Layout.PER_SESSION.value),
    }
    if record.running:
        interrupted = now is not None and record.interrupted(now)
        return RunJob(step=str(body.get("step", QUEUED)), interrupted=interrupted, **common)
    if record.status == DONE:
        return RunJob(step=None, outcome=body, **common)
    error = body.get("error", {})
    return RunJob(step=None, error=error, details=error.get("details", {}), **common)
