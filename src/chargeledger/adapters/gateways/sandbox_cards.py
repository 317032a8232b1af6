"""The sandbox PSP's rules: its test cards, what each does, its amounts and its fees (split
from ``sandbox.py``).

Test cards (any future expiry, any 3-digit CVC):

| number | behaviour |
|---|---|
| 4242 4242 4242 4242, 5555 5555 5555 4444 | approved |
| 4000 0000 0000 0002 | declined (``card_declined``) |
| 4000 0000 0000 9995 | declined (``insufficient_funds``) |
| 4000 0000 0000 0069 | declined (``expired_card``) |
| 4000 0000 0000 0119 | every call times out after the PSP did it (``processing_error``) |
| 4000 0000 0000 5126 | approved up to 50.00; raising the hold above is declined |
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from chargeledger.domain.payments import luhn_valid
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency, Money
from chargeledger.services.payments.gateway import GatewayTimeoutError

APPROVED = "approved"
TIMEOUT = "timeout"
LIMITED = "limited"
LIMIT = Decimal("50.00")
TEST_CARDS: dict[str, tuple[str, str]] = {
    "4242424242424242": ("visa", APPROVED),
    "5555555555554444": ("mastercard", APPROVED),
    "4000000000000002": ("visa", "card_declined"),
    "4000000000009995": ("visa", "insufficient_funds"),
    "4000000000000069": ("visa", "expired_card"),
    "4000000000000119": ("visa", TIMEOUT),
    "4000000000005126": ("visa", LIMITED),
}
FEE_RATE = Decimal("0.014")  # 1.4 % + 0.25 per captured payment, as European card pricing
FEE_FIXED = Decimal("0.25")


def read_card(
    number: str, exp_month: int, exp_year: int, cvc: str, now: datetime
) -> tuple[str, str, str]:
    """Brand, behaviour and last four of a card typed into the PSP's field; the number itself
    goes no further than this function."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if not 12 <= len(digits) <= 19 or not luhn_valid(digits):
        raise InvalidInputError("the card number is not valid", code="invalid_card_number")
    if not (cvc.isdigit() and 3 <= len(cvc) <= 4):
        raise InvalidInputError("the CVC is not valid", code="invalid_cvc")
    if not 1 <= exp_month <= 12 or (exp_year, exp_month) < (now.year, now.month):
        raise InvalidInputError("the card has expired", code="expired_card")
    brand, behaviour = TEST_CARDS.get(digits, ("visa" if digits[0] == "4" else "card", APPROVED))
    return brand, behaviour, digits[-4:]


def hold_decline(behaviour: str, amount: Decimal) -> str | None:
    """Why a hold of ``amount`` on a card with ``behaviour`` is declined, if it is."""
    if behaviour not in (APPROVED, TIMEOUT, LIMITED):
        return behaviour
    if behaviour == LIMITED and amount > LIMIT:
        return "insufficient_funds"
    return None


def exact(money: Money) -> Decimal:
    """The amount in the currency's minor units: a PSP takes no fraction of a cent and no
    negative amount (DESIGN §2: rounding happens at named points, before the PSP)."""
    value = money.amount.quantize(money.currency.quantum)
    if value != money.amount or value < 0:
        raise InvalidInputError(
            f"{money} is not an amount in {money.currency.code}'s minor units",
            code="invalid_amount",
            field="amount",
        )
    return value


def fee(captured: Decimal, currency: str) -> Decimal:
    """The PSP's fee on a captured payment, half-up (DESIGN §2), not the default half-even."""
    quantum = Currency.of(currency).quantum
    return (captured * FEE_RATE + FEE_FIXED).quantize(quantum, ROUND_HALF_UP)


def time_out_if(behaviour: str) -> None:
    """The timeout test card: the PSP did the work, the answer never arrives."""
    if behaviour == TIMEOUT:
        raise GatewayTimeoutError("the sandbox PSP did not answer in time")
