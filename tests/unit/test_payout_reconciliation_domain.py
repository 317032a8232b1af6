"""``domain/payout_reconciliation.py``: each item of a PSP payout against our books, the
items' total against the payout and the bank line against its net (issue 13)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from chargeledger.domain.payout_reconciliation import (
    BankLine,
    BookedPayment,
    ItemKind,
    ItemStatus,
    PayoutItem,
    PayoutStatus,
    reconcile,
)
from chargeledger.money import Money

P1 = uuid.UUID("00000000-0000-4000-8000-000000000001")
P2 = uuid.UUID("00000000-0000-4000-8000-000000000002")


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def item(
    item_id: str, kind: ItemKind, amount: str, fee: str = "0", ref: str | None = None
) -> PayoutItem:
    return PayoutItem(item_id, kind, eur(amount), eur(fee), provider_ref=ref)


BOOKED = {
    "pi_1": BookedPayment("pi_1", P1, Decimal("30.00")),
    "pi_2": BookedPayment("pi_2", P2, Decimal("10.00"), (Decimal("4.00"), Decimal("2.00"))),
}
ITEMS = [
    item("txn_1", ItemKind.CAPTURE, "30.00", "0.67", "pi_1"),
    item("txn_2", ItemKind.CAPTURE, "10.00", "0.39", "pi_2"),
    item("txn_3", ItemKind.REFUND, "-4.00", ref="pi_2"),
]
NET = eur("34.94")  # 40.00 - 4.00 - 1.06


def test_a_payout_that_matches_our_books_and_the_bank_is_reconciled() -> None:
    line = BankLine("b1", NET, date(2026, 2, 3))
    found = reconcile("po_1", NET, ITEMS, BOOKED, line)
    assert [c.status for c in found.items] == [ItemStatus.MATCHED] * 3
    assert [c.payment_id for c in found.items] == [P1, P2, P2]
    assert found.items_net == NET
    assert found.differences == ()
    assert found.status is PayoutStatus.RECONCILED


def test_without_its_bank_line_the_payout_waits() -> None:
    found = reconcile("po_1", NET, ITEMS, BOOKED, None)
    assert found.status is PayoutStatus.BANK_LINE_MISSING
    assert found.bank_difference is None


def test_a_chargeback_and_a_payment_we_never_booked_are_unknown_to_us() -> None:
    items = [
        *ITEMS,
        item("txn_4", ItemKind.ADJUSTMENT, "-5.00", ref="pi_1"),
        item("txn_5", ItemKind.CAPTURE, "7.00", "0.35", "pi_stranger"),
    ]
    net = NET - eur("5.00") + eur("6.65")
    found = reconcile("po_1", net, items, BOOKED, BankLine("b1", net, None))
    assert [c.status for c in found.items][3:] == [ItemStatus.UNKNOWN_TO_US] * 2
    assert found.items[3].ours is None
    assert found.items[3].difference is None
    assert found.status is PayoutStatus.DIFFERENCES
    assert found.differences == (
        "adjustment txn_4 (pi_1): -5.00 EUR unknown to our books",
        "capture txn_5 (pi_stranger): 7.00 EUR unknown to our books",
    )


def test_amounts_that_differ_are_reported_with_both_amounts() -> None:
    items = [
        item("txn_1", ItemKind.CAPTURE, "31.00", "0.68", "pi_1"),
        item("txn_3", ItemKind.REFUND, "-3.00", ref="pi_2"),
    ]
    net = eur("27.32")
    found = reconcile("po_1", net, items, BOOKED, None)
    capture, refund = found.items
    assert (capture.status, capture.ours, capture.difference) == (
        ItemStatus.AMOUNT_DIFFERS,
        Decimal("30.00"),
        Decimal("1.00"),
    )
    assert (refund.status, refund.ours) == (ItemStatus.AMOUNT_DIFFERS, Decimal("-6.00"))
    assert found.status is PayoutStatus.DIFFERENCES


def test_each_refund_of_ours_matches_one_item_only() -> None:
    items = [
        item("a", ItemKind.REFUND, "-4.00", ref="pi_2"),
        item("b", ItemKind.REFUND, "-4.00", ref="pi_2"),
    ]
    found = reconcile("po_1", eur("-8.00"), items, BOOKED, None)
    assert [c.status for c in found.items] == [ItemStatus.MATCHED, ItemStatus.AMOUNT_DIFFERS]


def test_items_that_do_not_make_the_payout_and_a_short_bank_line_are_differences() -> None:
    line = BankLine("b1", eur("34.00"), date(2026, 2, 3))
    found = reconcile("po_1", eur("35.00"), ITEMS, BOOKED, line)
    assert found.items_difference == eur("-0.06")
    assert found.bank_difference == eur("-1.00")
    assert found.differences == (
        "the items make 34.94 EUR, the payout is 35.00 EUR",
        "the bank brought 34.00 EUR, the payout is 35.00 EUR",
    )


def test_a_psp_fee_is_the_psps_own_and_a_payout_without_items_has_nothing_to_match() -> None:
    fee = item("txn_f", ItemKind.FEE, "-2.00")
    assert reconcile("po_1", eur("-2.00"), [fee], {}, None).items[0].status is ItemStatus.MATCHED
    bare = reconcile("po_2", NET, [], BOOKED, BankLine("b1", NET, None))
    assert (bare.items_net, bare.status) == (None, PayoutStatus.NO_ITEMS)
