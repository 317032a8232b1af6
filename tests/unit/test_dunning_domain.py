"""Dunning decisions (issue 13), pure: which level an overdue invoice gets on a day, what a
notice claims from a business (Directive 2011/7/EU art. 3, 4, 6), and when tokens are
blocked."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from chargeledger.domain.dunning import (
    DEFAULT_POLICIES,
    DunningEvent,
    DunningEventKind,
    DunningLevel,
    DunningPolicy,
    OverdueInvoice,
    blocks_account,
    next_level,
    notice_claimed,
    notice_for,
)
from chargeledger.domain.late_payment import LatePaymentTerms, statutory_interest
from chargeledger.errors import InvalidInputError
from chargeledger.money import Money

DUE = date(2026, 2, 16)
AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
POLICY = DEFAULT_POLICIES["individual"]
INVOICE = uuid.uuid4()


def sent(level: int, on: date, *, blocks: bool = False) -> DunningEvent:
    return DunningEvent(
        DunningEventKind.NOTICE, INVOICE, None, on, AT, level=level, blocks_tokens=blocks
    )


def dispute(kind: DunningEventKind, at: datetime) -> DunningEvent:
    return DunningEvent(kind, INVOICE, None, at.date(), at)


@pytest.mark.parametrize(
    ("days_late", "history", "expected"),
    [
        (6, [], None),
        (7, [], 1),
        (40, [], 1),  # a run missed for weeks still starts with the first reminder
        (21, [(1, 7)], 2),
        (20, [(1, 7)], None),
        (41, [(1, 40)], None),  # 14 days must pass between level 1 and level 2
        (54, [(1, 40)], 2),
        (35, [(1, 7), (2, 21)], 3),
        (400, [(1, 7), (2, 21), (3, 35)], None),  # nothing after the final notice
    ],
)
def test_levels_over_time(
    days_late: int, history: list[tuple[int, int]], expected: int | None
) -> None:
    events = [sent(level, DUE + timedelta(days=day)) for level, day in history]
    found = next_level(POLICY, DUE, DUE + timedelta(days=days_late), events)
    assert (None if found is None else found.level) == expected


def test_a_disputed_invoice_gets_no_notice_until_the_dispute_ends() -> None:
    opened = dispute(DunningEventKind.DISPUTED, AT)
    assert next_level(POLICY, DUE, DUE + timedelta(days=30), [opened]) is None
    closed = dispute(DunningEventKind.UNDISPUTED, AT + timedelta(hours=1))
    level = next_level(POLICY, DUE, DUE + timedelta(days=30), [opened, closed])
    assert level is not None
    assert level.level == 1


def test_a_schedule_is_refused_unless_numbered_and_rising() -> None:
    for levels, block_at in (
        ((), None),
        ((DunningLevel(1, 7, "a"), DunningLevel(2, 7, "b")), None),
        ((DunningLevel(2, 7, "a"),), None),
        ((DunningLevel(1, 7, "a", Decimal("-1")),), None),
        ((DunningLevel(1, 7, "a"),), 2),
    ):
        with pytest.raises(InvalidInputError) as refused:
            DunningPolicy(levels, block_at)
        assert refused.value.code == "invalid_dunning_policy"


def test_statutory_interest_is_reference_rate_plus_eight_points_per_day() -> None:
    terms = LatePaymentTerms(reference_rate=Decimal("2.15"))
    assert terms.annual_percent == Decimal("10.15")
    # 1000.00 × 10.15 % × 30 / 365 = 8.342... → 8.34
    interest = statutory_interest(terms, Money.of("1000.00", "EUR"), DUE, DUE + timedelta(30))
    assert interest == Money.of("8.34", "EUR")
    assert statutory_interest(terms, Money.of("1000", "EUR"), DUE, DUE).is_zero


def case(business: bool, outstanding: str = "1000.00") -> OverdueInvoice:
    return OverdueInvoice(INVOICE, uuid.uuid4(), DUE, Money.of(outstanding, "EUR"), business)


def test_a_business_is_claimed_forty_euros_once_and_interest_since_the_last_notice() -> None:
    terms = LatePaymentTerms()
    policy = DEFAULT_POLICIES["business"]
    first = notice_for(case(True), policy, terms, [], DUE + timedelta(7), AT)
    assert first is not None
    assert (first.level, first.fee, first.compensation) == (
        1,
        Money.of(0, "EUR"),
        Money.of("40.00", "EUR"),
    )
    assert first.interest == Money.of("1.95", "EUR")  # 1000 × 10.15 % × 7 / 365 = 1.946
    second = notice_for(case(True), policy, terms, [first], DUE + timedelta(21), AT)
    assert second is not None
    assert second.compensation == Money.of(0, "EUR")
    assert second.interest == Money.of("3.89", "EUR")  # 14 more days: 3.893
    entry = notice_claimed(first)
    assert entry is not None
    assert sorted((p.account, p.units.amount) for p in entry.postings)[:2] == [
        (f"Assets:Receivable:LatePayment:C{first.account_id.hex.upper()}", Decimal("41.95")),
        ("Income:LatePayment:Compensation", Decimal("-40.00")),
    ]


def test_a_consumer_pays_the_schedule_s_fee_only() -> None:
    notice = notice_for(
        case(False),
        POLICY,
        LatePaymentTerms(),
        [sent(1, DUE + timedelta(7))],
        DUE + timedelta(21),
        AT,
    )
    assert notice is not None
    assert (notice.fee, notice.compensation, notice.interest) == (
        Money.of("5.00", "EUR"),
        Money.of(0, "EUR"),
        Money.of(0, "EUR"),
    )
    assert not notice.blocks_tokens
    final = notice_for(
        case(False),
        POLICY,
        LatePaymentTerms(),
        [sent(1, DUE), sent(2, DUE + timedelta(14))],
        DUE + timedelta(35),
        AT,
    )
    assert final is not None
    assert (final.final, final.blocks_tokens) == (True, True)


def test_tokens_are_blocked_while_a_blocking_invoice_is_open_and_undisputed() -> None:
    history = [sent(3, DUE + timedelta(35), blocks=True)]
    assert blocks_account({INVOICE: history}, {INVOICE})
    assert not blocks_account({INVOICE: history}, set())  # paid, credited or written off
    disputed = [*history, dispute(DunningEventKind.DISPUTED, AT + timedelta(days=60))]
    assert not blocks_account({INVOICE: disputed}, {INVOICE})
    assert not blocks_account({INVOICE: [sent(2, DUE + timedelta(21))]}, {INVOICE})
