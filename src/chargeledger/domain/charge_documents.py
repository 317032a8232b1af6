"""Documents that bill charges: an account's invoice for a period, a payer's receipt for a
session. One currency per document (Directive 2006/112/EC art. 230; EN 16931 BT-5): charges
are grouped by currency first, and :func:`~chargeledger.domain.invoicing.charge_line` refuses
a charge of another currency than its document's."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from chargeledger.domain.billing import Charge
from chargeledger.domain.invoicing import DocumentKind, Invoice, Layout, Party, charge_line
from chargeledger.errors import ConflictError


def charges_document(
    kind: DocumentKind,
    charges: Sequence[Charge],
    *,
    account_id: uuid.UUID | None,
    seller: Party,
    buyer: Party,
    period: tuple[date, date],
    run_key: str,
    layout: Layout = Layout.PER_SESSION,
    payment_terms_days: int = 0,
) -> Invoice:
    """A draft invoice or receipt billing ``charges``, all of one currency (a line of another
    currency is refused by :func:`charge_line`): the document's currency is theirs."""
    if not charges:
        raise ConflictError("an invoice needs at least one line", code="empty_invoice")
    currency = charges[0].currency
    return Invoice(
        kind=kind,
        account_id=account_id,
        seller=seller,
        buyer=buyer,
        currency=currency,
        period_start=period[0],
        period_end=period[1],
        lines=tuple(charge_line(i, charge, currency) for i, charge in enumerate(charges, 1)),
        layout=layout,
        payment_terms_days=payment_terms_days,
        vat_note=next((c.vat.note for c in charges if c.vat.note), None),
        run_key=run_key,
    )


def by_currency(charges: Sequence[Charge]) -> dict[str, list[Charge]]:
    """Charges grouped by currency, in order: one invoice each (an account that charged at
    sites priced in two currencies gets two invoices for the period)."""
    groups: dict[str, list[Charge]] = defaultdict(list)
    for charge in charges:
        groups[charge.currency].append(charge)
    return dict(groups)
