"""What a PSP payout settled, held against our own books (issue 13: PSP payout reconciliation).

A PSP does not pay out payments one by one: it pays out its balance. Stripe's model, which the
sandbox copies, is the *balance transaction*: every capture (type ``charge``/``payment``),
refund (``refund``/``payment_refund``), PSP charge (``stripe_fee``) and correction
(``adjustment``: a dispute's withdrawal, a reversal) is one balance transaction with a signed
``amount``, a ``fee`` and ``net = amount − fee``; an automatic payout settles a set of them and
its ``amount`` is the sum of their nets (Stripe API reference, "Balance transactions" and
"Payouts": ``GET /v1/balance_transactions?payout=po_…``). Each such transaction is a
:class:`PayoutItem` here.

Reconciliation answers three questions a finance team asks of each payout:

1. does every item match what we booked for that PSP payment (the capture we booked, one of
   our refunds)? — :class:`ItemStatus` per item;
2. do the items add up to what the PSP sent (``Σ amount − Σ fee = payout net``)?
3. did the money reach the bank (the statement line matched to the payout by
   ``domain/bank_matching.py::OpenPayouts``), and was it the payout's net?

Pure: the caller loads the items, our booked view of the same PSP payments and the bank line.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from chargeledger.money import ZERO, Money


class ItemKind(StrEnum):
    """The kind of a balance transaction, in our words (Stripe ``type`` → kind: ``charge`` and
    ``payment`` → capture; ``refund`` and ``payment_refund`` → refund; ``stripe_fee`` and
    ``application_fee`` → fee; anything else, e.g. ``adjustment`` → adjustment)."""

    CAPTURE = "capture"
    REFUND = "refund"
    FEE = "fee"
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True, slots=True)
class PayoutItem:
    """One balance transaction a payout settled. ``amount`` is signed as the PSP's balance
    sees it (a capture adds, a refund or a chargeback takes away); ``fee`` is what the PSP
    kept of it. ``provider_ref`` is the PSP's payment (PaymentIntent) it belongs to, if any;
    ``payment_id`` our payment, where the PSP echoed our reference or our books know it."""

    item_id: str
    kind: ItemKind
    amount: Money
    fee: Money
    provider_ref: str | None = None
    payment_id: uuid.UUID | None = None
    description: str | None = None  # the PSP's text (an adjustment's reason)

    @property
    def net(self) -> Money:
        return self.amount - self.fee


@dataclass(frozen=True, slots=True)
class BookedPayment:
    """What we booked for one PSP payment: the amount captured, each refund's amount, and
    what each of its chargebacks moved on the PSP balance (issue 15: the withdrawal of the
    amount and its fee, negative; a won chargeback's reinstatement, positive)."""

    provider_ref: str
    payment_id: uuid.UUID
    captured: Decimal = ZERO
    refunds: tuple[Decimal, ...] = ()
    chargebacks: tuple[Decimal, ...] = ()


class ItemStatus(StrEnum):
    MATCHED = "matched"
    AMOUNT_DIFFERS = "amount_differs"  # our booked amount is not the PSP's
    UNKNOWN_TO_US = "unknown_to_us"  # nothing of ours to match: a chargeback, a stray payment


@dataclass(frozen=True, slots=True)
class ItemCheck:
    item: PayoutItem
    status: ItemStatus
    ours: Decimal | None = None  # our booked amount, signed like the item's (None: unknown)
    payment_id: uuid.UUID | None = None  # our payment, where we know it

    @property
    def difference(self) -> Decimal | None:
        """The PSP's amount less ours (None where there is nothing of ours)."""
        return None if self.ours is None else self.item.amount.amount - self.ours


@dataclass(frozen=True, slots=True)
class BankLine:
    """The bank statement line matched to the payout (``bank_entries.payout_id``)."""

    entry_ref: str
    amount: Money
    booking_date: date | None


class PayoutStatus(StrEnum):
    RECONCILED = "reconciled"  # items all matched and add up, the bank brought the net
    DIFFERENCES = "differences"  # an item, the items' total or the bank line differs
    BANK_LINE_MISSING = "bank_line_missing"  # all agrees, the money is not seen at the bank yet
    NO_ITEMS = "no_items"  # the PSP named no items (manual payout, emulator, booked before)


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """One payout against our books and the bank."""

    payout_id: str
    net: Money
    items: tuple[ItemCheck, ...]
    items_net: Money | None  # Σ amount − Σ fee of the items (None without items)
    bank_line: BankLine | None

    @property
    def items_difference(self) -> Money | None:
        """What the items make beyond (or short of) the payout's net (stated as zero when equal)."""
        return None if self.items_net is None else self.items_net - self.net

    @property
    def bank_difference(self) -> Money | None:
        return None if self.bank_line is None else self.bank_line.amount - self.net

    @property
    def differences(self) -> tuple[str, ...]:
        """Each difference in words, for a report or a CLI table."""
        found = [_said(check) for check in self.items if check.status is not ItemStatus.MATCHED]
        if self.items_difference:
            found.append(f"the items make {self.items_net}, the payout is {self.net}")
        if self.bank_difference:
            assert self.bank_line is not None
            found.append(f"the bank brought {self.bank_line.amount}, the payout is {self.net}")
        return tuple(found)

    @property
    def status(self) -> PayoutStatus:
        if self.differences:
            return PayoutStatus.DIFFERENCES
        if self.bank_line is None:
            return PayoutStatus.BANK_LINE_MISSING
        if not self.items:
            return PayoutStatus.NO_ITEMS
        return PayoutStatus.RECONCILED


def _said(check: ItemCheck) -> str:
    item = check.item
    about = f"{item.kind.value} {item.item_id}" + (
        f" ({item.provider_ref})" if item.provider_ref else ""
    )
    if check.status is ItemStatus.UNKNOWN_TO_US:
        return f"{about}: {item.amount} unknown to our books"
    return f"{about}: the PSP says {item.amount}, we booked {check.ours}"


def reconcile(
    payout_id: str,
    net: Money,
    items: Sequence[PayoutItem],
    booked: Mapping[str, BookedPayment],
    bank_line: BankLine | None,
) -> Reconciliation:
    """Check each item against ``booked`` (our view of the same PSP payments, by provider
    ref), the items' total against the payout's ``net``, and the bank line against the net.

    - A capture matches when we booked the same amount captured for its payment.
    - A refund (negative) matches one of our refunds of its payment of the same amount; each
      of ours is used once within the payout (two refunds of 5.00 need two of ours).
    - A PSP fee is the PSP's own charge, booked with the payout (``Expenses:PSPFees``): matched.
    - An adjustment matches one of the chargeback movements we booked for its payment of the
      same net amount (a withdrawal with its fee, or a reinstatement), each used once; any
      other adjustment is unknown to us, for finance to explain. So is an item of a payment
      we never booked.
    """
    unused = {ref: list(p.refunds) for ref, p in booked.items()}
    disputed = {ref: list(p.chargebacks) for ref, p in booked.items()}
    checks = tuple(_check(item, booked, unused, disputed) for item in items)
    items_net = None
    if items:
        items_net = sum((item.net for item in items), Money.zero(net.currency.code))
    return Reconciliation(payout_id, net, checks, items_net, bank_line)


def _check(
    item: PayoutItem,
    booked: Mapping[str, BookedPayment],
    unused: dict[str, list[Decimal]],
    disputed: dict[str, list[Decimal]],
) -> ItemCheck:
    if item.kind is ItemKind.FEE:
        return ItemCheck(item, ItemStatus.MATCHED)
    ours = booked.get(item.provider_ref) if item.provider_ref else None
    if item.kind is ItemKind.ADJUSTMENT and ours is not None:
        moved = disputed[ours.provider_ref]
        if item.net.amount in moved:
            moved.remove(item.net.amount)
            return ItemCheck(item, ItemStatus.MATCHED, item.net.amount, ours.payment_id)
    if item.kind is ItemKind.ADJUSTMENT or ours is None:
        return ItemCheck(item, ItemStatus.UNKNOWN_TO_US, payment_id=item.payment_id)
    theirs = item.amount.amount
    if item.kind is ItemKind.CAPTURE:
        status = ItemStatus.MATCHED if theirs == ours.captured else ItemStatus.AMOUNT_DIFFERS
        return ItemCheck(item, status, ours.captured, ours.payment_id)
    refunds = unused[ours.provider_ref]
    if -theirs in refunds:
        refunds.remove(-theirs)
        return ItemCheck(item, ItemStatus.MATCHED, theirs, ours.payment_id)
    return ItemCheck(
        item, ItemStatus.AMOUNT_DIFFERS, ZERO - sum(ours.refunds, ZERO), ours.payment_id
    )


def provider_refs(items: Iterable[PayoutItem]) -> set[str]:
    """The PSP payments the items name (what to load of our books)."""
    return {item.provider_ref for item in items if item.provider_ref}
