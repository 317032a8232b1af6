"""Read-only units of work (issue 17): they read what is committed, never take a turn among
the writers (on SQLite a reader runs while a write transaction is open), cannot commit, and a
write through one fails instead of being kept."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import DBAPIError

from chargeledger.bootstrap import Runtime
from chargeledger.domain.station_link import SessionFilter
from tests.integration.test_repositories import new_site


async def test_a_reader_sees_committed_rows_only_and_never_waits_for_a_writer(
    runtime: Runtime,
) -> None:
    kept, pending = new_site("Kept"), new_site("Pending")
    async with runtime.uow() as uow:
        await uow.sites.add(kept)
        await uow.commit()
    async with runtime.uow() as writer:
        await writer.sites.add(pending)  # the write transaction stays open meanwhile

        async def read() -> tuple[object, object]:
            async with runtime.uow(read_only=True) as reader:
                return await reader.sites.get(kept.id), await reader.sites.get(pending.id)

        # A reader queued behind the writer would never finish here: the guard ends the test.
        seen_kept, seen_pending = await asyncio.wait_for(read(), timeout=30)
        assert seen_kept == kept
        assert seen_pending is None
        await writer.commit()
    async with runtime.uow(read_only=True) as reader:
        assert await reader.sites.get(pending.id) == pending


async def test_a_reader_cannot_commit_nor_write(runtime: Runtime) -> None:
    async with runtime.uow(read_only=True) as reader:
        with pytest.raises(RuntimeError, match="read-only"):
            await reader.commit()
        with pytest.raises(DBAPIError):
            await reader.sites.add(new_site("Sneaky"))
    async with runtime.uow(read_only=True) as reader:
        assert await reader.sites.count() == 0


async def test_a_closed_runtime_reads_again_in_its_next_lifespan(runtime: Runtime) -> None:
    """The app closes its runtime when a lifespan ends (``api/app.py``); a runtime that serves
    the next one (tests, an embedding server) reads again, through one-statement reads too
    (``statement_reads.py``), as its engine does after ``dispose``."""
    async with runtime.uow(read_only=True) as reader:
        assert (await reader.sessions.search(SessionFilter(), limit=10)).items == []
    await runtime.aclose()
    async with runtime.uow(read_only=True) as reader:
        assert (await reader.sessions.search(SessionFilter(), limit=10)).items == []
