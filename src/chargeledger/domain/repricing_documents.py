"""What a re-pricing (``domain/repricing.py``) writes: the accrual of its correction, the line
that bills the correction on the next invoice, and the line of its credit note.

A correction is booked like a charge (DESIGN §5, "postpaid CDR priced"): the payer's unbilled
receivable against revenue per component and the VAT of the place of supply, with the signs of
the difference, so a lower price reverses part of the accrual. Its VAT is the one its invoice
line states (on the line's own net, EN 16931 BR-CO-17): ``postings.document_issued`` clears an
accrued line from its net and rate, so the invoice that bills it takes exactly what was accrued,
and the cent an invoice's VAT per rate may differ by goes to that rate's country as for charges.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from chargeledger.domain.billing import Charge, ComponentAmount
from chargeledger.domain.invoicing import InvoiceLine
from chargeledger.domain.ledger import (
    EntryKind,
    JournalEntry,
    Posting,
    revenue,
    unbilled,
    vat_payable,
)
from chargeledger.domain.postings import TaxedRevenue, payer
from chargeledger.domain.repricing import Repricing
from chargeledger.domain.text import money_text, quantity_text
from chargeledger.money import ZERO, Money

SOURCE_TYPE = "repricing"  # the journal entries of corrections name their re-pricing


def correction_accrual(repricing: Repricing) -> JournalEntry | None:
    """The correction booked as a charge is (None when its net is nothing): a supplementary
    accrual when the price went up, a reversing one when it went down."""
    net = repricing.difference_net
    if not net:
        return None
    currency = repricing.currency
    tax = repricing.correction_tax
    postings = [
        Posting(unbilled(payer(repricing.account_id)), Money(net + tax, currency)),
        *(
            Posting(revenue(name), Money(-amount, currency))
            for name, amount in repricing.difference_components()
            if amount
        ),
    ]
    if tax:
        postings.append(Posting(vat_payable(repricing.country), Money(-tax, currency)))
    return JournalEntry(
        kind=EntryKind.CHARGE_ACCRUED,
        booked_on=repricing.booked_on,
        description=(
            f"Re-pricing {repricing.sequence} of charging session {repricing.session_id}: "
            f"{money_text(net, currency.code)} net, {repricing.reason}"
        ),
        postings=tuple(postings),
        source_type=SOURCE_TYPE,
        source_id=str(repricing.id),
    )


def correction_revenue(repricing: Repricing) -> tuple[TaxedRevenue, ...]:
    """The one VAT treatment of a correction's accrual, for the exports that need the rate of
    each revenue amount (``postings.charge_revenue`` for a charge)."""
    vat = repricing.after.billed.vat
    nets = tuple(c for c in repricing.difference_components() if c.amount)
    return (
        TaxedRevenue(repricing.country, vat.category, vat.percent, nets, repricing.correction_tax),
    )


def _what(repricing: Repricing, charge: Charge) -> str:
    after = repricing.after
    local = charge.local_start.strftime("%Y-%m-%d %H:%M")
    return (
        f"session of {local} at {charge.site_name}, {charge.station_name} EVSE "
        f"{charge.evse_id}, re-priced to {quantity_text(after.energy_kwh, 'kWh')}: "
        f"{repricing.reason}"
    )


def correction_line(position: int, repricing: Repricing, charge: Charge) -> InvoiceLine:
    """The correction as a line of the account's next invoice: its net (negative when the
    price went down) per component, the charge's VAT, and the re-pricing it bills (so its
    issue clears the accrual, and it is billed once)."""
    return InvoiceLine(
        position=position,
        description=f"Correction of the {_what(repricing, charge)}",
        net=repricing.difference_net,
        vat_category=charge.vat.category,
        vat_percent=charge.vat.percent,
        session_id=charge.session_id,
        site_name=charge.site_name,
        station_name=charge.station_name,
        local_start=charge.local_start,
        components=repricing.difference_components(),
        country=charge.country,
        repricing_id=repricing.id,
    )


def credit_line(repricing: Repricing, charge: Charge, net: Decimal) -> InvoiceLine:
    """The line of the credit note a lower re-pricing issues: ``net`` at the charge's VAT,
    reversing revenue where the price went down (the difference per component), or pro rata
    of the difference when part of it only took back what was owed."""
    components = tuple(ComponentAmount(n, -a) for n, a in repricing.difference_components())
    if sum((a for _, a in components), ZERO) != net:
        components = _pro_rata(components, net, repricing)
    return InvoiceLine(
        position=1,
        description=f"Credit for the {_what(repricing, charge)}",
        net=net,
        vat_category=charge.vat.category,
        vat_percent=charge.vat.percent,
        charge_id=charge.id,
        session_id=charge.session_id,
        site_name=charge.site_name,
        station_name=charge.station_name,
        local_start=charge.local_start,
        components=components,
        country=charge.country,
    )


def _pro_rata(
    components: tuple[ComponentAmount, ...], net: Decimal, repricing: Repricing
) -> tuple[ComponentAmount, ...]:
    weights: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for name, amount in components:
        weights[name] = max(amount, ZERO)
    names = [name for name, weight in weights.items() if weight]
    if not names:
        return (ComponentAmount("Fixed", net),)
    parts = Money(net, repricing.currency).allocate([weights[n] for n in names])
    return tuple(ComponentAmount(n, p.amount) for n, p in zip(names, parts, strict=True))
