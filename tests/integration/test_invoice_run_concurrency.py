"""Two invoice runs of one month at once (issue 11 item 12): both finish, one bills, the other
waits for it and finds nothing left; every document once, numbers without gaps.

Before, the second run raced the first to the same unique keys: on PostgreSQL both charged the
same completed sessions and the loser failed with ``duplicate`` (``error [duplicate]``, exit 1
in the CLI; a 4xx from the API). Runs now take turns under the ``invoice-runs`` lock
(``services/billing/invoice_runs.py``), and charging skips a session someone else charged meanwhile.

The month: ``ACCOUNTS`` postpaid accounts with a January charge each, ``AD_HOC`` ad hoc
charges without a receipt, and ``UNCHARGED`` completed ad hoc sessions not charged yet (the
run prices them and gives each a receipt). Invoiced on 2 February 2026.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.domain.invoicing import DocumentKind
from chargeledger.services.billing import ledger
from chargeledger.services.billing.charges import charge_completed_sessions
from chargeledger.services.billing.invoice_runs import Invoicer, MonthRun, run_month
from tests.conftest import LoginAs, fast_hasher
from tests.integration.billing_api import API, JANUARY, open_books, uncharged_session
from tests.integration.billing_world import (
    OPERATOR_TZ,
    SELLER,
    World,
    all_documents,
    utc,
)
from tests.integration.test_numbering import fleet_world, numbers

ACCOUNTS, AD_HOC, UNCHARGED = 8, 2, 3


async def month_to_run(runtime: Runtime) -> World:
    world = await fleet_world(runtime, ACCOUNTS, ad_hoc=AD_HOC)
    for i in range(UNCHARGED):
        await uncharged_session(runtime, world.de, utc("2026-01-20T10:00") + timedelta(hours=i))
    return world


def invoicer(runtime: Runtime, world: World) -> Invoicer:
    return Invoicer(
        uow=runtime.uow,
        locks=runtime.locks,
        clock=world.clock,
        rates=runtime.settings.vat_rates,
        seller=SELLER,
        time_zone=OPERATOR_TZ,
    )


async def check_billed_once(runtime: Runtime, runs: list[MonthRun]) -> None:
    [first] = [r for r in runs if r.invoiced.issued]  # it billed everything
    assert len(first.invoiced.issued) == ACCOUNTS
    assert len(first.charged.charged) == UNCHARGED
    assert len(first.charged.receipts) + len(first.invoiced.receipts) == AD_HOC + UNCHARGED
    for later in (r for r in runs if r is not first):  # it waited, then found all done
        assert (later.invoiced.issued, later.invoiced.receipts) == ([], [])
        assert (later.charged.charged, later.charged.receipts) == ([], [])
        assert later.invoiced.already_done == ACCOUNTS
    documents = await all_documents(runtime)
    invoices = [d.number for d in documents if d.kind is DocumentKind.INVOICE]
    receipts = [d.number for d in documents if d.kind is DocumentKind.RECEIPT]
    assert sorted(n or "" for n in invoices) == numbers("INV-2026", ACCOUNTS)
    assert sorted(n or "" for n in receipts) == numbers("RCT-2026", AD_HOC + UNCHARGED)
    async with runtime.uow() as uow:
        assert await uow.billing.series() == {"INV-2026": ACCOUNTS, "RCT-2026": AD_HOC + UNCHARGED}
        assert await uow.billing.sessions_to_charge(limit=100) == []
        assert await ledger.check_ledger(uow) == []


async def test_two_runs_at_once_one_bills_the_other_finds_it_done(runtime: Runtime) -> None:
    world = await month_to_run(runtime)
    runs = await asyncio.gather(
        run_month(invoicer(runtime, world), "2026-01"),
        run_month(invoicer(runtime, world), "2026-01"),
    )
    await check_billed_once(runtime, list(runs))


async def test_two_nodes_run_the_month_at_once(
    runtime: Runtime, database: tuple[str, str | None]
) -> None:
    """Two runtimes (two engines: two nodes of a cluster, or two processes on one file)."""
    world = await month_to_run(runtime)
    other = build_runtime(runtime.settings, schema=database[1], hasher=fast_hasher())
    try:
        runs = await asyncio.gather(
            run_month(invoicer(runtime, world), "2026-01"),
            run_month(invoicer(other, world), "2026-01"),
        )
    finally:
        await other.aclose()
    await check_billed_once(runtime, list(runs))


async def test_charging_skips_sessions_charged_meanwhile(runtime: Runtime) -> None:
    """Charging outside any run (a stop hook, ``invoice charge``) at the same moment as a run:
    each session is charged once and neither fails."""
    world = await month_to_run(runtime)

    async def charge() -> int:
        done = await charge_completed_sessions(
            runtime.uow, world.clock, runtime.settings.vat_rates, OPERATOR_TZ, SELLER
        )
        return len(done.charged)

    charged = await asyncio.gather(*(charge() for _ in range(3)))
    assert sum(charged) == UNCHARGED
    async with runtime.uow() as uow:
        assert await uow.billing.sessions_to_charge(limit=100) == []
        assert await ledger.check_ledger(uow) == []


async def test_two_runs_over_the_api_at_once(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    books = await open_books(runtime, login_as)
    for i in range(UNCHARGED):
        started = utc("2026-01-21T10:00") + timedelta(hours=i)
        await uncharged_session(runtime, books.month.world.de, started)

    async def run() -> httpx.Response:
        return await client.post(f"{API}/invoice-runs", json=JANUARY, headers=books.finance)

    responses = await asyncio.gather(run(), run())

    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    waited, billed = sorted((r.json() for r in responses), key=lambda b: len(b["issued"]))
    assert sorted(billed["issued"]) == numbers("INV-2026", 3)  # Anna, Lusa and Bea
    assert len(billed["receipts"]) == 1 + UNCHARGED  # the ad hoc charge and the new ones
    assert (waited["issued"], waited["receipts"], waited["already_invoiced"]) == ([], [], 3)
