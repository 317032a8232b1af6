"""What the books hold, read for reports and exports (the CLI's ``ledger check``, ``export``
and the demo's month end): the journal, the checks of its invariants and its size.

Read only: handed an open unit of work, commits nothing (DESIGN §3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from chargeledger.domain.ledger import JournalEntry
from chargeledger.money import Currency
from chargeledger.services.billing.ledger import check_ledger, trial_balance_of
from chargeledger.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class LedgerCheck:
    """The broken invariants (empty: the books are consistent) and the journal's size."""

    problems: list[str]
    entries: int
    postings: int


@dataclass(frozen=True, slots=True)
class BooksSnapshot:
    """The whole journal with its trial balance and check, read in one transaction."""

    journal: list[JournalEntry]
    trial_balance: dict[Currency, Decimal]
    check: LedgerCheck


async def journal(uow: UnitOfWork, first: date | None, last: date | None) -> list[JournalEntry]:
    """The entries booked in ``[first, last)`` (all of them when both are None)."""
    return await uow.ledger.entries(first, last)


async def checked_ledger(uow: UnitOfWork) -> LedgerCheck:
    """``ledger.check_ledger`` with the number of entries and postings it looked at."""
    problems = await check_ledger(uow)
    entries, postings = await uow.ledger.count()
    return LedgerCheck(problems, entries, postings)


async def snapshot(uow: UnitOfWork) -> BooksSnapshot:
    entries = await uow.ledger.entries()
    trial_balance = await trial_balance_of(uow)
    return BooksSnapshot(entries, trial_balance, await checked_ledger(uow))


async def charged_sessions(uow: UnitOfWork) -> int:
    """How many sessions are charged (priced and booked)."""
    return len(await uow.billing.charge_ids())
