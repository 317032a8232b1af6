"""The wallet rules of ``domain.wallets``, table-driven: which minimum applies, who may set
what, where the next meter value is projected, and when a session must stop."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chargeledger.domain.wallets import (
    CreditCheck,
    WalletSettings,
    check_own_minimum,
    next_reading,
)
from chargeledger.errors import InvalidInputError

D = Decimal
ACCOUNT = uuid.UUID(int=7)
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
DEFAULT = D("5.00")


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("floor", "own", "effective"),
    [
        (None, None, D("5.00")),  # the operator-wide default
        (None, D("12.00"), D("12.00")),  # the driver raised it
        (D("20.00"), D("12.00"), D("20.00")),  # finance raised the floor above it since
        (D("0.00"), None, D("0.00")),  # a trusted account
        (D("2.00"), D("3.00"), D("3.00")),
    ],
)
def test_the_higher_of_floor_and_own_minimum_applies(
    floor: Decimal | None, own: Decimal | None, effective: Decimal
) -> None:
    settings = WalletSettings(ACCOUNT, "EUR", minimum_balance=own, floor=floor)
    assert settings.effective_minimum(DEFAULT) == effective
    assert settings.floor_or(DEFAULT) == (DEFAULT if floor is None else floor)


@pytest.mark.parametrize(
    ("floor", "own", "allowed"),
    [
        (None, None, True),
        (None, D("5.00"), True),
        (None, D("4.99"), False),
        (None, D("0"), False),
        (D("0"), D("0"), True),
        (D("30.00"), D("25.00"), False),
    ],
)
def test_an_own_minimum_is_never_under_the_floor(
    floor: Decimal | None, own: Decimal | None, allowed: bool
) -> None:
    settings = WalletSettings(ACCOUNT, "EUR", minimum_balance=own, floor=floor)
    if allowed:
        check_own_minimum(settings, DEFAULT)
        return
    with pytest.raises(InvalidInputError) as caught:
        check_own_minimum(settings, DEFAULT)
    assert (caught.value.code, caught.value.field) == ("minimum_below_floor", "minimum_balance")


@pytest.mark.parametrize(
    "bad",
    [
        {"minimum_balance": D(-1)},
        {"minimum_balance": D("1e20")},
        {"minimum_balance": D("5.001")},
        {"floor": D("-0.01")},
        {"floor": D("10000.01")},
        {"top_up_below": D("-0.01")},
        {"top_up_amount": D(0)},
        {"top_up_amount": D("500.01")},
    ],
)
def test_wallet_limits_are_bounded_amounts(bad: dict[str, Decimal]) -> None:
    with pytest.raises(InvalidInputError) as caught:
        WalletSettings(ACCOUNT, "EUR", **bad)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_wallet_settings"
    assert caught.value.field == next(iter(bad))


def test_yen_wallets_are_in_whole_yen() -> None:
    WalletSettings(ACCOUNT, "JPY", floor=D(500), top_up_amount=D(100))
    with pytest.raises(InvalidInputError):
        WalletSettings(ACCOUNT, "JPY", floor=D("500.5"))


@pytest.mark.parametrize(
    ("readings", "expected"),
    [
        ([], None),  # no meter value yet: no power known
        ([(at(0), D(10_000))], None),  # Transaction.Begin at the start only
        ([(at(600), D(13_000))], (at(1200), D(16_000))),
        ([(at(600), D(11_000)), (at(1200), D(20_000))], (at(1800), D(29_000))),
        # replayed out of order: station time decides
        ([(at(1200), D(20_000)), (at(600), D(11_000))], (at(1800), D(29_000))),
        # a duplicate reading of the same instant does not shorten the interval
        (
            [(at(600), D(13_000)), (at(1200), D(16_000)), (at(1200), D(16_000))],
            (at(1800), D(19_000)),
        ),
        # suspended (no power): the clock runs on, the register does not
        ([(at(600), D(13_000)), (at(1200), D(13_000))], (at(1800), D(13_000))),
        # a register that ran backwards projects no negative energy
        ([(at(600), D(13_000)), (at(1200), D(12_000))], (at(1800), D(12_000))),
        # readings before the start (clock skew) are ignored
        ([(at(-60), D(9_000)), (at(300), D(11_000))], (at(600), D(12_000))),
    ],
)
def test_the_next_meter_value_repeats_the_last_interval(
    readings: list[tuple[datetime, Decimal]], expected: tuple[datetime, Decimal] | None
) -> None:
    assert next_reading((at(0), D(10_000)), readings) == expected


@pytest.mark.parametrize(
    ("balance", "minimum", "committed", "ahead", "affordable"),
    [
        (D(30), D(25), D(0), D("3.9151"), True),
        (D(30), D(25), D(0), D("5.00"), True),  # exactly down to the minimum
        (D(30), D(25), D(0), D("5.6644"), False),
        (D(30), D(25), D("3.9151"), D("3.9151"), False),  # another session shares the credit
        (D(30), D(40), D(0), D(0), False),  # already below the minimum at the start
        (D(25), D(25), D(0), D(0), True),  # at the minimum: nothing spent yet
    ],
)
def test_a_session_may_go_on_while_its_next_meter_value_is_paid_for(
    balance: Decimal, minimum: Decimal, committed: Decimal, ahead: Decimal, affordable: bool
) -> None:
    check = CreditCheck(balance, minimum, committed, live=D(0), ahead=ahead)
    assert check.available == balance - minimum - committed
    assert check.affordable is affordable
