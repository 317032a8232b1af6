"""Re-pricings and invoice runs at once (issue 15; CONTRIBUTING "Money, time and records"):
a re-pricing reads what its session stands at and writes on it, so it takes the session's
hold first, and the hold of the payer's unbilled charges, which the invoice run takes too.

Each test holds the first transaction open before its commit while the second starts: on
PostgreSQL the second is seen waiting for the first's hold (SQLite's writers take turns
anyway). Without the holds the second would decide on what the first is changing: two
re-pricings from the same price (the second then fails on the record's sequence: checked by
taking out the session's and the account's hold), or an invoice of the charge at its old price
while its correction waits for another invoice (checked by taking out the run's hold).
Amounts: ``repricing_world``.
"""

from __future__ import annotations

import asyncio
from typing import cast

from chargeledger.bootstrap import Runtime
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.repricing import Repricing
from chargeledger.services.billing.repricing import RepriceRequest
from chargeledger.services.payments.repricing import decide_repricing
from chargeledger.services.ports import UnitOfWork
from tests.integration.ocpp_support import bounded
from tests.integration.repricing_world import FINANCE, D, RepricingWorld, repricing_world
from tests.integration.test_user_admin import (
    CommitWhenReleased,
    backend_pid,
    wait_until_blocked_by,
)


async def apply(uow: UnitOfWork, world: RepricingWorld, request: RepriceRequest) -> Repricing:
    """As an entry point does: the use case in the unit of work it opened, committed."""
    session_id = world.last_session
    done = await decide_repricing(uow, world.runtime.payments, FINANCE, session_id, request)
    await uow.commit()
    return done


async def test_two_repricings_of_one_session_at_once_apply_one_after_the_other(
    runtime: Runtime,
) -> None:
    """The meter's 60 kWh and the cheaper tariff version, asked at once: the second starts
    from the first's price (60 kWh at 0.39/kWh: 23.75 net, 28.26 gross), not from the
    charge, and the unbilled receivable holds that price."""
    world = await repricing_world(runtime)
    await world.charged_session()
    readings = RepriceRequest("display showed 60 kWh", meter_stop_wh=D(60_000))
    version = RepriceRequest("wrong tariff version", tariff_id=world.cheaper)

    async with runtime.uow() as first_uow, runtime.uow() as second_uow:
        first = CommitWhenReleased(first_uow)
        applied_first = asyncio.ensure_future(apply(cast(UnitOfWork, first), world, readings))
        await bounded(first.reached.wait())
        applied_second = asyncio.ensure_future(apply(second_uow, world, version))
        if runtime.database_backend == "postgresql":
            await wait_until_blocked_by(await backend_pid(first_uow), applied_second)
        first.release.set()
        one, two = await bounded(applied_first), await bounded(applied_second)

    assert (one.sequence, two.sequence) == (1, 2)
    assert two.before == one.after
    assert (one.after.gross, two.after.net, two.after.gross) == (
        D("35.40"),
        D("23.75"),
        D("28.26"),
    )
    assert (two.after.meter_stop_wh, two.after.tariff_id) == (D(60_000), world.cheaper)
    assert await world.unbilled() == D("28.26")


async def test_an_invoice_run_during_a_repricing_bills_the_charge_with_its_correction(
    runtime: Runtime,
) -> None:
    """The month's run starts while a re-pricing of a session not invoiced yet is open: it
    waits for it, and its invoice bills the charge and the correction together (35.40), not
    the charge at its old price with the correction left for a later invoice."""
    world = await repricing_world(runtime)
    await world.charged_session()
    readings = RepriceRequest("display showed 60 kWh", meter_stop_wh=D(60_000))

    async with runtime.uow() as first_uow:
        first = CommitWhenReleased(first_uow)
        repriced = asyncio.ensure_future(apply(cast(UnitOfWork, first), world, readings))
        await bounded(first.reached.wait())
        run: asyncio.Future[list[Invoice]] = asyncio.ensure_future(world.run_invoices())
        if runtime.database_backend == "postgresql":
            await wait_until_blocked_by(await backend_pid(first_uow), run)
        first.release.set()
        await bounded(repriced)
        [invoice] = await bounded(run)

    assert [line.net for line in invoice.lines] == [D("39.55"), D("-9.80")]
    assert invoice.gross_total == D("35.40")
    assert await world.unbilled() == 0
