"""Stripe's balance transactions of a payout, in our terms (``stripe_payouts.py``, issue 13):
type → kind, source → the PaymentIntent, the payout's own transaction left out."""

from __future__ import annotations

import uuid

from chargeledger.adapters.gateways.stripe_payouts import payout_fee, payout_items
from chargeledger.domain.payout_reconciliation import ItemKind
from chargeledger.money import Money

OURS = uuid.UUID("00000000-0000-4000-8000-0000000000bb")


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


SETTLED = [
    {
        "id": "txn_charge",
        "type": "charge",
        "amount": 3000,
        "fee": 67,
        "currency": "eur",
        "source": {
            "id": "ch_1",
            "object": "charge",
            "payment_intent": "pi_1",
            "metadata": {"reference": str(OURS)},
        },
    },
    {
        "id": "txn_refund",
        "type": "refund",
        "amount": -500,
        "fee": 0,
        "currency": "eur",
        "source": {"id": "re_1", "object": "refund", "payment_intent": "pi_1"},
    },
    {
        "id": "txn_dispute",
        "type": "adjustment",
        "amount": -1000,
        "fee": 1500,
        "currency": "eur",
        "description": "Chargeback withdrawal for ch_1",
        "source": {"id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_1"},
    },
    {"id": "txn_fee", "type": "stripe_fee", "amount": -200, "fee": 0, "currency": "eur"},
    {
        "id": "txn_old",
        "type": "charge",
        "amount": 700,
        "fee": 35,
        "currency": "eur",
        "source": "ch_9",
    },
    {
        "id": "txn_po",
        "type": "payout",
        "amount": -1733,
        "fee": 0,
        "currency": "eur",
        "source": "po_1",
    },
]


def test_balance_transactions_become_items_and_the_payout_itself_is_left_out() -> None:
    items = payout_items(SETTLED)
    assert [(i.item_id, i.kind, i.amount, i.fee, i.provider_ref) for i in items] == [
        ("txn_charge", ItemKind.CAPTURE, eur("30.00"), eur("0.67"), "pi_1"),
        ("txn_refund", ItemKind.REFUND, eur("-5.00"), eur("0.00"), "pi_1"),
        ("txn_dispute", ItemKind.ADJUSTMENT, eur("-10.00"), eur("15.00"), "pi_1"),
        ("txn_fee", ItemKind.FEE, eur("-2.00"), eur("0.00"), None),
        ("txn_old", ItemKind.CAPTURE, eur("7.00"), eur("0.35"), "ch_9"),
    ]
    assert items[0].payment_id == OURS
    assert items[1].payment_id is None
    assert items[2].description == "Chargeback withdrawal for ch_1"
    # Stripe's payout amount (3.98, its own transaction's -398) is the sum of the settled nets
    assert sum((i.net for i in items), eur("0")) == eur("3.98")
    assert payout_fee(SETTLED) == 67 + 1500 + 35


def test_an_emulator_that_refuses_the_filter_gives_no_items_and_no_fee() -> None:
    assert payout_items([]) == ()
    assert payout_fee([]) == 0
