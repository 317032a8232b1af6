"""Sealing (issue 15): two sealers at once under the chain's hold, records that existed before
the chain (migration 0020 queues them), ``serve``'s periodic job, and documents that carry
their record hash."""

from __future__ import annotations

import asyncio
import io
from typing import cast

import httpx
from alembic import command
from alembic.script import ScriptDirectory
from pypdf import PdfReader
from sqlalchemy import Connection, func, select

from chargeledger.adapters.db.audit_tables import audit_chain, audit_checkpoints
from chargeledger.adapters.db.migrate import alembic_config
from chargeledger.bootstrap import Runtime
from chargeledger.domain.audit import RecordType
from chargeledger.domain.identity import Role
from chargeledger.services.audit.auditor import seal_all, verify
from chargeledger.services.audit.sealing import seal_pending
from chargeledger.services.ports import UnitOfWork
from tests.conftest import LoginAs
from tests.integration.audit_world import audit_world, chain_rows
from tests.integration.ocpp_support import bounded
from tests.integration.test_user_admin import (
    CommitWhenReleased,
    backend_pid,
    wait_until_blocked_by,
)


async def positions(runtime: Runtime) -> list[int]:
    async with runtime._factory.engine.connect() as connection:
        found = await connection.execute(select(audit_chain.c.seq).order_by(audit_chain.c.seq))
        return list(found.scalars())


async def test_two_sealers_at_once_take_turns_on_the_chain_head(runtime: Runtime) -> None:
    """The first sealer is held open before its commit; the second starts meanwhile (on
    PostgreSQL it is seen waiting for the first's hold; SQLite's writers take turns anyway).
    It then appends after the first's entries: one unbroken chain. Without the hold both
    would read the same head and the second would fail on a taken position."""
    await audit_world(runtime)
    async with runtime.uow() as uow:
        queued = len(await uow.audit.queued(10_000))

    async def seal(uow: UnitOfWork, limit: int) -> int:
        sealed = await seal_pending(uow, runtime.clock, limit)
        await uow.commit()
        return sealed

    async with runtime.uow() as first_uow, runtime.uow() as second_uow:
        first = CommitWhenReleased(first_uow)
        sealing_first = asyncio.ensure_future(seal(cast(UnitOfWork, first), 5))
        await bounded(first.reached.wait())
        sealing_second = asyncio.ensure_future(seal(second_uow, 10_000))
        if runtime.database_backend == "postgresql":
            await wait_until_blocked_by(await backend_pid(first_uow), sealing_second)
        first.release.set()
        assert await bounded(sealing_first) == 5
        assert await bounded(sealing_second) == queued - 5
    assert await positions(runtime) == list(range(1, queued + 1))
    report = await verify(runtime.auditor)
    assert report.ok, report.problems


def _migration_of_the_chain() -> tuple[str, str]:
    """(its revision, the one before): found by its description, whatever its number."""
    script = ScriptDirectory.from_config(alembic_config())
    for revision in script.walk_revisions():
        if (revision.doc or "").startswith("the tamper-evident chain"):
            return revision.revision, str(revision.down_revision)
    raise AssertionError("no migration creates the audit chain")


async def test_records_made_before_the_chain_existed_are_chained_by_the_upgrade(
    runtime: Runtime,
) -> None:
    await audit_world(runtime)
    async with runtime.uow() as uow:
        written = len(await uow.audit.queued(10_000))
    _, before = _migration_of_the_chain()

    def down(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), before)

    async with runtime._factory.engine.begin() as connection:
        await connection.run_sync(down)
    await runtime.migrate()
    async with runtime.uow() as uow:
        queued = await uow.audit.queued(10_000)
    assert queued
    assert all(q.content_hash is None for q in queued)  # nothing vouched for them before
    assert {q.record_type for q in queued} == {t.value for t in RecordType}
    assert len(queued) == written
    assert await seal_all(runtime.auditor) == len(queued)
    report = await verify(runtime.auditor)
    assert report.ok, report.problems
    assert report.entries == report.records == len(queued)


async def test_serve_seals_and_closes_yesterday(runtime: Runtime) -> None:
    await audit_world(runtime)
    await runtime.keep_audit_chain()
    async with runtime._factory.engine.connect() as connection:
        days = list((await connection.execute(select(audit_checkpoints.c.day))).scalars())
        chained = (
            await connection.execute(select(func.count()).select_from(audit_chain))
        ).scalar_one()
    yesterday = runtime.clock.now().date().toordinal() - 1
    assert [day.toordinal() for day in days] == [yesterday]
    assert chained > 0
    await runtime.keep_audit_chain()  # nothing more to do: no second checkpoint, no error
    assert (await verify(runtime.auditor)).checkpoints == 1


async def test_an_issued_invoice_carries_its_record_hash(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    built = await audit_world(runtime)
    await seal_all(runtime.auditor)
    [row] = [
        r
        for r in await chain_rows(runtime, RecordType.INVOICE)
        if r["record_id"] == str(built.invoice.id)
    ]
    finance = await login_as(Role.FINANCE)
    response = await client.get(f"/api/v1/invoices/{built.invoice.id}/pdf", headers=finance)
    assert response.status_code == 200, response.text
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert f"Record hash (SHA-256): {row['content_hash']}" in " ".join(text.split())
