"""Collections (issue 13): the money that came in and went out, per day, from the journal.

What the PSP captured and refunded, what it paid out and kept as fees, what came in and went
out by bank transfer: each column is a sum of postings to ``Assets:PSP:…``, ``Assets:Bank`` or
``Expenses:PSPFees`` (DESIGN §5), so the report adds up to what those accounts moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from chargeledger.domain.ledger import EntryKind
from chargeledger.domain.reports import ReportPeriod
from chargeledger.money import ZERO, Currency

PSP_ROOT = "Assets:PSP"
BANK_ROOT = "Assets:Bank"
FEES_ACCOUNT = "Expenses:PSPFees"


@dataclass(frozen=True, slots=True)
class CashMovement:
    """The sum of one day's postings of one entry kind to one money account."""

    day: date
    kind: str  # ``EntryKind`` value
    account: str
    currency: Currency
    amount: Decimal  # debits less credits


@dataclass(slots=True)
class CollectionDay:
    """One day's money in one currency, every column positive in the usual case:

    - ``captured``: what the PSP took (card and app sessions, invoice payments, top-ups);
    - ``refunded``: what went back to cards; ``payouts``: what the PSP paid out, gross;
    - ``fees``: the PSP's fees on those payouts (``Expenses:PSPFees``);
    - ``transfers_in`` / ``transfers_out``: bank statement credits and debits (returns).

    So ``Assets:PSP`` moved by ``captured - refunded - payouts``, ``Assets:Bank`` by
    ``payouts - fees + transfers_in - transfers_out`` (DESIGN §5: PSP payout = Bank (net),
    PSPFees (fee) / PSP (gross)).
    """

    day: date
    currency: Currency
    captured: Decimal = ZERO
    refunded: Decimal = ZERO
    payouts: Decimal = ZERO
    fees: Decimal = ZERO
    transfers_in: Decimal = ZERO
    transfers_out: Decimal = ZERO

    @property
    def collected(self) -> Decimal:
        """Money received from customers, less what went back to them."""
        return self.captured - self.refunded + self.transfers_in - self.transfers_out

    def add(self, movement: CashMovement) -> None:
        account, amount, kind = movement.account, movement.amount, movement.kind
        if _under(account, PSP_ROOT):
            if kind == EntryKind.REFUND:
                self.refunded -= amount
            elif kind == EntryKind.PAYOUT:
                self.payouts -= amount
            else:
                self.captured += amount
        elif _under(account, BANK_ROOT):
            if kind == EntryKind.BANK_DEBIT:
                self.transfers_out -= amount
            elif kind != EntryKind.PAYOUT:  # the payout's net: payouts - fees
                self.transfers_in += amount
        elif _under(account, FEES_ACCOUNT):
            self.fees += amount


def _under(account: str, root: str) -> bool:
    return account == root or account.startswith(root + ":")


@dataclass(frozen=True, slots=True)
class CollectionsReport:
    period: ReportPeriod
    days: tuple[CollectionDay, ...]
    totals: tuple[CollectionDay, ...] = field(default=())


def collections_report(
    period: ReportPeriod, movements: Iterable[CashMovement]
) -> CollectionsReport:
    """Per day and currency; the totals carry the period's first day."""
    days: dict[tuple[date, Currency], CollectionDay] = {}
    totals: dict[Currency, CollectionDay] = {}
    for movement in movements:
        key = (movement.day, movement.currency)
        days.setdefault(key, CollectionDay(*key)).add(movement)
        totals.setdefault(movement.currency, CollectionDay(period.start, movement.currency))
        totals[movement.currency].add(movement)
    ordered = tuple(days[key] for key in sorted(days))
    return CollectionsReport(period, ordered, tuple(totals[c] for c in sorted(totals)))
