"""Human text: small checks on free text shared by the catalog entities, and the one way
numbers read in every text we print.

Numbers in text (ledger narrations, invoice and receipt lines, price displays and explanations,
CLI and demo output, exports) are plain decimals: never an exponent (``Decimal("2E+1")`` is
``20``, not ``2E+1``), never trailing noise (``20.000`` kWh is ``20 kWh``, 28-digit quotients
are rounded to what the unit can mean), never ``-0``. The convention:

- a quantity is rounded half-up to its unit's resolution (kWh to the Wh, hours to 4 decimals as
  OCPI 2.2.1 §16.4 numbers, seconds to the ms) and printed without trailing zeros:
  ``20 kWh``, ``12.345 kWh``, ``1.0667 h``;
- money is rounded half-up to the currency's minor units (DESIGN §2) and always shows them:
  ``1,234.50 EUR``; an exact amount (a unit price, an OCPI total, an export) keeps every digit
  it has but shows at least the minor units: ``0.595``, ``5.00``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency

# Decimals each unit is printed with at most: its meaningful resolution.
UNIT_DECIMALS = {
    "kWh": 3,  # the Wh, a meter's resolution
    "Wh": 3,
    "h": 4,  # 0.36 s; OCPI 2.2.1 §16.4 numbers carry 4 decimals
    "min": 2,
    "s": 3,  # the ms, the resolution of an OCPI DateTime (§16.2)
    "kW": 3,
    "W": 1,
    "A": 2,
    "%": 2,
}


def required_text(value: str, field: str, max_length: int = 200) -> str:
    """Trimmed, non-empty text of bounded length."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidInputError(f"{field} must not be empty", code="missing_field", field=field)
    if len(text) > max_length:
        raise InvalidInputError(
            f"{field} is longer than {max_length} characters", code="too_long", field=field
        )
    return text


def optional_text(value: str | None, field: str, max_length: int = 200) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return required_text(value, field, max_length)


def plain_number(value: Decimal | int, places: int | None = None) -> str:
    """``value`` in plain decimal notation without trailing zeros, rounded half-up to at most
    ``places`` decimals when given: ``2E+1`` → ``20``, ``1.500`` → ``1.5``, ``-0`` → ``0``."""
    number = _rounded(Decimal(value), places)
    if number == 0:
        return "0"
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def quantity_text(value: Decimal | int, unit: str) -> str:
    """A quantity and its unit, at the unit's resolution (:data:`UNIT_DECIMALS`): ``20 kWh``."""
    return f"{plain_number(value, UNIT_DECIMALS.get(unit))} {unit}"


def money_text(amount: Decimal, currency: str) -> str:
    """``1,234.50 EUR``: rounded half-up to the currency's minor units, with its ISO code."""
    unit = Currency.of(currency)
    return f"{money_figure(amount, unit.code)} {unit.code}"


def money_figure(amount: Decimal, currency: str) -> str:
    """``1,234.50``: an amount in a column or sentence that names the currency already."""
    places = Currency.of(currency).minor_units
    number = _rounded(amount, places)
    return f"{number.copy_abs() if number == 0 else number:,.{places}f}"


def exact_amount(amount: Decimal, currency: str) -> str:
    """An amount exactly as computed, with at least the currency's minor units and without
    trailing zeros beyond them: ``0.595`` (a price per kWh), ``10.50``, ``5.125``. Nothing is
    rounded; for unit prices, OCPI totals and exports."""
    places = Currency.of(currency).minor_units
    number = _rounded(amount, None)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -places:
        number = _rounded(number, places)  # only adds zeros: it has fewer decimals
    return format(number.copy_abs() if number == 0 else number, "f")


def _rounded(number: Decimal, places: int | None) -> Decimal:
    """``number`` rounded half-up to ``places`` decimals (unchanged when None), in a context
    wide enough that quantize never fails or rounds elsewhere."""
    if not number.is_finite():
        raise InvalidInputError(f"{number} is not a number", code="invalid_number")
    with localcontext() as context:
        digits = len(number.as_tuple().digits)
        context.prec = max(context.prec, digits + abs(number.adjusted()) + (places or 0) + 2)
        if places is not None:
            number = number.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        return number.normalize() if places is None else number
