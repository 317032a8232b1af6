"""The sandbox PSP's payouts: which balance transactions a payout settles (issue 13, payout
reconciliation), split from ``sandbox.py``.

Like Stripe, the simulator keeps a balance of balance transactions and pays it out: a capture
(its amount, and the PSP's fee on it, charged once when the capture is first paid out), each
refund (negative, no fee) and each adjustment the PSP's operator made (:meth:`adjust`, e.g. a
chargeback withdrawn from the next payout). A payout settles every transaction not paid out
yet; its gross is the sum of their amounts, its fee the sum of their fees, and the items it
returns are those transactions (``domain/payout_reconciliation.py::PayoutItem``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal

from chargeledger.adapters.gateways.sandbox_cards import fee
from chargeledger.adapters.gateways.sandbox_store import SandboxHold, SandboxTransaction
from chargeledger.domain.payout_reconciliation import ItemKind, PayoutItem
from chargeledger.money import ZERO, Money
from chargeledger.services.payments.gateway import Payout

NewId = Callable[[str], Awaitable[tuple[str, int]]]  # prefix → (id, its sequence number)


def reference_of(hold: SandboxHold) -> uuid.UUID | None:
    """Our payment id, as we sent it to the PSP (metadata); another integration's is no id."""
    try:
        return uuid.UUID(hold.reference)
    except ValueError:
        return None


def _item(
    item_id: str, kind: ItemKind, hold: SandboxHold, amount: Decimal, charged: Decimal = ZERO
) -> PayoutItem:
    return PayoutItem(
        item_id=item_id,
        kind=kind,
        amount=Money.of(amount, hold.currency),
        fee=Money.of(charged, hold.currency),
        provider_ref=hold.provider_ref,
        payment_id=reference_of(hold),
    )


async def _items_of(hold: SandboxHold, new_id: NewId) -> list[PayoutItem]:
    """The hold's transactions not paid out yet; marks them paid out on ``hold``. A capture is
    paid out once (its fee charged then); the refunds already paid out are the first ones in
    order whose sum is what the capture's earlier payouts left out (``captured − paid_out``)."""
    items = []
    settled_refunds = hold.captured - hold.paid_out
    if not hold.fee:
        hold.fee = fee(hold.captured, hold.currency)
        items.append(
            _item((await new_id("txn"))[0], ItemKind.CAPTURE, hold, hold.captured, hold.fee)
        )
        settled_refunds = ZERO
    running = ZERO
    for _, amount in hold.refunds:
        running += amount
        if running > settled_refunds:
            item_id, _ = await new_id("txn")
            items.append(_item(item_id, ItemKind.REFUND, hold, -amount))
    hold.paid_out = hold.captured - hold.refunded
    return items


async def settle(tx: SandboxTransaction, currency: str, new_id: NewId, on: date) -> Payout | None:
    """Pay out every transaction of ``currency`` not paid out yet; None when there is none."""
    items: list[PayoutItem] = []
    for hold in await tx.unsettled_holds(currency):
        items.extend(await _items_of(hold, new_id))
        await tx.save_hold(hold)
    items.extend(await tx.pending_adjustments(currency))
    if not items:
        return None
    payout_id, number = await new_id("po")
    payout = Payout(
        payout_id=payout_id,
        gross=sum((i.amount for i in items), Money.zero(currency)),
        fee=sum((i.fee for i in items), Money.zero(currency)),
        arrival=on,
        items=tuple(items),
    )
    await tx.add_payout(payout, number)
    return payout


def adjustment(item_id: str, hold: SandboxHold, amount: Money, reason: str) -> PayoutItem:
    """A correction by the PSP's operator (a chargeback: negative), paid out next."""
    return PayoutItem(
        item_id=item_id,
        kind=ItemKind.ADJUSTMENT,
        amount=amount,
        fee=Money.zero(amount.currency.code),
        provider_ref=hold.provider_ref,
        payment_id=reference_of(hold),
        description=reason[:255],
    )
