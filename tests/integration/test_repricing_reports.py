"""The reports still reconcile to the ledger when sessions were re-priced (issue 15; issue 13:
every figure is read from the books): the unbilled report counts the corrections waiting for
their invoice at what they accrued (its total is the balance of the unbilled receivables), and
revenue adds the corrections booked in the period to what sessions accrued (its net is what
``Income:Charging`` moved). Amounts: ``repricing_world``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from chargeledger.bootstrap import Runtime
from chargeledger.domain.reports import Grain, dimensions, report_period
from chargeledger.services.billing import reports
from chargeledger.services.transactions import reading
from tests.integration.repricing_world import TZ, D, reprice, repricing_world


async def income_moved(runtime: Runtime, start: date, end: date) -> Decimal:
    """Net revenue booked in [start, end) (credit positive)."""
    async with runtime.uow() as uow:
        entries = await uow.ledger.entries(start, end)
    return -sum(
        (
            p.units.amount
            for e in entries
            for p in e.postings
            if p.account.startswith("Income:Charging:")
        ),
        D(0),
    )


async def test_unbilled_and_revenue_count_the_corrections(runtime: Runtime) -> None:
    """Two sessions of 80 kWh: one re-priced to 60 kWh before its invoice (11.66 less,
    waiting), the other invoiced and re-priced at 0.59/kWh (9.52 more, waiting for the next
    invoice)."""
    world = await repricing_world(runtime)
    lowered = await world.charged_session()
    await reprice(runtime, lowered.id, "display showed 60 kWh", stop=60_000)
    raised = await world.charged_session()
    await world.run_invoices()  # bills both charges and the first correction
    third = await world.charged_session()
    await reprice(runtime, third.id, "display showed 60 kWh", stop=60_000)
    await reprice(runtime, raised.id, "tariff raised", tariff_id=world.dearer)

    report = await reading(runtime.uow, reports.unbilled, runtime.settings.vat_rates)
    [total] = report.totals
    # the third session (47.06 less 11.66) and the raised one's 9.52
    assert (total.value, total.sessions, total.energy_kwh) == (D("44.92"), 1, D(60))
    assert total.value == await world.unbilled()

    year = report_period("2026")
    revenue = await reading(
        runtime.uow, reports.revenue, year, TZ, dimensions("site"), Grain.PERIOD
    )
    [line] = revenue.totals
    assert line.net == await income_moved(runtime, year.start, year.end)
    # 3 × 39.55 charged, −9.80 twice and +8.00 corrected; 3 × 80 kWh less 2 × 20
    assert (line.net, line.sessions, line.energy_kwh) == (D("107.05"), 3, D(200))
