"""The status of a long job started from the back office, kept where every process can read it
(issue 16: "long jobs started from the UI show progress and their outcome"), with a lease.

One store for every kind of job (invoice runs, accounting exports): the exactly-once records
the REST ``Idempotency-Key`` uses (no table of its own), scope the job's kind, key the job's
id. The answer is ``202`` with the step while the job goes on, ``200`` with the outcome, or
an error's status with ``{"error": …}``; each carries the job's inputs under ``"job"`` and,
while it runs, the time of its last heartbeat under ``"beat"``. Like every such record it is
forgotten after 7+ days (``idempotency_keys.IDEMPOTENCY_KEPT``).

The lease: a running job writes its record again at least every ``HEARTBEAT`` (each step
does, and a beat in between); a record whose last beat is older than ``LEASE`` belongs to a
process that died (or was restarted) mid-job, and is *interrupted*: the office shows it so and
may start it again, instead of "running" until the record is forgotten.

Handed the unit-of-work factory: each write is its own short transaction (DESIGN §3).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chargeledger.services.idempotency_keys import store_answer
from chargeledger.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from chargeledger.services.transactions import in_transaction

log = logging.getLogger(__name__)
RUNNING, DONE = 202, 200
JSON = "application/json"
HEARTBEAT = timedelta(seconds=15)
LEASE = timedelta(seconds=90)  # six missed beats: the process is gone


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job's stored status: its inputs, HTTP-like status, body and last beat."""

    inputs: dict[str, Any]
    status: int
    body: dict[str, Any]
    beat: datetime

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    def interrupted(self, now: datetime) -> bool:
        """Still "running" but its lease ran out: no process works on it any more."""
        return self.running and now - self.beat > LEASE


def encode(inputs: dict[str, Any], content: dict[str, Any], beat: datetime) -> bytes:
    body = {"job": inputs, **content, "beat": beat.isoformat()}
    return json.dumps(body, sort_keys=True).encode()


async def read_job(uow: UnitOfWork, scope: str, job_id: str) -> JobRecord | None:
    """The job's record; None for a job unknown, forgotten, or claimed but never written."""
    record = await uow.payments.idempotency_record(scope, job_id)
    if record is None or record.body is None:
        return None
    body = json.loads(record.body)
    inputs = body.pop("job")
    beat_text = body.pop("beat", None)
    beat = record.created_at if beat_text is None else datetime.fromisoformat(beat_text)
    return JobRecord(inputs, record.status_code or RUNNING, body, beat)


class JobLog:
    """Writes one job's status as it goes on, and beats ``every`` so often while it runs
    (``heartbeat``)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        scope: str,
        job_id: str,
        inputs: dict[str, Any],
        every: timedelta = HEARTBEAT,
    ) -> None:
        self.uow_factory, self.clock, self.every = uow_factory, clock, every
        self.scope, self.job_id, self.inputs = scope, job_id, inputs
        self._last: tuple[int, dict[str, Any]] = (RUNNING, {})
        self._writing = asyncio.Lock()

    async def note(self, status: int, content: dict[str, Any]) -> None:
        """Keep ``content`` as the job's state (with a fresh beat)."""
        async with self._writing:
            self._last = (status, content)
            await self._write()

    async def _write(self) -> None:
        status, content = self._last
        body = encode(self.inputs, content, self.clock.now())
        await in_transaction(
            self.uow_factory, store_answer, self.scope, self.job_id, status, body, JSON
        )

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.every.total_seconds())
            async with self._writing:
                if self._last[0] == RUNNING:
                    try:
                        await self._write()
                    except Exception:  # a missed beat; the next one may pass
                        log.warning("job %s: heartbeat not written", self.job_id, exc_info=True)

    @contextlib.asynccontextmanager
    async def heartbeat(self) -> AsyncIterator[None]:
        """Beat every ``HEARTBEAT`` while the body runs; stopped before the final note."""
        beating = asyncio.ensure_future(self._beat())
        try:
            yield
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
