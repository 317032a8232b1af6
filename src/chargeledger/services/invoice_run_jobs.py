"""An invoice run started from the back office as a background job (issue 16: "long jobs
started from the UI show progress and their outcome"), with a small persisted status.

The run itself is ``invoice_runs.run_month``, the same as the CLI's and ``POST
/api/v1/invoice-runs``; this module only keeps what a page shows while and after it runs. The
status lives in the exactly-once records the REST ``Idempotency-Key`` uses (no table of its
own): scope ``invoice-run-job``, key the job's id; its answer is ``202`` with the step while
the run goes on, ``200`` with the outcome, or the error's status with ``{"error": …}``, each
with the run's inputs under ``"job"``. Like every such record it is forgotten after 7+ days.

One run per month at a time from the office: a start claims the key ``<period>`` in scope
``invoice-run-period`` (naming the job) and the job frees it when it ends; a second start
meanwhile is refused with ``invoice_run_in_progress`` (the running job named in its details).
Runs of different months still take turns on the ``invoice-runs`` lock (``run_month``).

Handed the unit-of-work factory: each status change is its own short transaction (DESIGN §3).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from chargeledger.domain.accounts import BillingCycle
from chargeledger.domain.billing_periods import billing_period
from chargeledger.domain.invoicing import Invoice, Layout
from chargeledger.errors import ChargeledgerError, ConflictError
from chargeledger.services.billing.invoice_runs import Invoicer, MonthRun, run_month
from chargeledger.services.idempotency_keys import claim_key, forget_key, store_answer
from chargeledger.services.payments.ports import IdempotencyRecord
from chargeledger.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from chargeledger.services.transactions import in_transaction, reading

JOBS = "invoice-run-job"
PERIODS = "invoice-run-period"
RUN_IN_PROGRESS = "invoice_run_in_progress"
QUEUED = "queued"
RUNNING, DONE = 202, 200
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class RunJob:
    """What the run page shows: the inputs, the step under way, then the outcome or error."""

    id: str
    period: str
    draft: bool
    started_by: str
    step: str | None  # None once finished
    outcome: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.step is None


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
    inputs = {"period": period, "layout": layout.value, "draft": draft, "by": started_by}

    async def claim(uow: UnitOfWork) -> None:
        running = await claim_key(uow, IdempotencyRecord(PERIODS, period, job_id, now))
        if running is not None:
            raise ConflictError(
                f"an invoice run of {period} is under way: wait for it to finish",
                code=RUN_IN_PROGRESS,
                details={"job": running.request_hash},
            )
        await claim_key(uow, IdempotencyRecord(JOBS, job_id, period, now))
        await store_answer(uow, JOBS, job_id, RUNNING, _body(inputs, {"step": QUEUED}), JSON)

    await in_transaction(uow_factory, claim)
    return job_id


async def perform(
    invoicer: Invoicer, job_id: str, period: str, layout: Layout, draft: bool, started_by: str
) -> RunJob | None:
    """Run the job ``start`` recorded to its end, keeping its status; the month is freed
    for another run whatever happens. A server error is kept as ``internal_error`` (and
    raised again, to be logged)."""
    uow_factory = invoicer.uow
    inputs = {"period": period, "layout": layout.value, "draft": draft, "by": started_by}

    async def note(status: int, body: dict[str, Any]) -> None:
        content = _body(inputs, body)
        await in_transaction(uow_factory, store_answer, JOBS, job_id, status, content, JSON)

    async def step(name: str) -> None:
        await note(RUNNING, {"step": name})

    try:
        run = await run_month(invoicer, period, layout, issue=not draft, progress=step)
        await note(DONE, outcome_of(run))
    except ChargeledgerError as error:
        await note(error.http_status, {"error": error.as_dict()})
    except Exception:
        await note(500, {"error": {"code": "internal_error", "message": "the run failed"}})
        raise
    finally:
        await in_transaction(uow_factory, forget_key, PERIODS, period)
    return await reading(uow_factory, job_status, job_id)


def _body(inputs: dict[str, Any], content: dict[str, Any]) -> bytes:
    return json.dumps({"job": inputs, **content}, sort_keys=True).encode()


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
        "sessions_charged": len(run.charged.charged),
        "invoiced_totals": _totals([*result.issued, *result.drafts]),
        "receipt_totals": _totals(receipts),
        "unpriced": {str(k): v for k, v in sorted(run.charged.unpriced.items())},
        "shares_issued": [] if run.shares is None else [i.number or "" for i in run.shares.issued],
        "shares_held": [] if run.shares is None else [list(h) for h in run.shares.held],
    }


async def job_status(uow: UnitOfWork, job_id: str) -> RunJob | None:
    """The job's status, or None for a job unknown (or forgotten after its 7+ days)."""
    record = await uow.payments.idempotency_record(JOBS, job_id)
    if record is None:
        return None
    if record.body is None:  # claimed and answered in one transaction: never seen
        return None
    body = json.loads(record.body)
    inputs = body.pop("job")
    common = {
        "id": job_id,
        "period": inputs["period"],
        "draft": bool(inputs["draft"]),
        "started_by": inputs["by"],
    }
    if record.status_code in (None, RUNNING):
        return RunJob(step=str(body.get("step", QUEUED)), **common)
    if record.status_code == DONE:
        return RunJob(step=None, outcome=body, **common)
    error = body.get("error", {})
    return RunJob(step=None, error=error, details=error.get("details", {}), **common)
