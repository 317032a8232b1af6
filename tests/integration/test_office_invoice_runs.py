"""The month's invoice run started from the office (issue 16) on SQLite and PostgreSQL, over
January 2026 of ``billing_api.charged_month`` (nothing invoiced yet; the clock on 2 February
2026 in Berlin): the form, its confirmation and CSRF, the job page while the run waits (for a
run holding the ``invoice-runs`` lock, as a CLI run would), a second start of the month
refused meanwhile, then the outcome once the background job has ended (awaited, no sleeps).
"""

from __future__ import annotations

import dataclasses
import re

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.billing.invoice_runs import INVOICE_RUNS
from chargeledger.services.ports import Clock
from tests.integration.billing_api import Month, charged_month, configure_operator
from tests.integration.ocpp_support import bounded
from tests.integration.office_world import office_login
from tests.integration.test_office_http import csrf_of

RUNS = "/office/invoice-runs"
JOB = re.compile(r"^/office/invoice-runs/([0-9a-f-]{36})$")


@pytest.fixture
async def month(runtime: Runtime) -> tuple[Month, Clock]:
    system_clock = runtime.clock
    configure_operator(runtime)
    found = await charged_month(runtime)
    return found, system_clock


async def login(runtime: Runtime, client: httpx.AsyncClient, system: Clock, role: Role) -> None:
    """Logged in under the system clock (PyJWT checks it), then back on the world's clock."""
    saved, runtime.clock = runtime.clock, system
    try:
        await office_login(runtime, client, role)
    finally:
        runtime.clock = saved


async def test_a_run_started_from_the_office_shows_progress_then_its_outcome(
    runtime: Runtime, client: httpx.AsyncClient, month: tuple[Month, Clock]
) -> None:
    world, system = month
    await login(runtime, client, system, Role.FINANCE)
    runtime.clock = world.world.clock
    form_page = await client.get(RUNS)
    assert form_page.status_code == 200
    assert 'name="period" required pattern="[0-9]{4}-[0-9]{2}" value="2026-01"' in form_page.text
    form = {"csrf": csrf_of(form_page), "period": "2026-01", "layout": "per_session"}
    unconfirmed = await client.post(RUNS, data=form)
    assert unconfirmed.status_code == 422
    assert '<code class="error-code">confirmation_required</code>' in unconfirmed.text
    no_month = await client.post(RUNS, data={**form, "period": "2026-13", "confirm": "yes"})
    assert no_month.status_code == 422
    assert 'id="run-error"' in no_month.text
    async with runtime.locks.hold(INVOICE_RUNS, 5):  # another run under way
        started = await client.post(RUNS, data={**form, "confirm": "yes"})
        assert started.status_code == 303, started.text
        found = JOB.match(started.headers["location"])
        assert found is not None
        job = found.group(1)
        running = await client.get(started.headers["location"])
        assert running.status_code == 200
        assert '<meta http-equiv="refresh" content="2">' in running.text
        assert 'id="run-progress"' in running.text
        second = await client.post(RUNS, data={**form, "confirm": "yes"})
        assert second.status_code == 409
        assert '<code class="error-code">invoice_run_in_progress</code>' in second.text
        assert f'href="/office/invoice-runs/{job}" id="running-run"' in second.text
    await bounded(runtime.quiesce())
    done = await client.get(started.headers["location"])
    assert done.status_code == 200
    assert "http-equiv" not in done.text
    assert 'id="run-done"' in done.text
    assert 'id="issued-count">3<' in done.text  # Anna, Lusa, Bea
    assert 'id="receipt-count">1<' in done.text  # the ad hoc charge
    assert 'id="already-invoiced">0<' in done.text
    assert "INV-2026-000001" in done.text
    async with runtime.uow() as uow:
        stored = await uow.billing.list_invoices(InvoiceFilter(), limit=100, offset=0)
    assert len(stored.items) == 4
    # The month is free again: a new run finds everything invoiced and issues nothing.
    again = await client.post(RUNS, data={**form, "confirm": "yes"})
    assert again.status_code == 303
    await bounded(runtime.quiesce())
    rerun = await client.get(again.headers["location"])
    assert 'id="issued-count">0<' in rerun.text
    assert 'id="already-invoiced">3<' in rerun.text


async def test_only_finance_runs_and_every_post_needs_the_csrf_token(
    runtime: Runtime, client: httpx.AsyncClient, month: tuple[Month, Clock]
) -> None:
    world, system = month
    await login(runtime, client, system, Role.OPERATOR)
    runtime.clock = world.world.clock
    for response in (await client.get(RUNS), await client.get(f"{RUNS}/x")):
        assert (response.status_code, response.headers["x-error-code"]) == (
            403,
            "permission_denied",
        )
    overview = await client.get("/office")
    assert 'href="/office/invoice-runs"' not in overview.text  # no nav link for operators
    assert 'href="/office/invoices?payment=overdue"' in overview.text
    await login(runtime, client, system, Role.FINANCE)
    forged = await client.post(RUNS, data={"period": "2026-01", "confirm": "yes", "csrf": "0"})
    assert (forged.status_code, forged.headers["x-error-code"]) == (403, "csrf_failed")
    unknown = await client.get(f"{RUNS}/00000000-0000-4000-8000-000000000000")
    assert (unknown.status_code, unknown.headers["x-error-code"]) == (
        404,
        "invoice_run_not_found",
    )
    async with runtime.uow() as uow:
        stored = await uow.billing.list_invoices(InvoiceFilter(), limit=100, offset=0)
    assert stored.items == []  # nothing was run


async def test_a_run_that_fails_shows_its_error_and_frees_the_month(
    runtime: Runtime, client: httpx.AsyncClient, month: tuple[Month, Clock]
) -> None:
    """A run that may not wait for the one under way fails with ``invoice_run_busy`` (as the
    REST route would answer 409); without the operator's details nothing starts."""
    world, system = month
    await login(runtime, client, system, Role.FINANCE)
    runtime.clock = world.world.clock
    form_page = await client.get(RUNS)
    form = {"csrf": csrf_of(form_page), "period": "2026-01", "confirm": "yes"}
    runtime.settings = dataclasses.replace(runtime.settings, invoice_run_wait_seconds=0)
    async with runtime.locks.hold(INVOICE_RUNS, 5):
        started = await client.post(RUNS, data=form)
        assert started.status_code == 303
        await bounded(runtime.quiesce())
    failed = await client.get(started.headers["location"])
    assert 'id="run-failed"' in failed.text
    assert '<code class="error-code">invoice_run_busy</code>' in failed.text
    assert "http-equiv" not in failed.text
    configure_operator(runtime, {})
    unconfigured = await client.post(RUNS, data=form)  # the month was freed: not in progress
    assert unconfigured.status_code == 500
    assert '<code class="error-code">operator_not_configured</code>' in unconfigured.text
