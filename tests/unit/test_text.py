"""Issue 11 item 15: the one way numbers read in human text (``chargeledger.domain.text``):
plain decimals, no exponent, no trailing noise, quantities at their unit's resolution, money at
the currency's minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargeledger.domain.text import (
    exact_amount,
    money_figure,
    money_text,
    plain_number,
    quantity_text,
)
from chargeledger.errors import InvalidInputError
from chargeledger.money import Money


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        ("20", "kWh", "20 kWh"),
        ("2E+1", "kWh", "20 kWh"),  # what Decimal("20.000").normalize() is
        ("20.000", "kWh", "20 kWh"),
        ("12.3456", "kWh", "12.346 kWh"),
        ("0.0004", "kWh", "0 kWh"),
        ("-0.000", "kWh", "0 kWh"),
        ("1.066666666666666666666666667", "h", "1.0667 h"),
        ("3.9E+3", "s", "3900 s"),
        ("2280.001", "s", "2280.001 s"),
        ("1E+5", "Wh", "100000 Wh"),
        ("7.5", "kW", "7.5 kW"),
        ("19", "%", "19 %"),
        ("5", "furlongs", "5 furlongs"),
    ],
)
def test_quantities_print_plain_at_their_resolution(value: str, unit: str, text: str) -> None:
    assert quantity_text(Decimal(value), unit) == text


@pytest.mark.parametrize(
    ("amount", "currency", "text", "figure", "exact"),
    [
        ("5", "EUR", "5.00 EUR", "5.00", "5.00"),
        ("1234.5", "EUR", "1234.50 EUR", "1234.50", "1234.50"),
        ("4.997", "EUR", "5.00 EUR", "5.00", "4.997"),
        ("0.125", "EUR", "0.13 EUR", "0.13", "0.125"),
        ("-0.004", "EUR", "0.00 EUR", "0.00", "-0.004"),
        ("0E-2", "EUR", "0.00 EUR", "0.00", "0.00"),
        ("-0", "EUR", "0.00 EUR", "0.00", "0.00"),
        ("-12.5", "EUR", "-12.50 EUR", "-12.50", "-12.50"),
        ("2E+3", "JPY", "2000 JPY", "2000", "2000"),
        ("1.2345", "KWD", "1.235 KWD", "1.235", "1.2345"),
        ("9.000000000000000000000000000", "EUR", "9.00 EUR", "9.00", "9.00"),
    ],
)
def test_money_prints_the_minor_units(
    amount: str, currency: str, text: str, figure: str, exact: str
) -> None:
    value = Decimal(amount)
    assert money_text(value, currency) == text
    assert money_figure(value, currency) == figure
    assert exact_amount(value, currency) == exact


def test_printed_documents_group_the_thousands() -> None:
    assert money_text(Decimal("1234567.5"), "EUR", grouped=True) == "1,234,567.50 EUR"
    assert money_figure(Decimal("-1234.5"), "EUR", grouped=True) == "-1,234.50"


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_a_plain_number_is_the_same_number_without_an_exponent(value: Decimal) -> None:
    text = plain_number(value)
    assert "E" not in text.upper()
    assert Decimal(text) == value
    assert text == "0" or not text.endswith(("0", ".")) or "." not in text


def test_not_a_number_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        plain_number(Decimal("NaN"))
    with pytest.raises(InvalidInputError):
        exact_amount(Decimal("Infinity"), "EUR")


def test_money_reads_plainly_too() -> None:
    """``Money.from_minor_units(0, "EUR")`` holds ``0E-2``: it prints ``0.00 EUR``."""
    assert str(Money.from_minor_units(0, "EUR")) == "0.00 EUR"
    assert str(Money.of("0.125", "EUR")) == "0.125 EUR"
    assert str(Money.of("2E+3", "JPY")) == "2000 JPY"
