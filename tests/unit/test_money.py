"""Money and currencies: DESIGN §2 says money is an exact Decimal with a currency, never a
float, rounded only at named points. These tests pin the rules every later module (pricing,
invoicing, the ledger, PSP amounts) relies on."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargeledger.errors import CurrencyMismatchError, InvalidInputError
from chargeledger.money import Currency, Money, Rounding

EUR = Currency.of("EUR")
JPY = Currency.of("JPY")
KWD = Currency.of("KWD")

# --- strategies --------------------------------------------------------------------------

currencies = st.sampled_from([Currency.of(code) for code in ("EUR", "JPY", "KWD", "CLF")])
# Bounded so every sum stays far inside the default 28-digit Decimal context: within it
# Decimal addition is exact, which is what the algebraic properties below are about.
amounts = st.decimals(
    min_value=Decimal("-1000000000"),
    max_value=Decimal("1000000000"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)
non_negative_amounts = st.decimals(
    min_value=Decimal(0),
    max_value=Decimal("1000000000"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)
ratios = st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(
    lambda r: sum(r) > 0
)


# --- Currency.of -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "minor_units"),
    [
        ("EUR", 2),
        ("USD", 2),
        ("GBP", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("CLF", 4),
    ],
)
def test_currency_of_knows_the_minor_units(code: str, minor_units: int) -> None:
    """Minor units decide PSP amounts and invoice rounding, so they must match ISO 4217."""
    currency = Currency.of(code)
    assert currency.code == code
    assert currency.minor_units == minor_units
    assert currency.quantum == Decimal(1).scaleb(-minor_units)


@pytest.mark.parametrize("spelling", ["eur", "Eur", " EUR ", "eur\n"])
def test_currency_of_normalises_case_and_whitespace(spelling: str) -> None:
    """Codes arrive from forms and CSV files in any case; they are one currency."""
    assert Currency.of(spelling) == EUR


@pytest.mark.parametrize("code", ["XXX", "EURO", "EU", "", "XAU", "BTC", None, 978])
def test_currency_of_refuses_unknown_codes(code: object) -> None:
    """An unknown code (or a numeric one, or a precious metal) is refused with a stable
    code instead of guessing its minor units."""
    with pytest.raises(InvalidInputError) as info:
        Currency.of(code)  # type: ignore[arg-type]
    assert info.value.code == "unknown_currency"
    assert info.value.field == "currency"


def test_currency_prints_as_its_code() -> None:
    assert str(KWD) == "KWD"


# --- arithmetic --------------------------------------------------------------------------


def test_arithmetic_keeps_full_precision() -> None:
    """A per-kWh price times energy carries more digits than the currency has; nothing is
    rounded until a named point asks for it."""
    price = Money.of("0.4567", "EUR")
    assert price + Money.of("1.10", "EUR") == Money.of("1.5567", "EUR")
    assert price - Money.of("1", "EUR") == Money.of("-0.5433", "EUR")
    assert price * Decimal("12.345") == Money.of("5.63796150", "EUR")
    assert 3 * price == Money.of("1.3701", "EUR")
    assert -price == Money.of("-0.4567", "EUR")
    assert abs(Money.of("-2.5", "EUR")) == Money.of("2.5", "EUR")


def test_predicates_and_string_form() -> None:
    assert Money.zero("EUR").is_zero
    assert not Money.zero("EUR")
    assert Money.of("0.01", "EUR")
    assert Money.of("-0.01", "EUR").is_negative
    assert not Money.of("0", "EUR").is_negative
    assert str(Money.of("12.50", "EUR")) == "12.50 EUR"


def test_ordering_within_one_currency() -> None:
    small, large = Money.of("1.00", "EUR"), Money.of("1.01", "EUR")
    assert small < large
    assert large > small
    assert small <= Money.of("1", "EUR")
    assert large >= small
    assert max(small, large) == large


def test_equal_amounts_of_different_currencies_are_not_equal() -> None:
    """Equality never raises (dict keys, sets), but 1 EUR is not 1 USD."""
    assert Money.of(1, "EUR") != Money.of(1, "USD")


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda a, b: a + b, id="add"),
        pytest.param(lambda a, b: a - b, id="subtract"),
        pytest.param(lambda a, b: a < b, id="less-than"),
        pytest.param(lambda a, b: a > b, id="greater-than"),
        pytest.param(lambda a, b: a <= b, id="less-or-equal"),
        pytest.param(lambda a, b: a >= b, id="greater-or-equal"),
    ],
)
def test_mixing_currencies_is_refused(operation: Callable[[Money, Money], object]) -> None:
    """Two currencies are never silently converted or compared (DESIGN §2)."""
    with pytest.raises(CurrencyMismatchError) as info:
        operation(Money.of(1, "EUR"), Money.of(1, "USD"))
    assert info.value.code == "currency_mismatch"
    assert info.value.details == {"left": "EUR", "right": "USD"}


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda m: m + 1, id="add-int"),
        pytest.param(lambda m: m - Decimal(1), id="subtract-decimal"),
        pytest.param(lambda m: m * m, id="money-times-money"),
    ],
)
def test_money_does_not_combine_with_bare_numbers(operation: Callable[[Money], object]) -> None:
    """A bare number has no currency; adding one would be a silent assumption."""
    with pytest.raises(TypeError):
        operation(Money.of(1, "EUR"))


# --- exact inputs only -------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        # Floats are what the type hints forbid and what callers will still try.
        pytest.param(lambda: Money.of(0.1, "EUR"), id="of-float"),  # type: ignore[arg-type]
        pytest.param(lambda: Money(0.1, EUR), id="constructor-float"),  # type: ignore[arg-type]
        pytest.param(lambda: Money.of(True, "EUR"), id="of-bool"),
        pytest.param(lambda: Money.of("1", "EUR") * 1.5, id="times-float"),  # type: ignore[operator]
        pytest.param(
            lambda: Money.of("1", "EUR").allocate([0.5, 0.5]),  # type: ignore[list-item]
            id="float-ratios",
        ),
        pytest.param(lambda: Money.of("twelve", "EUR"), id="not-a-number"),
    ],
)
def test_floats_and_garbage_are_refused(build: Callable[[], object]) -> None:
    """0.1 as a float is 0.1000000000000000055...; money must never start inexact."""
    with pytest.raises(InvalidInputError) as info:
        build()
    assert info.value.code == "invalid_amount"


@pytest.mark.parametrize("value", ["NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "inf"])
def test_non_finite_amounts_are_refused(value: str) -> None:
    """NaN and Infinity are Decimals too, but no invoice can carry them."""
    with pytest.raises(InvalidInputError) as info:
        Money.of(value, "EUR")
    assert info.value.code == "invalid_amount"
    with pytest.raises(InvalidInputError) as info:
        Money(Decimal(value), EUR)
    assert info.value.code == "invalid_amount"


def test_exact_inputs_are_accepted() -> None:
    assert Money.of("12.34", "EUR").amount == Decimal("12.34")
    assert Money.of(12, "EUR").amount == Decimal(12)
    assert Money.of(Decimal("0.001"), KWD).amount == Decimal("0.001")


# --- rounding ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "rounding", "expected"),
    [
        # Half-up: ties go away from zero, on both sides of zero.
        ("2.345", "EUR", Rounding.HALF_UP, "2.35"),
        ("-2.345", "EUR", Rounding.HALF_UP, "-2.35"),
        ("2.3449", "EUR", Rounding.HALF_UP, "2.34"),
        ("0.005", "EUR", Rounding.HALF_UP, "0.01"),
        ("-0.005", "EUR", Rounding.HALF_UP, "-0.01"),
        # Half-even: ties go to the even neighbour.
        ("2.345", "EUR", Rounding.HALF_EVEN, "2.34"),
        ("2.355", "EUR", Rounding.HALF_EVEN, "2.36"),
        ("-2.345", "EUR", Rounding.HALF_EVEN, "-2.34"),
        ("-2.355", "EUR", Rounding.HALF_EVEN, "-2.36"),
        ("2.3451", "EUR", Rounding.HALF_EVEN, "2.35"),
        # Down: towards zero, never charge more than computed.
        ("2.345", "EUR", Rounding.DOWN, "2.34"),
        ("2.349", "EUR", Rounding.DOWN, "2.34"),
        ("-2.345", "EUR", Rounding.DOWN, "-2.34"),
        ("-2.349", "EUR", Rounding.DOWN, "-2.34"),
        # Up: away from zero.
        ("2.345", "EUR", Rounding.UP, "2.35"),
        ("2.341", "EUR", Rounding.UP, "2.35"),
        ("-2.345", "EUR", Rounding.UP, "-2.35"),
        ("-2.341", "EUR", Rounding.UP, "-2.35"),
        # Other minor units.
        ("0.5", "JPY", Rounding.HALF_UP, "1"),
        ("-0.5", "JPY", Rounding.HALF_UP, "-1"),
        ("2.5", "JPY", Rounding.HALF_EVEN, "2"),
        ("3.5", "JPY", Rounding.HALF_EVEN, "4"),
        ("1.2345", "KWD", Rounding.HALF_UP, "1.235"),
        ("1.2345", "KWD", Rounding.HALF_EVEN, "1.234"),
        ("-1.2345", "KWD", Rounding.DOWN, "-1.234"),
        ("-1.2341", "KWD", Rounding.UP, "-1.235"),
        # Already exact amounts gain the currency's scale and nothing else.
        ("7", "EUR", Rounding.UP, "7.00"),
    ],
)
def test_round_with_each_named_rule(
    amount: str, currency: str, rounding: Rounding, expected: str
) -> None:
    """Each rule is named for where it is used; the string form checks the scale too."""
    rounded = Money.of(amount, currency).round(rounding)
    assert str(rounded.amount) == expected
    assert rounded.currency == Currency.of(currency)


def test_round_defaults_to_half_up() -> None:
    """DESIGN §2: half-up unless a currency or law says otherwise."""
    assert Money.of("0.125", "EUR").round() == Money.of("0.13", "EUR")


# --- minor units -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        ("12.345", "EUR", 1235),
        ("-12.345", "EUR", -1235),
        ("0.01", "EUR", 1),
        ("1500", "JPY", 1500),
        ("1.2345", "KWD", 1235),
        ("0", "EUR", 0),
    ],
)
def test_to_minor_units(amount: str, currency: str, units: int) -> None:
    """PSPs take integer minor units; the default rounding is half-up."""
    assert Money.of(amount, currency).to_minor_units() == units


def test_to_minor_units_honours_the_rounding() -> None:
    assert Money.of("12.349", "EUR").to_minor_units(Rounding.DOWN) == 1234
    assert Money.of("12.341", "EUR").to_minor_units(Rounding.UP) == 1235


@pytest.mark.parametrize(
    ("units", "currency", "amount"),
    [(1235, "EUR", "12.35"), (-5, "EUR", "-0.05"), (1500, "JPY", "1500"), (1, "KWD", "0.001")],
)
def test_from_minor_units(units: int, currency: str, amount: str) -> None:
    money = Money.from_minor_units(units, currency)
    assert str(money.amount) == amount
    assert money.currency == Currency.of(currency)


@given(
    units=st.integers(min_value=-(10**15), max_value=10**15),
    currency=currencies,
)
def test_minor_units_round_trip(units: int, currency: Currency) -> None:
    """A PSP amount read back into Money and sent again is the same integer."""
    assert Money.from_minor_units(units, currency).to_minor_units() == units


@given(amount=amounts, currency=currencies, rounding=st.sampled_from(Rounding))
def test_minor_units_agree_with_round(
    amount: Decimal, currency: Currency, rounding: Rounding
) -> None:
    """Converting to minor units and back is the same as rounding with the same rule."""
    money = Money(amount, currency)
    units = money.to_minor_units(rounding)
    assert Money.from_minor_units(units, currency) == money.round(rounding)


# --- properties --------------------------------------------------------------------------


@given(a=amounts, b=amounts, c=amounts, currency=currencies)
def test_addition_is_commutative_and_associative(
    a: Decimal, b: Decimal, c: Decimal, currency: Currency
) -> None:
    """Summing invoice lines in any order must give the same total."""
    x, y, z = Money(a, currency), Money(b, currency), Money(c, currency)
    assert x + y == y + x
    assert (x + y) + z == x + (y + z)
    assert x - x == Money.zero(currency)


@given(amount=amounts, currency=currencies, rounding=st.sampled_from(Rounding))
def test_round_is_idempotent(amount: Decimal, currency: Currency, rounding: Rounding) -> None:
    """Rounding twice at two named points must not drift the amount."""
    once = Money(amount, currency).round(rounding)
    assert once.round(rounding) == once
    assert once.amount.as_tuple().exponent == -currency.minor_units
    assert abs(once.amount - amount) < currency.quantum


def _exact_shares(total: Money, weights: list[int]) -> list[Decimal]:
    rounded = total.round().amount
    return [rounded * Decimal(w) / Decimal(sum(weights)) for w in weights]


@given(amount=non_negative_amounts, currency=currencies, weights=ratios)
def test_allocate_sums_exactly_and_stays_within_one_minor_unit(
    amount: Decimal, currency: Currency, weights: list[int]
) -> None:
    """Splitting one rounded total (VAT per line, revenue per component) must neither create
    nor lose a cent, and no part may be a whole minor unit away from its fair share."""
    total = Money(amount, currency)
    parts = total.allocate(weights)
    assert len(parts) == len(weights)
    assert all(part.currency == currency for part in parts)
    assert sum((part.amount for part in parts), Decimal(0)) == total.round().amount
    for part, share in zip(parts, _exact_shares(total, weights), strict=True):
        assert abs(part.amount - share) < currency.quantum
        assert part.amount.as_tuple().exponent == -currency.minor_units


@given(amount=amounts, currency=currencies, weights=ratios)
def test_allocate_always_sums_to_the_rounded_total(
    amount: Decimal, currency: Currency, weights: list[int]
) -> None:
    """The sum invariant holds for credit notes (negative totals) as well."""
    total = Money(amount, currency)
    parts = total.allocate(weights)
    assert sum((part.amount for part in parts), Decimal(0)) == total.round().amount


@pytest.mark.parametrize(
    ("amount", "weights"),
    [("-0.02", [2, 1, 1]), ("-0.01", [1, 2]), ("-1.00", [3, 1, 1, 1])],
)
def test_allocate_negative_totals_stay_within_one_minor_unit(
    amount: str, weights: list[int]
) -> None:
    """A credit note split over components must mirror the invoice it corrects: the
    allocation of -x is the negation of the allocation of x, and every part stays within
    one minor unit of its exact share."""
    total = Money.of(amount, "EUR")
    parts = total.allocate(weights)
    for part, share in zip(parts, _exact_shares(total, weights), strict=True):
        assert abs(part.amount - share) < EUR.quantum
    assert parts == [-part for part in (-total).allocate(weights)]


@pytest.mark.parametrize("weights", [[], [0, 0], [1, -1]])
def test_allocate_refuses_meaningless_ratios(weights: list[int]) -> None:
    with pytest.raises(InvalidInputError):
        Money.of("1.00", "EUR").allocate(weights)
