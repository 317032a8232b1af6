"""Ledger entries of a car maker's pre-paid allowance (issue 14, DESIGN §5), pure.

| event | debit | credit |
|---|---|---|
| allowance sold | Receivable:<car maker> (gross) | Liabilities:Deferred:K<contract> (net), VAT |
| allowance drawn by a session | Liabilities:Deferred:K<contract> | Income:Charging:<component> |

The car maker pays before any charging: what it paid is a contract liability until sessions
draw it, and each session's draw is revenue when the charging is done (IFRS 15.106 and
15.B44: a prepayment is a contract liability, recognised as revenue as the obligation is
performed).

VAT is due on the sale, not on the draws. The allowance entitles its holders to charging at the
operator's sites in the country of the VAT account named, a price and place of supply known
when it is sold: a single-purpose voucher (Directive 2006/112/EC art. 30a(2)), whose issue is
the taxable supply and whose redemption is not taxed again (art. 30b(1)); read as a payment on
account instead, VAT is equally chargeable on receipt of the payment (art. 65). So the sale
books the VAT of the invoice to the car maker, and a draw books revenue only. A bundle usable
in several countries would be a multi-purpose voucher (art. 30a(3), art. 30b(2): VAT at each
session instead); these entries do not model it (a sale with ``tax`` 0 would need VAT on
the draws, which :func:`allowance_drawn_entry` does not book).

The sale debits the car maker's receivable directly: the document sold with it is not also
booked as an invoice issued out of unbilled charges (``postings.document_issued``).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from fractions import Fraction

from chargeledger.domain.billing import COMPONENTS, ComponentAmount
from chargeledger.domain.contract_money import half_up
from chargeledger.domain.ledger import (
    EntryKind,
    JournalEntry,
    Posting,
    contract_liability,
    receivable,
    revenue,
    vat_payable,
)
from chargeledger.errors import InvalidInputError
from chargeledger.money import MAX_AMOUNT, ZERO, Currency, Money, within_minor_units


def _amount(value: object, field: str, currency: Currency, *, positive: bool) -> Decimal:
    """A booked amount: finite, in the currency's minor units, 0 (or above) to 10^9."""
    if (
        not isinstance(value, Decimal)
        or not within_minor_units(value, currency)
        or value < 0
        or (positive and value == 0)
        or value >= MAX_AMOUNT
    ):
        floor = "above 0" if positive else "at least 0"
        raise InvalidInputError(
            f"{field} must be {floor}, below {MAX_AMOUNT}, in {currency.code} minor units",
            code="invalid_contract_amount",
            field=field,
        )
    return value


def allowance_sold_entry(
    contract_id: uuid.UUID,
    account_id: uuid.UUID,
    net: Decimal,
    tax: Decimal,
    vat_country: str,
    currency: Currency,
    booked_on: date,
    source_id: str,
    *,
    source_type: str = "invoice",
) -> JournalEntry:
    """Dr the car maker's receivable (``account_id``) gross / Cr the contract's deferred
    revenue net / Cr VAT of ``vat_country`` (see the module docstring). ``source_id``: the
    document the allowance was sold with (an invoice by default)."""
    currency = Currency.of(currency)
    net = _amount(net, "net", currency, positive=True)
    tax = _amount(tax, "tax", currency, positive=False)
    return JournalEntry(
        kind=EntryKind.ALLOWANCE_SOLD,
        booked_on=booked_on,
        description=f"Allowance sold under contract {contract_id}",
        postings=(
            Posting(receivable(account_id), Money(net + tax, currency)),
            Posting(contract_liability(contract_id), Money(-net, currency)),
            Posting(vat_payable(vat_country), Money(-tax, currency)),
        ),
        source_type=source_type,
        source_id=source_id,
    )


def allowance_drawn_entry(
    contract_id: uuid.UUID,
    components: tuple[ComponentAmount, ...],
    currency: Currency,
    booked_on: date,
    source_id: str,
    *,
    source_type: str = "charge",
) -> JournalEntry:
    """Dr the contract's deferred revenue / Cr ``Income:Charging:<component>`` for the net a
    session drew (its components, e.g. from :func:`drawn_components`); no VAT (see the module
    docstring). ``source_id``: the session's charge by default."""
    currency = Currency.of(currency)
    for name, amount in components:
        if name not in COMPONENTS:
            raise InvalidInputError(
                f"{name!r} is not a revenue component ({', '.join(COMPONENTS)})",
                code="invalid_contract_amount",
                field="components",
            )
        _amount(amount, f"components.{name}", currency, positive=False)
    total = sum((amount for _, amount in components), ZERO)
    return JournalEntry(
        kind=EntryKind.ALLOWANCE_DRAWN,
        booked_on=booked_on,
        description=f"Allowance drawn under contract {contract_id}",
        postings=(
            Posting(contract_liability(contract_id), Money(total, currency)),
            *(Posting(revenue(name), Money(-amount, currency)) for name, amount in components),
        ),
        source_type=source_type,
        source_id=source_id,
    )


def deferred_release(
    sold_net: Decimal,
    allowance: Decimal,
    drawn_before: Decimal,
    drawn_now: Decimal,
    currency: Currency,
) -> Decimal:
    """The deferred net a draw releases as revenue: the share ``drawn_now / allowance`` of
    ``sold_net`` (kWh or money drawn, the allowance's unit), computed as the difference of
    the rounded releases to date after and before the draw (each rounded half-up to the minor
    unit), so the releases of a fully drawn allowance add up to ``sold_net`` to the cent and
    nothing stays on the liability from rounding."""
    currency = Currency.of(currency)
    sold = _amount(sold_net, "sold_net", currency, positive=False)
    for name, value in (("allowance", allowance), ("drawn_before", drawn_before)):
        if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
            raise InvalidInputError(
                f"{name} must be a non-negative Decimal", code="invalid_contract_amount", field=name
            )
    if not isinstance(drawn_now, Decimal) or not drawn_now.is_finite() or drawn_now < 0:
        raise InvalidInputError(
            "drawn_now must be a non-negative Decimal",
            code="invalid_contract_amount",
            field="drawn_now",
        )
    if allowance <= 0 or drawn_before + drawn_now > allowance:
        raise InvalidInputError(
            "a draw cannot take more than the allowance",
            code="invalid_contract_amount",
            field="drawn_now",
        )

    def to_date(drawn: Decimal) -> Decimal:
        return half_up(Fraction(sold) * Fraction(drawn) / Fraction(allowance), currency)

    return to_date(drawn_before + drawn_now) - to_date(drawn_before)


def drawn_components(
    components: tuple[ComponentAmount, ...], released: Decimal, currency: Currency
) -> tuple[ComponentAmount, ...]:
    """``released`` shared across a session's revenue components (its charge's nets) in
    proportion to them, by the largest remainder (``Money.allocate``) so the parts add up to
    the cent; a session whose components are all 0 draws into ``Fixed``."""
    currency = Currency.of(currency)
    amount = _amount(released, "released", currency, positive=False)
    weights = [max(value, ZERO) for _, value in components]
    if not components or sum(weights) == 0:
        return (ComponentAmount("Fixed", amount),)
    parts = Money(amount, currency).allocate(weights)
    return tuple(
        ComponentAmount(name, part.amount)
        for (name, _), part in zip(components, parts, strict=True)
        if part.amount
    )
