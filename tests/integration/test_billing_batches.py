"""Batch boundaries of charging and of the invoice run (issue 17): a month is charged and
invoiced in set-based batches, one transaction each. A batch that fails is rolled back
whole (its charges, entries, documents, numbers and audit queue rows alike), nothing is
booked twice when the run is started again, and numbers stay gap-free across batches.

Batches are made small here (three sessions, three accounts) so a handful of records spans
several of them; the failure is a real unit of work whose commit raises, as a crash between
the batch's writes and its commit would.
"""

from __future__ import annotations

from datetime import timedelta
from types import TracebackType
from typing import Any

import pytest
from sqlalchemy import func, select

from chargeledger.adapters.db.audit_tables import audit_pending
from chargeledger.bootstrap import Runtime
from chargeledger.domain.invoicing import DocumentKind
from chargeledger.services.billing import charges, invoicing, ledger
from chargeledger.services.billing.charges import charge_completed_sessions
from chargeledger.services.ports import UnitOfWork, UnitOfWorkFactory
from tests.integration.billing_api import uncharged_session
from tests.integration.billing_world import (
    OPERATOR_TZ,
    SELLER,
    World,
    all_documents,
    ledger_counts,
    new_world,
    utc,
)
from tests.integration.test_numbering import fleet_world, numbers

SESSIONS, SESSION_BATCH = 7, 3  # three batches: 3, 3 and 1
ACCOUNTS, ACCOUNT_BATCH = 8, 3


class CrashBeforeCommitError(Exception):
    """The fault the failing batch meets."""


class _FailingUnit:
    """A real unit of work whose commit raises instead of committing: leaving the block
    rolls back everything it wrote."""

    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> _FailingUnit:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(kind, error, trace)

    async def commit(self) -> None:
        raise CrashBeforeCommitError


class FailOnce:
    """The runtime's unit-of-work factory, except that the ``failing``-th unit opened
    fails at its commit."""

    def __init__(self, inner: UnitOfWorkFactory, failing: int) -> None:
        self._inner = inner
        self._failing = failing
        self.opened = 0

    def __call__(self) -> UnitOfWork:
        self.opened += 1
        unit = self._inner()
        return _FailingUnit(unit) if self.opened == self._failing else unit


async def queued_for_chain(runtime: Runtime) -> int:
    async with runtime.uow() as uow:
        connection: Any = uow.billing._connection  # type: ignore[attr-defined]
        return int(
            (await connection.execute(select(func.count()).select_from(audit_pending))).scalar_one()
        )


async def captured_month(runtime: Runtime) -> World:
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    for i in range(SESSIONS):
        await uncharged_session(runtime, world.de, utc("2026-01-20T10:00") + timedelta(hours=i))
    return world


async def charge(runtime: Runtime, world: World, uow: UnitOfWorkFactory) -> int:
    done = await charge_completed_sessions(
        uow, world.clock, runtime.settings.vat_rates, OPERATOR_TZ, SELLER, batch=SESSION_BATCH
    )
    return len(done.charged)


async def test_sessions_are_charged_across_batches_once(runtime: Runtime) -> None:
    world = await captured_month(runtime)

    assert await charge(runtime, world, runtime.uow) == SESSIONS
    booked = await ledger_counts(runtime)
    queued = await queued_for_chain(runtime)
    assert await charge(runtime, world, runtime.uow) == 0  # a rerun books nothing twice

    assert await ledger_counts(runtime) == booked
    assert await queued_for_chain(runtime) == queued
    receipts = [d.number for d in await all_documents(runtime) if d.kind is DocumentKind.RECEIPT]
    assert sorted(n or "" for n in receipts) == numbers("RCT-2026", SESSIONS)
    async with runtime.uow() as uow:
        assert await uow.billing.sessions_to_charge(limit=100) == []
        assert await ledger.check_ledger(uow) == []


