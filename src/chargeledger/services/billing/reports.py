"""Receivables and revenue reports (issue 13): read the books, hand the figures to the domain.

Each use case only reads, in the caller's unit of work (``reading``), and returns a domain
report; entry points turn it into a table (``domain.report_tables``) and a file
(:class:`~chargeledger.services.billing.report_ports.ReportFiles`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from chargeledger.domain.billing import Billed, VatRates
from chargeledger.domain.cash_collections import CollectionsReport, collections_report
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.identity import Principal
from chargeledger.domain.ledger import customer_credit
from chargeledger.domain.reports import (
    DSO_WINDOW_DAYS,
    AgingReport,
    Dimension,
    Grain,
    ReportPeriod,
    RevenueReport,
    RevenueSlice,
    aging_report,
    days_up_to,
    net_credit_sales,
    report_day,
    revenue_report,
)
from chargeledger.domain.station_link import SessionFilter
from chargeledger.domain.unbilled import Pending, UnbilledReport, pending_values, unbilled_report
from chargeledger.errors import InvalidInputError, NotFoundError
from chargeledger.money import ZERO, Currency
from chargeledger.services.charging.session_pricing import value_as_reported
from chargeledger.services.ports import UnitOfWork

CUSTOMER_CREDIT = "Liabilities:CustomerCredit"
# A revenue report by day covers at most a quarter (each day is two queries).
MAX_DAYS_BY_DAY = 92
# Completed sessions the next charge run prices are few; beyond this many, the rest is counted
# (with its energy) but not valued.
MAX_ESTIMATED = 10_000


def visible_account(principal: Principal, account_id: uuid.UUID | None) -> uuid.UUID | None:
    """A fleet manager sees their own account's figures only (DESIGN §6); another account
    answers like one that does not exist."""
    if not principal.is_account_bound:
        return account_id
    if account_id is not None and account_id != principal.account_id:
        raise NotFoundError(f"account {account_id} not found", code="account_not_found")
    return principal.account_id


async def aging(
    uow: UnitOfWork,
    principal: Principal,
    as_of: date,
    period: ReportPeriod | None = None,
    account_id: uuid.UUID | None = None,
) -> AgingReport:
    """What every account (or the one ``account_id``) owed at the end of ``as_of`` (the
    operator's calendar day), aged by days past due on that day, with the customers'
    unapplied credit then and the DSO over ``period`` (by default the 90 days up to
    ``as_of``).

    An invoice counts with what was issued, settled and credited by the end of ``as_of``
    (each settlement on its accounting day, the day its ledger entry is booked on), so the
    total is the balance ``Assets:Receivable:C…`` had then: a month is closed by the aging
    of its last day, whenever it is run.
    """
    account = visible_account(principal, account_id)
    window = period or days_up_to(report_day(as_of), DSO_WINDOW_DAYS)
    items = await uow.reports.open_items(account, as_of)
    sales = await uow.reports.credit_sales(window.start, window.end, account)
    credit = await unapplied_credit(uow, account, as_of)
    return aging_report(items, as_of, window, credit, net_credit_sales(sales))


async def unapplied_credit(
    uow: UnitOfWork, account_id: uuid.UUID | None, as_of: date | None = None
) -> dict[Currency, Decimal]:
    """What customers paid beyond their invoices, per currency (a liability: its credit
    balance, as a positive amount), at the end of ``as_of`` when given."""
    prefix = CUSTOMER_CREDIT if account_id is None else customer_credit(account_id)
    until = None if as_of is None else as_of + timedelta(days=1)
    credit: dict[Currency, Decimal] = defaultdict(lambda: ZERO)
    for balance in await uow.ledger.balances(prefix, until):
        credit[balance.currency] -= balance.balance
    return {currency: amount for currency, amount in credit.items() if amount}


def local_midnight(day: date, time_zone: str) -> datetime:
    """The UTC instant the operator's calendar day ``day`` starts."""
    return datetime.combine(day, time(0), ZoneInfo(time_zone)).astimezone(UTC)


async def revenue(
    uow: UnitOfWork,
    period: ReportPeriod,
    time_zone: str,
    by: tuple[Dimension, ...],
    grain: Grain = Grain.PERIOD,
    top: int | None = None,
) -> RevenueReport:
    """Revenue of ``period`` (the operator's dates), per part (``grain``) and the chosen
    dimensions: what sessions accrued (booked on the operator's date of their stop, as
    ``charges.charge_sessions`` books them), plus or minus the corrections of re-pricings booked
    in it (issue 15), less what credit notes issued in it took back.
    So each part's net is what ``Income:Charging`` moved in it (DESIGN §5)."""
    if grain is Grain.DAY and period.days > MAX_DAYS_BY_DAY:
        raise InvalidInputError(
            f"a report by day covers at most {MAX_DAYS_BY_DAY} days; choose month",
            code="period_too_long",
            field="grain",
        )
    parts: list[tuple[ReportPeriod, list[RevenueSlice]]] = []
    for part in period.split(grain):
        window = (local_midnight(part.start, time_zone), local_midnight(part.end, time_zone))
        slices = await uow.reports.charged(*window)
        slices += await uow.reports.corrected(part.start, part.end)
        slices += await uow.reports.credited(part.start, part.end)
        parts.append((part, slices))
    return revenue_report(period, grain, by, parts, top)


async def collections(uow: UnitOfWork, period: ReportPeriod) -> CollectionsReport:
    """Money captured, refunded, paid out (and its fees) and transferred, per day of
    ``period``: the movements of ``Assets:PSP``, ``Assets:Bank`` and ``Expenses:PSPFees``
    booked then (DESIGN §5), so every column adds up to what those accounts moved."""
    return collections_report(period, await uow.reports.cash_movements(period.start, period.end))


_EPOCH, _END = datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)


