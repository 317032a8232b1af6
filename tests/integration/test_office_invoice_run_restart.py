"""A dead invoice run started again from the office (issue 16) on SQLite and PostgreSQL, over
January 2026 of ``billing_api.charged_month``: a job whose process died mid-run (its record
written as that process left it: month claimed, step ``invoicing``, no more beats) shows as
running while its lease holds, then as interrupted once the runtime's clock passes the lease
(no waits); finance starts it again once per form; the new run bills only what the dead one
had not.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.domain.invoicing import Layout
from chargeledger.services import invoice_run_jobs
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.billing.invoice_runs import run_month
from chargeledger.services.idempotency_keys import claim_key, store_answer
from chargeledger.services.job_records import (
    DONE,
    JSON,
    LEASE,
    RUNNING,
    JobLog,
    encode,
    read_job,
)
from chargeledger.services.payments.ports import IdempotencyRecord
from chargeledger.services.ports import Clock
from chargeledger.services.transactions import in_transaction, reading
from tests.integration.billing_api import Month, charged_month, configure_operator
from tests.integration.billing_world import FixedClock, utc
from tests.integration.ocpp_support import bounded
from tests.integration.test_office_http import csrf_of
from tests.integration.test_office_invoice_runs import login

RUNS = "/office/invoice-runs"
JOB = re.compile(r"^/office/invoice-runs/([0-9a-f-]{36})$")
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


@pytest.fixture
async def month(runtime: Runtime) -> tuple[Month, Clock]:
    system_clock = runtime.clock
    configure_operator(runtime)
    found = await charged_month(runtime)
    return found, system_clock


async def dead_job(runtime: Runtime, clock: FixedClock) -> str:
    """What a process that died while invoicing leaves: the month claimed, the job at step
    ``invoicing`` with its last beat now, and the month's invoices it had committed."""
    job = await invoice_run_jobs.start(
        runtime.uow, clock, "2026-01", Layout.PER_SESSION, False, "finance@example.org"
    )
    inputs = {"period": "2026-01", "layout": "per_session", "draft": False, "by": "x"}
    body = encode(inputs, {"step": "invoicing"}, clock.now())
    await in_transaction(runtime.uow, store_answer, invoice_run_jobs.JOBS, job, RUNNING, body, JSON)
    await run_month(runtime.invoicer(), "2026-01")  # its work, committed before it died
    return job


async def invoices(runtime: Runtime) -> int:
    async with runtime.uow() as uow:
        stored = await uow.billing.list_invoices(InvoiceFilter(), limit=100, offset=0)
    return len(stored.items)


async def test_an_interrupted_run_is_started_again_once_and_bills_nothing_twice(
    runtime: Runtime, client: httpx.AsyncClient, month: tuple[Month, Clock]
) -> None:
    world, system = month
    clock = world.world.clock
    runtime.clock = clock
    job = await dead_job(runtime, clock)
    assert await invoices(runtime) == 4  # 3 invoices and 1 receipt
    await login(runtime, client, system, Role.FINANCE)
    runtime.clock = clock
    page = f"{RUNS}/{job}"
    within_lease = await client.get(page)
    assert 'id="run-progress"' in within_lease.text
    assert "http-equiv" in within_lease.text
    assert 'id="restart-form"' not in within_lease.text
    form_page = await client.get(RUNS)
    busy = await client.post(
        RUNS, data={"csrf": csrf_of(form_page), "period": "2026-01", "confirm": "yes"}
    )
    assert busy.status_code == 409  # the dead job still holds the month
    assert f'href="{page}" id="running-run"' in busy.text

    clock.current += LEASE * 2  # no beat since: the process is gone
    interrupted = await client.get(page)
    assert interrupted.status_code == 200
    assert 'id="run-interrupted"' in interrupted.text
    assert "http-equiv" not in interrupted.text
    assert '<label class="confirm" for="restart-confirm">' in interrupted.text
    key = KEY.search(interrupted.text)
    assert key is not None
    form = {"csrf": csrf_of(interrupted), "idempotency_key": key.group(1)}
    unconfirmed = await client.post(f"{page}/restart", data=form)
    assert unconfirmed.status_code == 422
    assert '<code class="error-code">confirmation_required</code>' in unconfirmed.text
    restarted = await client.post(f"{page}/restart", data={**form, "confirm": "yes"})
    assert restarted.status_code == 303, restarted.text
    again = await client.post(f"{page}/restart", data={**form, "confirm": "yes"})
    assert again.headers["location"] == restarted.headers["location"]  # once per form
    found = JOB.match(restarted.headers["location"])
    assert found is not None
    assert found.group(1) != job
    other_form = {**form, "idempotency_key": "another-form", "confirm": "yes"}
    refused = await client.post(f"{page}/restart", data=other_form)
    assert refused.status_code == 409
    assert '<code class="error-code">invoice_run_not_interrupted</code>' in refused.text
    await bounded(runtime.quiesce())

    old = await client.get(page)
    assert 'id="run-restarted"' in old.text
    assert f'href="{restarted.headers["location"]}" id="restarted-as"' in old.text
    done = await client.get(restarted.headers["location"])
    assert 'id="run-done"' in done.text
    assert 'id="issued-count">0<' in done.text
    assert 'id="already-invoiced">3<' in done.text  # what the dead run billed
    assert await invoices(runtime) == 4
    fresh = await client.get(RUNS)  # the month is free again
    free = await client.post(
        RUNS, data={"csrf": csrf_of(fresh), "period": "2026-01", "confirm": "yes"}
    )
    assert free.status_code == 303
    await bounded(runtime.quiesce())


