"""Bank statements as a bank sends them, for the tests of issue 13: one booked entry at a
time, and a day's statement whose closing balance is what its entries make."""

from __future__ import annotations

import dataclasses
from datetime import date

from chargeledger.domain.bank_statements import (
    BookedBalance,
    Direction,
    EntryStatus,
    Statement,
    StatementEntry,
)
from chargeledger.money import Currency, Money

OUR_IBAN = "DE89370400440532013000"


def bank_entry(ref: str, amount: str, day: date, **details: object) -> StatementEntry:
    """A booked credit (``direction=Direction.DEBIT`` for money out) of ``amount`` EUR."""
    return StatementEntry(
        entry_ref=ref,
        amount=Money.of(amount, "EUR"),
        direction=details.pop("direction", Direction.CREDIT),  # type: ignore[arg-type]
        status=details.pop("status", EntryStatus.BOOKED),  # type: ignore[arg-type]
        booking_date=day,
        value_date=day,
        **details,  # type: ignore[arg-type]
    )


def day_statement(statement_id: str, day: date, *entries: StatementEntry) -> Statement:
    """The statement of ``day`` opening at 1000.00 EUR and closing at what its entries make."""
    opening = BookedBalance(Money.of("1000.00", "EUR"), day)
    unbalanced = Statement(
        statement_id=statement_id,
        account_iban=OUR_IBAN,
        currency=Currency.of("EUR"),
        created_at=None,
        from_date=day,
        to_date=day,
        opening_balance=opening,
        closing_balance=None,
        entries=entries,
    )
    closing = BookedBalance(opening.amount + unbalanced.booked_movement(), day)
    return dataclasses.replace(unbalanced, closing_balance=closing)
