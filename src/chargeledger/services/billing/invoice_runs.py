"""An invoice run as the operator starts it (``chargeledger invoice run``, ``POST
/api/v1/invoice-runs``): charge every completed session, then invoice the month.

Runs take turns on every node and process (issue 11 item 12): two runs started together (a
double click, the same cron job on two nodes, a CLI run next to the server's) used to race
to the same unique keys and the loser failed with ``duplicate``. Now the second waits for the
first under the ``invoice-runs`` lock, then finds everything billed and reports it as already
invoiced. The lock is one for all months, not one per month: every run also charges all
completed sessions and gives receipts to ad hoc charges, and a month's run bills charges a run
of an earlier month missed, so runs of different months touch the same charges.

After the invoices, the month's site-host revenue shares are settled by self-billed invoices
(issue 14, ``revenue_share.settle_month_shares``), under the same lock and once per contract
and month.

A caller may follow a run's steps (``progress``): the office's run page shows them while the
run goes on (issue 16).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chargeledger.domain.accounts import BillingCycle
from chargeledger.domain.billing import VatRates
from chargeledger.domain.billing_periods import billing_period
from chargeledger.domain.invoicing import Layout, Party
from chargeledger.services.billing.charges import ChargingResult, charge_completed_sessions
from chargeledger.services.billing.invoicing import RunResult, run_invoices
from chargeledger.services.billing.revenue_share import ShareRun, settle_month_shares
from chargeledger.services.locking import exclusive
from chargeledger.services.ports import Clock, Locks, UnitOfWorkFactory

INVOICE_RUNS = "invoice-runs"
INVOICE_RUN_BUSY = "invoice_run_busy"
# The steps a run reports to ``progress``, in order.
WAITING, CHARGING, INVOICING, SETTLING = "waiting", "charging", "invoicing", "settling"
Progress = Callable[[str], Awaitable[None]]


async def _no_progress(step: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class MonthRun:
    charged: ChargingResult  # sessions charged by this run (and their receipts)
    invoiced: RunResult
    shares: ShareRun | None = None  # site hosts' self-billed shares (None: drafts only)


@dataclass(frozen=True, slots=True)
class Invoicer:
    """What a run needs from the composition root."""

    uow: UnitOfWorkFactory
    locks: Locks
    clock: Clock
    rates: VatRates
    seller: Party
    time_zone: str
    wait_seconds: float = 600.0  # how long a run waits for one under way (then 409 / exit 1)


async def run_month(
    invoicer: Invoicer,
    label: str,
    layout: Layout = Layout.PER_SESSION,
    issue: bool = True,
    progress: Progress = _no_progress,
    lines_kept: bool = True,
) -> MonthRun:
    """Charge and invoice the month ``label`` (``2026-10``), one run at a time; a run that
    waited for another finds its work done and creates nothing twice. ``progress`` hears of
    each step as it begins (``WAITING`` … ``SETTLING``). Callers that report numbers, totals
    and counts only pass ``lines_kept=False`` (``RunResult.lines_kept``,
    ``ChargingResult.charges_kept``: memory flat as the month grows, issue 17)."""
    billing_period(BillingCycle.MONTHLY, label)  # a bad period waits for nothing
    await progress(WAITING)
    async with exclusive(
        invoicer.locks, INVOICE_RUNS, invoicer.wait_seconds, code=INVOICE_RUN_BUSY, what="invoicing"
    ):
        await progress(CHARGING)
        charged = await charge_completed_sessions(
            invoicer.uow,
            invoicer.clock,
            invoicer.rates,
            invoicer.time_zone,
            invoicer.seller,
            charges_kept=lines_kept,
        )
        await progress(INVOICING)
        invoiced = await run_invoices(
            invoicer.uow,
            invoicer.clock,
            invoicer.seller,
            invoicer.time_zone,
            label,
            layout,
            issue,
            invoicer.rates,
            lines_kept,
        )
        shares = None
        if issue:  # a draft run previews invoices; a self-billed share is only ever issued
            await progress(SETTLING)
            shares = await settle_month_shares(
                invoicer.uow,
                invoicer.clock,
                invoicer.seller,
                invoicer.time_zone,
                invoicer.rates,
                invoiced.period,
            )
    return MonthRun(charged, invoiced, shares)
