"""Credit notes: the one way to correct an issued invoice or receipt.

A credit note reverses all of a document, some of its lines, or a net amount at its single VAT
rate, and references it (Council Directive 2006/112/EC art. 219). Per VAT rate it never credits
more net than is left after the credit notes issued before it; the one that uses a rate up takes
that rate's remaining VAT instead of a freshly rounded one, so crediting every line one by one
clears the document to the cent. Revenue is reversed per component where it was booked
(DESIGN §5).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from chargeledger.domain.billing import ComponentAmount
from chargeledger.domain.card_data import refuse_card_data
from chargeledger.domain.invoicing import (
    DocumentKind,
    DocumentStatus,
    Invoice,
    InvoiceLine,
    Layout,
    TaxOverride,
)
from chargeledger.domain.text import money_text, percent_text
from chargeledger.errors import ConflictError, InvalidInputError
from chargeledger.money import MAX_AMOUNT, ZERO, Money, within_minor_units


def credit_note(
    original: Invoice,
    reason: str,
    previous: Sequence[Invoice],
    positions: tuple[int, ...] | None = None,
    net_amount: Decimal | None = None,
) -> Invoice:
    """A draft credit note for the whole of ``original``, some of its lines (``positions``),
    or a net amount at its single VAT rate, given the credit notes ``previous``ly issued for
    it. Per VAT rate it cannot credit more net than is left; the one that uses a rate up takes
    that rate's remaining VAT."""
    _check_creditable(original, reason)
    if positions is not None and net_amount is not None:
        raise InvalidInputError(
            "credit either lines or an amount, not both", code="invalid_credit_note"
        )
    return _draft(original, reason, previous, _credited_lines(original, positions, net_amount))


def line_credit_note(
    original: Invoice, reason: str, previous: Sequence[Invoice], line: InvoiceLine
) -> Invoice:
    """A draft credit note of ``original`` with the one ``line`` given, for a credit that
    names what it reverses more precisely than a share of the document: a re-priced
    session's difference per revenue component at its charge's VAT (issue 15). The same
    limit applies: per VAT rate no more than is left to credit."""
    _check_creditable(original, reason)
    if line.net <= 0 or not within_minor_units(line.net, original.currency):
        raise InvalidInputError(
            "a credited amount is positive, in minor units", code="invalid_amount", field="net"
        )
    return _draft(original, reason, previous, (replace(line, position=1),))


def _check_creditable(original: Invoice, reason: str) -> None:
    # A self-billed invoice is a host's supply to us (a payable): correcting it is the host's
    # credit note (EN 16931 type 381 in its name), not ours to a customer.
    creditable = (DocumentKind.INVOICE, DocumentKind.RECEIPT)
    if original.status is not DocumentStatus.ISSUED or original.kind not in creditable:
        raise ConflictError(
            "only an issued invoice or receipt can be credited", code="not_creditable"
        )
    if not reason.strip():
        raise InvalidInputError("a credit note needs a reason", code="reason_required")
    refuse_card_data(reason, "reason")


def _draft(
    original: Invoice, reason: str, previous: Sequence[Invoice], lines: tuple[InvoiceLine, ...]
) -> Invoice:
    draft = Invoice(
        kind=DocumentKind.CREDIT_NOTE,
        account_id=original.account_id,
        seller=original.seller,
        buyer=original.buyer,
        currency=original.currency,
        period_start=original.period_start,
        period_end=original.period_end,
        lines=lines,
        layout=Layout.PER_SESSION,
        payment_terms_days=0,
        vat_note=original.vat_note,
        original_id=original.id,
        original_number=original.number,
        reason=reason.strip(),
    )
    return replace(draft, tax_overrides=_remaining_tax(original, previous, draft))


def _remaining_tax(
    original: Invoice, previous: Sequence[Invoice], draft: Invoice
) -> tuple[TaxOverride, ...]:
    left = {(s.category, s.percent): [s.taxable, s.tax] for s in original.vat_subtotals}
    for note in previous:
        for s in note.vat_subtotals:
            left.setdefault((s.category, s.percent), [ZERO, ZERO])
            left[(s.category, s.percent)][0] -= s.taxable
            left[(s.category, s.percent)][1] -= s.tax
    overrides = []
    for s in draft.vat_subtotals:
        net_left, tax_left = left.get((s.category, s.percent), [ZERO, ZERO])
        if s.taxable > net_left:
            raise ConflictError(
                f"{original.number}: crediting {money_text(s.taxable, draft.currency)} net at "
                f"{percent_text(s.percent)}% but only {money_text(net_left, draft.currency)} "
                "is left to credit at that rate",
                code="credit_exceeds_invoice",
            )
        if s.taxable == net_left:
            overrides.append(TaxOverride(s.category, s.percent, max(tax_left, ZERO)))
    return tuple(overrides)


def _credited_lines(
    original: Invoice, positions: tuple[int, ...] | None, net_amount: Decimal | None
) -> tuple[InvoiceLine, ...]:
    if net_amount is not None:
        rates = {(line.vat_category, line.vat_percent) for line in original.lines}
        if len(rates) != 1:
            raise InvalidInputError(
                "an amount can only be credited on a document with a single VAT rate; "
                "credit lines instead",
                code="invalid_credit_note",
            )
        currency = original.currency
        if (
            not within_minor_units(net_amount, currency)  # first: also refuses NaN
            or not 0 < net_amount <= MAX_AMOUNT
        ):
            raise InvalidInputError(
                f"the amount must be positive with at most {currency.minor_units} decimals",
                code="invalid_amount",
                field="net_amount",
            )
        category, percent = rates.pop()
        return (
            InvoiceLine(
                position=1,
                description=f"Partial credit for {original.number}",
                net=net_amount,
                vat_category=category,
                vat_percent=percent,
                country=original.lines[0].country,
                components=_pro_rata(original, net_amount),
            ),
        )
    chosen = original.lines
    if positions is not None:
        known = {line.position for line in original.lines}
        unknown = sorted(set(positions) - known)
        if unknown or not positions:
            raise InvalidInputError(
                f"{original.number} has no line {unknown}" if unknown else "no lines chosen",
                code="unknown_invoice_line",
                field="positions",
            )
        chosen = tuple(line for line in original.lines if line.position in set(positions))
    return tuple(
        InvoiceLine(
            position=i,
            description=f"Credit for {original.number} line {line.position}: {line.description}",
            net=line.net,
            vat_category=line.vat_category,
            vat_percent=line.vat_percent,
            charge_id=line.charge_id,
            session_id=line.session_id,
            site_name=line.site_name,
            station_name=line.station_name,
            local_start=line.local_start,
            energy_kwh=line.energy_kwh,
            charging_hours=line.charging_hours,
            idle_hours=line.idle_hours,
            components=line.components,
            country=line.country,
        )
        for i, line in enumerate(chosen, 1)
    )


def _pro_rata(original: Invoice, net_amount: Decimal) -> tuple[ComponentAmount, ...]:
    """A credited amount shared across revenue components like the original's revenue, so the
    credit note reverses revenue where it was booked (DESIGN §5)."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in original.lines:
        for name, amount in line.components:
            totals[name] += amount
    names = [name for name, amount in totals.items() if amount > 0]
    if not names:
        return (ComponentAmount("Fixed", net_amount),)
    parts = Money(net_amount, original.currency).allocate([totals[n] for n in names])
    return tuple(
        ComponentAmount(name, part.amount) for name, part in zip(names, parts, strict=True)
    )
