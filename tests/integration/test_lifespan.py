"""The app's lifespan stops its periodic jobs (and the cluster bus's tasks) completely before
it closes the database: a job cancelled inside a database call must unwind through that call
first, or ``serve`` can hang on its way out (seen when the port was taken, issue 11 item 20)."""

from __future__ import annotations

import asyncio

from chargeledger.api.app import create_app
from chargeledger.bootstrap import Runtime


async def test_the_jobs_have_stopped_when_the_lifespan_ends(runtime: Runtime) -> None:
    app = create_app(runtime, migrate=False, jobs=True)
    before = asyncio.all_tasks()
    async with app.router.lifespan_context(app):
        jobs = asyncio.all_tasks() - before
        # the stale-session sweep, the payment janitor, forgetting old stored OCPP answers,
        # asking the PSP for missed payouts, delivering the outbox, dunning, contract reminders,
        # dispute reminders, keeping the audit chain (sealing, closing days), writing down the
        # reservations that ran out, and keeping roaming partners current (sessions' readings,
        # token pulls); on PostgreSQL also the cluster's command bus: writing the stations'
        # presence and saying the node is alive (issue 18)
        assert len(jobs) == (13 if runtime.database_backend == "postgresql" else 11)
    assert all(job.done() for job in jobs)
