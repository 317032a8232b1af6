"""Money: a ``Decimal`` amount in an ISO 4217 currency, never a float.

DESIGN §2: money is Decimal with a currency; round only at named points, half-up unless a
currency or law says otherwise. Arithmetic between two currencies is refused, not converted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    InvalidOperation,
    localcontext,
)
from enum import Enum
from functools import total_ordering

from chargeledger.currencies import MINOR_UNITS
from chargeledger.errors import CurrencyMismatchError, InvalidInputError


class Rounding(Enum):
    """The rounding rules we allow, each named for where it is used."""

    HALF_UP = ROUND_HALF_UP  # default for invoice lines and PSP amounts (DESIGN §2)
    HALF_EVEN = ROUND_HALF_EVEN  # banker's rounding, where a law or partner demands it
    DOWN = ROUND_DOWN  # towards zero: never charge more than computed
    UP = ROUND_UP  # away from zero: step-size style rounding


class Currency(str):
    """An ISO 4217 currency code that knows its minor units (EUR: 2, JPY: 0, KWD: 3).

    It *is* its code, a ``str``: it compares, hashes, prints and serialises as ``"EUR"``, so a
    record holding a ``Currency`` writes the same JSON, rows and exports as one holding the bare
    code did; but only a checked code becomes one (``unknown_currency`` otherwise), so a domain
    field typed ``Currency`` never holds a typo. A ``Currency`` goes wherever a ``str`` is read.
    Records that hold one pass what they are given through :meth:`of` as they are made, as
    they do with their enums, so a code read from a row or typed in a test is checked too.
    """

    __slots__ = ()

    def __new__(cls, code: str) -> Currency:
        normalised = code.strip().upper() if isinstance(code, str) else ""
        if normalised not in MINOR_UNITS:
            raise InvalidInputError(
                f"{code!r} is not an ISO 4217 currency code",
                code="unknown_currency",
                field="currency",
            )
        return super().__new__(cls, normalised)

    @classmethod
    def of(cls, code: str) -> Currency:
        """Look up an ISO 4217 code (trimmed, any case); unknown codes raise
        ``unknown_currency``. A ``Currency`` is returned as it is."""
        return code if isinstance(code, Currency) else cls(code)

    @property
    def code(self) -> str:
        """The bare ISO code, a plain ``str``."""
        return str(self)

    @property
    def minor_units(self) -> int:
        return MINOR_UNITS[self]

    @property
    def quantum(self) -> Decimal:
        """The smallest unit as a Decimal exponent, e.g. ``Decimal("0.01")`` for EUR (one
        shared immutable Decimal per currency: it is asked for on every rounding)."""
        return _QUANTA[self]


_QUANTA = {code: Decimal(1).scaleb(-units) for code, units in MINOR_UNITS.items()}


def plain_decimal(value: Decimal, min_places: int = 0) -> str:
    """``value`` exactly, in plain decimal notation: never an exponent (``Decimal("2E+1")`` is
    ``20``, ``Money.from_minor_units(0, "EUR")`` is ``0.00``, not ``0E-2``), no trailing zeros
    beyond ``min_places`` decimals, no ``-0``. The one way a number becomes text; the human
    formats in :mod:`chargeledger.domain.text` round first, then call this."""
    if not value.is_finite():
        raise InvalidInputError(f"{value} is not a number", code="invalid_number")
    with localcontext() as context:
        # Wide enough that normalize and quantize neither fail nor round.
        context.prec = len(value.as_tuple().digits) + abs(value.adjusted()) + min_places + 2
        number = value.normalize()
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent > -min_places:
            number = number.quantize(Decimal(1).scaleb(-min_places))
    return format(number.copy_abs() if number == 0 else number, "f")


# No single amount a client sends (a refund, a top-up, a wallet limit, a credit) is larger: a
# first fence that keeps every input far inside the stored columns (14 integer digits) and the
# decimal context (28 digits), where ``quantize`` would raise instead of answering.
MAX_AMOUNT = Decimal(1_000_000_000)

# The one zero amount every module compares and sums with (exact ``Decimal``, never a float).
ZERO = Decimal(0)


def within_minor_units(amount: Decimal, currency: Currency) -> bool:
    """True when ``amount`` has no more decimals than ``currency`` (trailing zeros aside).

    Safe for any exponent, unlike comparing with ``amount.quantize(quantum)``, which raises
    ``InvalidOperation`` for a number beyond the context precision (``1E+30``)."""
    if not amount.is_finite():
        return False
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    if exponent >= -currency.minor_units or not any(digits):
        return True
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return exponent + trailing_zeros >= -currency.minor_units


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Convert an exact input to Decimal; floats are refused because they are not exact."""
    if isinstance(value, (bool, float)):
        raise InvalidInputError(
            "amounts must be given as Decimal, int or str, never float", code="invalid_amount"
        )
    try:
        result = Decimal(value)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise InvalidInputError(f"{value!r} is not a number", code="invalid_amount") from exc
    if not result.is_finite():
        raise InvalidInputError(f"{value!r} is not a finite number", code="invalid_amount")
    return result


