"""PSP payouts held against our books and the bank (issue 13, payout reconciliation): each
booked payout with what it settled (``payout_items``), each item matched to what we booked
for its PSP payment, the items' total against the payout, and the bank line that brought the
money in. The decisions are ``domain/payout_reconciliation.py::reconcile``; this module loads
and calls it. Queries only: nothing is written, nothing committed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from chargeledger.domain.ledger import psp
from chargeledger.domain.payout_reconciliation import (
    BookedPayment,
    PayoutItem,
    Reconciliation,
    provider_refs,
    reconcile,
)
from chargeledger.errors import NotFoundError
from chargeledger.services.paging import Page
from chargeledger.services.payments.payout_ports import BookedPayoutRecord
from chargeledger.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class PayoutView:
    """A booked payout, its PSP (``gateway``; the PSP's ledger account where no configured
    PSP books to it) and its reconciliation."""

    payout: BookedPayoutRecord
    gateway: str
    reconciliation: Reconciliation


async def list_payouts(
    uow: UnitOfWork, gateways: Collection[str], limit: int, offset: int
) -> Page[PayoutView]:
    """Booked payouts, newest first, each with its reconciliation status."""
    page = await uow.payouts.booked_payouts(limit=limit, offset=offset)
    return Page(items=await _views(uow, gateways, page.items), next_offset=page.next_offset)


async def show_payout(uow: UnitOfWork, gateways: Collection[str], payout_id: str) -> PayoutView:
    """One booked payout with its items and differences; ``payout_not_found`` otherwise."""
    record = await uow.payouts.booked_payout(payout_id)
    if record is None:
        raise NotFoundError(f"no booked payout {payout_id}", code="payout_not_found")
    [view] = await _views(uow, gateways, [record])
    return view


async def _views(
    uow: UnitOfWork, gateways: Collection[str], records: Sequence[BookedPayoutRecord]
) -> list[PayoutView]:
    named = {psp(gateway): gateway for gateway in gateways}
    items = await uow.payouts.items([r.payout_id for r in records])
    booked: dict[str, dict[str, BookedPayment]] = {}
    for gateway in {named.get(r.psp_account, r.psp_account) for r in records}:
        theirs: list[PayoutItem] = []
        for record in records:
            if named.get(record.psp_account, record.psp_account) == gateway:
                theirs.extend(items[record.payout_id])
        booked[gateway] = await uow.payouts.booked_payments(gateway, provider_refs(theirs))
    views = []
    for record in records:
        gateway = named.get(record.psp_account, record.psp_account)
        found = reconcile(
            record.payout_id,
            record.net,
            items[record.payout_id],
            booked[gateway],
            record.bank_line,
        )
        views.append(PayoutView(record, gateway, found))
    return views