async def test_sessions_to_charge_are_read_a_page_at_a_time(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of one batch (3 ids) at a time, each page after the last one's session: all
    seven are charged once, and a rerun finds none."""
    world = await captured_month(runtime)
    monkeypatch.setattr(charges, "PAGES", 1)
    async with runtime.uow() as uow:
        everything = await uow.billing.sessions_to_charge(limit=100)
        assert await uow.billing.sessions_to_charge(limit=3, after=everything[2]) == everything[3:6]

    assert await charge(runtime, world, runtime.uow) == SESSIONS
    assert await charge(runtime, world, runtime.uow) == 0
    async with runtime.uow() as uow:
        assert await uow.billing.sessions_to_charge(limit=100) == []
        assert await ledger.check_ledger(uow) == []


async def test_a_failing_charging_batch_is_rolled_back_whole(runtime: Runtime) -> None:
    world = await captured_month(runtime)
    before = await ledger_counts(runtime)
    queued = await queued_for_chain(runtime)
    failing = FailOnce(runtime.uow, failing=3)  # 1: the pending sessions; 2, 3: batches

    with pytest.raises(CrashBeforeCommitError):
        await charge(runtime, world, failing)

    async with runtime.uow() as uow:  # the first batch is kept, the second left nothing
        assert len(await uow.billing.sessions_to_charge(limit=100)) == SESSIONS - SESSION_BATCH
    entries, _ = await ledger_counts(runtime)
    assert entries - before[0] == 2 * SESSION_BATCH  # each: its accrual and its receipt
    documents = await all_documents(runtime)
    assert sorted(d.number or "" for d in documents) == numbers("RCT-2026", SESSION_BATCH)
    assert await queued_for_chain(runtime) - queued == 2 * SESSION_BATCH + SESSION_BATCH

    assert await charge(runtime, world, runtime.uow) == SESSIONS - SESSION_BATCH
    documents = await all_documents(runtime)
    assert sorted(d.number or "" for d in documents) == numbers("RCT-2026", SESSIONS)
    async with runtime.uow() as uow:
        assert await uow.billing.series() == {"RCT-2026": SESSIONS}
        assert await ledger.check_ledger(uow) == []


async def run(world: World, uow: UnitOfWorkFactory) -> invoicing.RunResult:
    return await invoicing.run_invoices(uow, world.clock, SELLER, OPERATOR_TZ, "2026-01")


async def test_invoice_numbers_are_gap_free_across_batches(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(invoicing, "ACCOUNTS_PER_TRANSACTION", ACCOUNT_BATCH)
    world = await fleet_world(runtime, ACCOUNTS)

    first = await run(world, runtime.uow)
    booked = await ledger_counts(runtime)
    again = await run(world, runtime.uow)

    assert sorted(i.number or "" for i in first.issued) == numbers("INV-2026", ACCOUNTS)
    assert (again.issued, again.already_done) == ([], ACCOUNTS)
    assert await ledger_counts(runtime) == booked
    async with runtime.uow() as uow:
        assert await uow.billing.series() == {"INV-2026": ACCOUNTS}


async def test_a_failing_invoice_batch_returns_its_numbers(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second batch reserved numbers 4-6 and failed: its rollback returns them, so the
    rerun issues 4-8 and the series has no gap."""
    monkeypatch.setattr(invoicing, "ACCOUNTS_PER_TRANSACTION", ACCOUNT_BATCH)
    world = await fleet_world(runtime, ACCOUNTS)
    before = await ledger_counts(runtime)
    failing = FailOnce(runtime.uow, failing=3)  # 1: the accounts; 2, 3: batches

    with pytest.raises(CrashBeforeCommitError):
        await run(world, failing)

    documents = await all_documents(runtime)
    assert sorted(d.number or "" for d in documents) == numbers("INV-2026", ACCOUNT_BATCH)
    assert (await ledger_counts(runtime))[0] - before[0] == ACCOUNT_BATCH

    rerun = await run(world, runtime.uow)

    assert rerun.already_done == ACCOUNT_BATCH
    assert len(rerun.issued) == ACCOUNTS - ACCOUNT_BATCH
    documents = await all_documents(runtime)
    assert sorted(d.number or "" for d in documents) == numbers("INV-2026", ACCOUNTS)
    async with runtime.uow() as uow:
        assert await uow.billing.series() == {"INV-2026": ACCOUNTS}
        assert await ledger.check_ledger(uow) == []


async def test_a_run_reporting_headlines_keeps_the_totals(runtime: Runtime) -> None:
    """A run that reports documents by their headline (the CLI, the API, the office)
    reports the stored documents' numbers and totals to the cent."""
    world = await fleet_world(runtime, ACCOUNTS)

    reported = await invoicing.run_invoices(
        runtime.uow, world.clock, SELLER, OPERATOR_TZ, "2026-01", lines_kept=False
    )

    stored = {d.id: d for d in await all_documents(runtime)}
    assert len(reported.issued) == ACCOUNTS
    for headline in reported.issued:
        document = stored[headline.id]
        assert headline.number == document.number
        assert (headline.net_total, headline.tax_total, headline.gross_total) == (
            document.net_total,
            document.tax_total,
            document.gross_total,
        )