@total_ordering
@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount of one currency.

    Amounts keep full precision through arithmetic (a per-kWh price times energy may carry
    more digits than the currency has); ``round()`` to the currency's minor unit happens only
    at the named points that call it.
    """

    amount: Decimal
    currency: Currency

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", Currency.of(self.currency))
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", to_decimal(self.amount))
        elif not self.amount.is_finite():
            raise InvalidInputError("amount must be finite", code="invalid_amount")

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        return cls(to_decimal(amount), Currency.of(currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls.of(0, currency)

    @classmethod
    def from_minor_units(cls, units: int, currency: str) -> Money:
        """Build from an integer count of minor units (the PSP representation)."""
        cur = Currency.of(currency)
        return cls(Decimal(units).scaleb(-cur.minor_units), cur)

    @classmethod
    def checked(cls, amount: Decimal, currency: Currency) -> Money:
        """A Money of values this module has already checked: a finite ``Decimal`` it
        computed and a ``Currency`` (which only a known code becomes). Skips the checks of
        ``__post_init__``, which input from outside always goes through; for the hot paths
        that build many amounts from checked ones (issue 17: a month's booking)."""
        made = object.__new__(cls)
        object.__setattr__(made, "amount", amount)
        object.__setattr__(made, "currency", currency)
        return made

    def _same_currency(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot combine {self.currency} with {other.currency}",
                details={"left": self.currency.code, "right": other.currency.code},
            )

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, Money):
            raise TypeError("cannot multiply Money by Money")
        return Money(self.amount * to_decimal(factor), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __bool__(self) -> bool:
        return bool(self.amount)

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    def round(self, rounding: Rounding = Rounding.HALF_UP) -> Money:
        """Round to the currency's minor unit with a named rule."""
        return Money(self.amount.quantize(self.currency.quantum, rounding.value), self.currency)

    def to_minor_units(self, rounding: Rounding = Rounding.HALF_UP) -> int:
        """Integer minor units (cents), as PSPs expect them."""
        return int(self.round(rounding).amount.scaleb(self.currency.minor_units))

    def allocate(self, ratios: Sequence[Decimal | int]) -> list[Money]:
        """Split into rounded parts proportional to ``ratios`` that add up exactly.

        Used where one rounded total must be shared (VAT per line, revenue per component)
        without a cent appearing or disappearing: the largest-remainder method.
        """
        weights = [r if type(r) is Decimal and r.is_finite() else to_decimal(r) for r in ratios]
        if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
            raise InvalidInputError("ratios must be non-negative and not all zero")
        currency = self.currency
        places = currency.minor_units
        total_units = int(self.amount.quantize(_QUANTA[currency], ROUND_HALF_UP).scaleb(places))
        weight_sum = sum(weights)
        exact = [Decimal(total_units) * w / weight_sum for w in weights]
        floors = [int(e.to_integral_value(ROUND_DOWN)) for e in exact]
        left = total_units - sum(floors)
        if left:
            # Largest remainder first, by size: a negative total (a credit note) splits as
            # the mirror image of the positive one.
            order = sorted(range(len(exact)), key=lambda i: abs(exact[i] - floors[i]), reverse=True)
            step = 1 if left >= 0 else -1
            for i in order[: abs(left)]:
                floors[i] += step
        checked = Money.checked
        return [checked(Decimal(units).scaleb(-places), currency) for units in floors]

    def __str__(self) -> str:
        """Exact, with at least the currency's minor units: ``0.00 EUR``, ``0.125 EUR``."""
        return f"{plain_decimal(self.amount, self.currency.minor_units)} {self.currency.code}"
