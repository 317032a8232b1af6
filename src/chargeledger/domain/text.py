"""The text we store and the text we print.

Stored text comes in two kinds, with one line between them (issue 11 item 6, DESIGN §2
"No card data"):

- *Free text* a person types (names, labels, reasons, notes, addresses, e-mails, references):
  ``required_text``/``optional_text`` refuse anything holding a card number
  (``card_data_refused``): a clerk pasting a card into a note must not put it in the database.
- *Identifiers* a protocol or a device defines (OCPP charge point ids, RFID idTags / token
  uids, EVSE ids and OCPI evse_uids, serial numbers, meter serials, public keys, OCPP message
  and transaction ids): ``required_identifier``/``optional_identifier`` check presence and
  length only. They are often long digit strings, a tenth of which pass the Luhn check by
  chance; refusing them would refuse real hardware, and they are not where people type cards.

Numbers in text (ledger narrations, invoice and receipt lines, price displays and explanations,
CLI and demo output, exports) are plain decimals: never an exponent (``Decimal("2E+1")`` is
``20``, not ``2E+1``), never trailing noise (``20.000`` kWh is ``20 kWh``, 28-digit quotients
are rounded to what the unit can mean), never ``-0``. The convention:

- a quantity is rounded half-up to its unit's resolution (kWh to the Wh, hours to 4 decimals as
  OCPI 2.2.1 §16.4 numbers, seconds to the ms) and printed without trailing zeros:
  ``20 kWh``, ``12.345 kWh``, ``1.0667 h``;
- money is rounded half-up to the currency's minor units (DESIGN §2) and always shows them:
  ``1234.50 EUR`` (printed documents group the thousands: ``1,234.50 EUR``; terminal output
  does not, so a figure can be pasted into a spreadsheet);
- an exact amount (an OCPI total, an export) keeps every digit it has but shows at least the
  minor units: ``0.125``, ``5.00``; a price per unit keeps up to 4 decimals (OCPI 2.2.1
  §16.4): ``0.595 EUR``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

from chargeledger.domain.card_data import refuse_card_data
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency, plain_decimal

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


UNIT_PRICE_PLACES = 4


def required_text(value: str, field: str, max_length: int = 200) -> str:
    """Trimmed, non-empty free text of bounded length that holds no card number."""
    text = required_identifier(value, field, max_length)
    refuse_card_data(text, field)
    return text


def optional_text(value: str | None, field: str, max_length: int = 200) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return required_text(value, field, max_length)


def required_identifier(value: str, field: str, max_length: int = 200) -> str:
    """A trimmed, non-empty identifier of bounded length (not checked for card numbers)."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidInputError(f"{field} must not be empty", code="missing_field", field=field)
    if len(text) > max_length:
        raise InvalidInputError(
            f"{field} is longer than {max_length} characters", code="too_long", field=field
        )
    return text


def optional_identifier(value: str | None, field: str, max_length: int = 200) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return required_identifier(value, field, max_length)


def plain_number(value: Decimal | int, places: int | None = None) -> str:
    """``value`` in plain decimal notation without trailing zeros, rounded half-up to at most
    ``places`` decimals when given: ``2E+1`` → ``20``, ``1.500`` → ``1.5``, ``-0`` → ``0``."""
    number = Decimal(value)
    return plain_decimal(number if places is None else _rounded(number, places))


def quantity_text(value: Decimal | int, unit: str) -> str:
    """A quantity and its unit, at the unit's resolution (:data:`UNIT_DECIMALS`): ``20 kWh``."""
    return f"{plain_number(value, UNIT_DECIMALS.get(unit))} {unit}"


def money_text(amount: Decimal, currency: str, *, grouped: bool = False) -> str:
    """``1234.50 EUR``: rounded half-up to the currency's minor units, with its ISO code;
    ``grouped`` (printed documents) separates thousands: ``1,234.50 EUR``."""
    unit = Currency.of(currency)
    return f"{money_figure(amount, unit.code, grouped=grouped)} {unit.code}"


def money_figure(amount: Decimal, currency: str, *, grouped: bool = False) -> str:
    """``1234.50``: an amount in a column or sentence that names the currency already."""
    places = Currency.of(currency).minor_units
    number = _rounded(amount, places)
    separator = "," if grouped else ""
    return f"{number.copy_abs() if number == 0 else number:{separator}.{places}f}"


def exact_amount(amount: Decimal, currency: str, places: int | None = None) -> str:
    """An amount as computed, with at least the currency's minor units and without trailing
    zeros beyond them: ``0.125``, ``10.50``. Nothing is rounded unless ``places`` is given
    (then half-up to that many decimals): for OCPI totals, explanations and exports."""
    minor = Currency.of(currency).minor_units
    number = amount if places is None else _rounded(amount, max(places, minor))
    return plain_decimal(number, minor)


def unit_price_text(price: Decimal, currency: str) -> str:
    """A price per unit (kWh, hour, session) with its currency code, as exact as OCPI 2.2.1
    §16.4 numbers (at most 4 decimals, half-up) and at least the minor units: ``0.595 EUR``,
    ``6.00 EUR``; a price incl. VAT of 0.595 × 1.19 reads ``0.7081 EUR``."""
    code = Currency.of(currency).code
    return f"{exact_amount(price, code, UNIT_PRICE_PLACES)} {code}"


def percent_text(rate: Decimal) -> str:
    """A VAT or other rate in percent as written: ``19``, ``5.5``, ``7.7``."""
    return plain_number(rate)


def _rounded(number: Decimal, places: int) -> Decimal:
    """``number`` rounded half-up to ``places`` decimals, in a context wide enough that
    quantize never fails or rounds elsewhere."""
    if not number.is_finite():
        raise InvalidInputError(f"{number} is not a number", code="invalid_number")
    with localcontext() as context:
        context.prec = len(number.as_tuple().digits) + abs(number.adjusted()) + places + 2
        return number.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
