"""What a business customer owes for paying late: Directive 2011/7/EU on combating late
payment in commercial transactions (B2B only; consumers are outside its scope, art. 1(2)).

- Art. 6(1): a fixed compensation of at least EUR 40 for recovery costs, due without a
  reminder once interest is due; claimed once per invoice (one "commercial transaction").
  It covers the creditor's recovery costs, so a schedule for businesses should add reminder
  fees only for costs above it (art. 6(3)).
- Art. 3(3)(a) and 4(3)(a) with art. 2(6): statutory interest from the day after the due
  date, at the reference rate (art. 2(7): the ECB's main refinancing rate of the half-year)
  plus at least 8 percentage points; member states may add more (Germany, BGB §288(2): 9).
  Simple interest, per day, on a 365-day year, rounded half-up once to the currency's cents.

Both are configurable (``CHARGELEDGER_DUNNING_*``): the reference rate changes twice a year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from chargeledger.errors import InvalidInputError
from chargeledger.money import Money

DIRECTIVE_COMPENSATION = Decimal("40.00")
DIRECTIVE_MARGIN = Decimal(8)
DAYS_IN_YEAR = Decimal(365)


@dataclass(frozen=True, slots=True)
class LatePaymentTerms:
    """``compensation`` in ``compensation_currency`` (0: not claimed); interest at
    ``reference_rate`` + ``margin`` percent a year (``charge_interest`` False: not claimed)."""

    reference_rate: Decimal = Decimal("2.15")
    margin: Decimal = DIRECTIVE_MARGIN
    compensation: Decimal = DIRECTIVE_COMPENSATION
    compensation_currency: str = "EUR"
    charge_interest: bool = True

    def __post_init__(self) -> None:
        if self.margin < 0 or self.compensation < 0 or self.reference_rate + self.margin < 0:
            raise InvalidInputError(
                "late payment terms are not negative", code="invalid_setting", field="margin"
            )

    @property
    def annual_percent(self) -> Decimal:
        """The statutory rate: reference rate + margin (art. 2(6))."""
        return self.reference_rate + self.margin


def statutory_interest(
    terms: LatePaymentTerms, outstanding: Money, since: date, until: date
) -> Money:
    """Interest on ``outstanding`` for the days after ``since`` up to ``until`` (inclusive);
    nothing when interest is not charged or no day has passed."""
    days = (until - since).days
    if not terms.charge_interest or days <= 0 or outstanding.amount <= 0:
        return Money.zero(outstanding.currency.code)
    amount = outstanding.amount * terms.annual_percent / 100 * days / DAYS_IN_YEAR
    return Money.of(amount, outstanding.currency).round()


def fixed_compensation(terms: LatePaymentTerms, currency: str, claimed_before: bool) -> Money:
    """EUR 40 (art. 6(1)), once per invoice, in the currency the terms name (the directive
    states it in euro; an invoice in another currency gets none unless configured so)."""
    if claimed_before or terms.compensation <= 0 or currency != terms.compensation_currency:
        return Money.zero(currency)
    return Money.of(terms.compensation, currency)
