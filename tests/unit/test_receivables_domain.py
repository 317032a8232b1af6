"""Settlements and open items (domain.receivables): what may be set against an invoice, and
what is left of it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chargeledger.domain.payments import (
    EventKind,
    Payment,
    PaymentEvent,
    PaymentMethodKind,
    PaymentPurpose,
)
from chargeledger.domain.receivables import (
    OpenItem,
    Settlement,
    SettlementKind,
    card_settlement,
)
from chargeledger.errors import InvalidInputError
from chargeledger.money import Money

AT = datetime(2026, 2, 2, 8, tzinfo=UTC)


def settlement(kind: SettlementKind, amount: str) -> Settlement:
    return Settlement(
        uuid.uuid4(), kind, Money.of(amount, "EUR"), f"manual:{amount}", AT, AT.date()
    )


@pytest.mark.parametrize(
    ("kind", "amount"),
    [
        (SettlementKind.BANK_TRANSFER, "-1.00"),
        (SettlementKind.WRITE_OFF, "-1.00"),
        (SettlementKind.ACCOUNT_CREDIT, "-0.01"),
        (SettlementKind.RETURN, "1.00"),
        (SettlementKind.BANK_TRANSFER, "0"),
    ],
)
def test_a_settlement_moves_money_the_way_its_kind_does(kind: SettlementKind, amount: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        settlement(kind, amount)
    assert refused.value.code == "invalid_settlement_amount"


def test_the_outstanding_amount_is_gross_less_credit_notes_payments_and_write_offs() -> None:
    item = OpenItem(Decimal("100.00"), credited=Decimal("10.00")).with_settlements(
        [
            settlement(SettlementKind.BANK_TRANSFER, "50.00"),
            settlement(SettlementKind.RETURN, "-50.00"),
            settlement(SettlementKind.CARD, "30.00"),
            settlement(SettlementKind.WRITE_OFF, "60.00"),
        ]
    )
    assert (item.paid, item.written_off, item.outstanding) == (
        Decimal("30.00"),
        Decimal("60.00"),
        Decimal("0.00"),
    )


def test_a_card_payment_of_an_invoice_settles_it_and_its_refund_reopens_it() -> None:
    invoice_id = uuid.uuid4()
    payment = Payment(
        PaymentPurpose.INVOICE, PaymentMethodKind.CARD, "sandbox", "EUR", invoice_id=invoice_id
    )

    def event(kind: EventKind) -> PaymentEvent:
        return PaymentEvent(payment.id, kind, kind.value, AT, amount=Decimal("11.90"))

    captured = card_settlement(payment, event(EventKind.CAPTURED), AT.date())
    refunded = card_settlement(payment, event(EventKind.REFUNDED), AT.date())
    assert captured is not None
    assert refunded is not None
    assert (captured.invoice_id, captured.amount, refunded.amount) == (
        invoice_id,
        Money.of("11.90", "EUR"),
        Money.of("-11.90", "EUR"),
    )
    assert card_settlement(payment, event(EventKind.AUTHORISED), AT.date()) is None
    session_payment = Payment(PaymentPurpose.SESSION, PaymentMethodKind.APP, "sandbox", "EUR")
    assert card_settlement(session_payment, event(EventKind.CAPTURED), AT.date()) is None