async def test_only_finance_starts_a_run_again(
    runtime: Runtime, client: httpx.AsyncClient, month: tuple[Month, Clock]
) -> None:
    world, system = month
    clock = world.world.clock
    runtime.clock = clock
    job = await dead_job(runtime, clock)
    clock.current += LEASE * 2
    await login(runtime, client, system, Role.OPERATOR)
    runtime.clock = clock
    token = csrf_of(await client.get("/office"))
    denied = await client.post(f"{RUNS}/{job}/restart", data={"confirm": "yes", "csrf": token})
    assert (denied.status_code, denied.headers["x-error-code"]) == (403, "permission_denied")
    await login(runtime, client, system, Role.FINANCE)
    runtime.clock = clock
    forged = await client.post(f"{RUNS}/{job}/restart", data={"confirm": "yes", "csrf": "0"})
    assert (forged.status_code, forged.headers["x-error-code"]) == (403, "csrf_failed")
    page = await client.get(f"{RUNS}/{job}")
    unknown = await client.post(
        f"{RUNS}/00000000-0000-4000-8000-000000000000/restart",
        data={"csrf": csrf_of(page), "idempotency_key": "k1", "confirm": "yes"},
    )
    assert unknown.status_code == 404
    assert unknown.headers["x-error-code"] == "invoice_run_not_found"
    job_status = await client.get(f"{RUNS}/{job}")
    assert 'id="run-interrupted"' in job_status.text  # nothing was started


async def test_a_running_job_beats_until_it_ends(runtime: Runtime) -> None:
    """The heartbeat keeps a long step's lease (here beating at every turn of the event loop,
    so the test needs no wait); an ended job is never interrupted."""
    clock = FixedClock(utc("2026-02-02T08:00"))
    record = IdempotencyRecord("test-job", "j1", "-", clock.now())
    await in_transaction(runtime.uow, claim_key, record)
    log = JobLog(runtime.uow, clock, "test-job", "j1", {"n": 1}, every=timedelta(0))
    await log.note(RUNNING, {"step": "long"})
    async with log.heartbeat():
        clock.current += LEASE * 2
        for _ in range(1000):
            await asyncio.sleep(0)
            found = await reading(runtime.uow, read_job, "test-job", "j1")
            assert found is not None
            if found.beat == clock.current:
                break
        assert found.beat == clock.current
        assert not found.interrupted(clock.now())
        assert found.body == {"step": "long"}
    await log.note(DONE, {"made": 1})
    clock.current += LEASE * 2
    ended = await reading(runtime.uow, read_job, "test-job", "j1")
    assert ended is not None
    assert (ended.status, ended.body, ended.inputs) == (DONE, {"made": 1}, {"n": 1})
    assert not ended.interrupted(clock.now())
