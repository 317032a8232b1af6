"""The storage port of payout reconciliation (issue 13), beside ``ports.py`` to keep both
small: the items each booked payout settled, our booked view of the PSP payments they name,
and the payouts as the ledger booked them with the bank line that brought each in."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from chargeledger.domain.payout_reconciliation import BankLine, BookedPayment, PayoutItem
from chargeledger.money import Money
from chargeledger.services.paging import Page


@dataclass(frozen=True, slots=True)
class BookedPayoutRecord:
    """A payout as the ledger booked it (``domain/payment_postings.py::paid_out``): the PSP's
    account (``Assets:PSP:<Name>``), gross, fee and net, and its bank line once matched."""

    payout_id: str
    psp_account: str
    booked_on: date
    gross: Money
    fee: Money
    net: Money
    bank_line: BankLine | None = None


class PayoutRepository(Protocol):
    async def add_items(
        self, gateway: str, payout_id: str, items: Sequence[PayoutItem], at: datetime
    ) -> int:
        """Keep the payout's items; an item kept before (same gateway and PSP item id) is
        left as it was. Returns how many were new."""
        ...

    async def items(self, payout_ids: Collection[str]) -> dict[str, list[PayoutItem]]:
        """The kept items of each payout, in the PSP's order."""
        ...

    async def booked_payments(
        self, gateway: str, provider_refs: Collection[str]
    ) -> dict[str, BookedPayment]:
        """What we booked (captured, each refund) for these PSP payments of ``gateway``."""
        ...

    async def booked_payouts(self, *, limit: int, offset: int) -> Page[BookedPayoutRecord]:
        """Booked payouts, newest first."""
        ...

    async def booked_payout(self, payout_id: str) -> BookedPayoutRecord | None: ...
