"""Periodic jobs run on one node at a time (issue 18, ``adapters/db/job_leases.py``): two
runtimes on one database stand for two nodes (each has its own lease connection, hence its
own PostgreSQL session, or its own holder of the SQLite file's lock). A node whose session
ends (the server ends it, as it does for a node killed with SIGKILL) frees its jobs for the
others. No test waits on the clock: each step waits on an event the other side sets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from chargeledger.adapters.db.engine import create_engine
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from tests.conftest import fast_hasher


@pytest.fixture
async def other_node(
    runtime: Runtime, database: tuple[str, str | None], tmp_path: Path
) -> AsyncIterator[Runtime]:
    """A second runtime on ``runtime``'s database, as a second ``serve`` process has."""
    url, schema = database
    settings = Settings.from_env(
        {"CHARGELEDGER_DATA_DIR": str(tmp_path / "other"), "CHARGELEDGER_DATABASE_URL": url}
    )
    other = build_runtime(settings, schema=schema, hasher=fast_hasher())
    try:
        yield other
    finally:
        await other.aclose()


async def test_a_job_leased_by_one_node_is_skipped_by_the_other(
    runtime: Runtime, other_node: Runtime
) -> None:
    async with runtime.jobs.lease("run_dunning") as first:
        assert first
        async with other_node.jobs.lease("run_dunning") as second:
            assert not second
        async with other_node.jobs.lease("deliver_outbox") as another_job:
            assert another_job  # leases are per job
        async with runtime.jobs.lease("run_dunning") as again:
            assert not again  # not twice at once within one node either
    async with other_node.jobs.lease("run_dunning") as after:
        assert after


async def test_each_round_runs_the_job_on_the_node_that_leased_it(
    runtime: Runtime, other_node: Runtime
) -> None:
    """``Runtime._every``, the loop of every periodic job: while one node's run is under
    way, the other node's rounds skip it; once it is done, the other node runs it."""
    running, release = asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    async def sweep_stale_sessions() -> None:  # named as a job: the lease is by name
        runs.append("first")
        running.set()
        await release.wait()

    first = asyncio.create_task(runtime._every(3600, sweep_stale_sessions))
    await running.wait()
    skipped = asyncio.Event()

    ran_there = asyncio.Event()

    async def second_node_job() -> None:
        runs.append("second")
        ran_there.set()

    second_node_job.__name__ = "sweep_stale_sessions"
    original = other_node.jobs.lease

    @contextlib.asynccontextmanager
    async def observed(job: str) -> AsyncIterator[bool]:
        async with original(job) as mine:
            if not mine:
                skipped.set()
            yield mine

    other_node.jobs.lease = observed  # type: ignore[method-assign]
    second = asyncio.create_task(other_node._every(0, second_node_job))
    await skipped.wait()
    assert runs == ["first"]
    release.set()
    await asyncio.wait_for(ran_there.wait(), 120)  # its next round after the first run ended
    assert runs[:2] == ["first", "second"]
    for task in (first, second):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_node_whose_session_ends_frees_its_jobs(
    runtime: Runtime, other_node: Runtime, database: tuple[str, str | None]
) -> None:
    url, _ = database
    key = runtime._locks.key("job:payment_janitor") & (2**64 - 1)  # as pg_locks shows it
    async with runtime.jobs.lease("payment_janitor") as held:
        assert held
        async with other_node.jobs.lease("payment_janitor") as second:
            assert not second
        # The server ends the holder's session, as when its node is killed.
        admin = create_engine(url)
        async with admin.begin() as connection:
            ended = await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND classid = :high AND objid = :low AND objsubid = 1 AND granted"
                ),
                {"high": key >> 32, "low": key & 0xFFFFFFFF},
            )
            assert any(ended.scalars())
        await admin.dispose()

        # The server drops the session's locks as its backend exits, a moment later.
        async def taken_over() -> None:
            while True:
                async with other_node.jobs.lease("payment_janitor") as taken:
                    if taken:
                        return
                await asyncio.sleep(0.01)

        await asyncio.wait_for(taken_over(), 120)
    # The first node's own connection was lost: its next lease opens a new one.
    async with runtime.jobs.lease("payment_janitor") as again:
        assert again