async def unbilled(uow: UnitOfWork, rates: VatRates) -> UnbilledReport:
    """Charges (and re-pricings' corrections) on no invoice or receipt yet with their value,
    per account (the balance of ``Assets:Receivable:Unbilled:C…``), and the sessions that have
    no charge yet with what they would cost as reported (an estimate, see
    ``domain.unbilled``)."""
    waiting = await uow.billing.unbilled_charges(_EPOCH, _END)
    waiting += await uow.billing.unbilled_charges(_EPOCH, _END, ad_hoc=True)
    corrections = await uow.repricings.unbilled(None)
    names = {}
    accounts = {c.account_id for c in waiting} | {r.account_id for r in corrections}
    for account_id in {a for a in accounts if a is not None}:
        account = await uow.accounts.get(account_id)
        names[account_id] = account.name if account is not None else str(account_id)
    values = pending_values(Pending.QUARANTINED, await _estimates(uow, rates, quarantined=True))
    values += pending_values(Pending.NOT_CHARGED, await _estimates(uow, rates, quarantined=False))
    pending = await uow.reports.pending_sessions()
    return unbilled_report(waiting, names, pending, values, corrections)


async def _estimates(uow: UnitOfWork, rates: VatRates, *, quarantined: bool) -> list[Billed | None]:
    """Each session under review (or completed and not charged yet) valued as reported."""
    found: list[Billed | None] = []
    if quarantined:
        offset: int | None = 0
        while offset is not None:
            page = await uow.sessions.search(
                SessionFilter(status=SessionStatus.QUARANTINED), limit=500, offset=offset
            )
            found += [await value_as_reported(uow, s, rates) for s in page.items]
            offset = page.next_offset
        return found
    for session_id in await uow.billing.sessions_to_charge(MAX_ESTIMATED):
        session = await uow.sessions.get(session_id)
        found.append(None if session is None else await value_as_reported(uow, session, rates))
    return found
