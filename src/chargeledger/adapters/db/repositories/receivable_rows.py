"""Settlement rows, and the derived payment status as a SQL condition (issue 13).

``payment_status_is`` is ``domain.receivables.payment_status`` written in SQL, so the invoice
list can filter and page by status in the database; ``tests/integration/test_receivables.py``
holds the two together on every status. On SQLite amounts are fixed-scale text and its SUM
is a float, so "positive" is taken as more than half of the smallest stored unit (0.0001).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal_column, not_, or_, select, true

from chargeledger.adapters.db.billing_tables import invoice_settlements, invoices
from chargeledger.domain.invoicing import DocumentKind, DocumentStatus
from chargeledger.domain.receivables import (
    NOT_RECEIVABLE,
    PaymentStatus,
    Settlement,
    SettlementKind,
)
from chargeledger.errors import InvalidInputError
from chargeledger.money import Money

_HALF_UNIT: ColumnElement[Any] = literal_column("0.00005")


def settlement_row(settlement: Settlement) -> dict[str, Any]:
    return {
        "id": settlement.id,
        "invoice_id": settlement.invoice_id,
        "account_id": settlement.account_id,
        "kind": settlement.kind.value,
        "amount": settlement.amount.amount,
        "currency": settlement.amount.currency.code,
        "source": settlement.source,
        "booked_at": settlement.booked_at,
        "booked_on": settlement.booked_on,
        "booked_by": settlement.booked_by,
        "note": settlement.note,
    }


def settlement_of(row: Any) -> Settlement:
    return Settlement(
        id=row.id,
        invoice_id=row.invoice_id,
        account_id=row.account_id,
        kind=SettlementKind(row.kind),
        amount=Money(row.amount, row.currency),
        source=row.source,
        booked_at=row.booked_at,
        booked_on=row.booked_on,
        booked_by=row.booked_by,
        note=row.note,
    )


def _settled(write_off: bool, until: date | None = None) -> ColumnElement[Any]:
    """What settlements (of the kind) took off the invoice, up to the day ``until``."""
    kind = invoice_settlements.c.kind
    write_off_kind = SettlementKind.WRITE_OFF.value
    which = kind == write_off_kind if write_off else kind != write_off_kind
    when = true() if until is None else invoice_settlements.c.booked_on <= until
    return (
        select(func.coalesce(func.sum(invoice_settlements.c.amount), 0))
        .where(invoice_settlements.c.invoice_id == invoices.c.id, which, when)
        .scalar_subquery()
    )


def _credited(until: date | None = None) -> ColumnElement[Any]:
    """What credit notes issued up to the day ``until`` took back of the invoice."""
    notes = invoices.alias("credit_notes")
    when = true() if until is None else notes.c.issue_date <= until
    return (
        select(func.coalesce(func.sum(notes.c.gross_total), 0))
        .where(
            notes.c.original_id == invoices.c.id,
            notes.c.status == DocumentStatus.ISSUED.value,
            when,
        )
        .scalar_subquery()
    )


def payment_status_is(status: PaymentStatus, on: date | None) -> ColumnElement[bool]:
    """Documents whose derived status on ``on`` is ``status`` (the order of
    ``payment_status``: closed ones first, then overdue, then partially paid or open)."""
    issued = invoices.c.status == DocumentStatus.ISSUED.value
    kind = invoices.c.kind
    if status is PaymentStatus.DRAFT:
        return invoices.c.status == DocumentStatus.DRAFT.value
    if status is PaymentStatus.ISSUED:
        return and_(issued, kind.in_([k.value for k in NOT_RECEIVABLE]))
    paid, written_off, credited = _settled(False), _settled(True), _credited()
    outstanding = invoices.c.gross_total - credited - paid - written_off
    is_open = outstanding > _HALF_UNIT
    closed = and_(issued, kind == DocumentKind.INVOICE.value, not_(is_open))
    only_credited = and_(credited > _HALF_UNIT, paid <= _HALF_UNIT)
    if status is PaymentStatus.WRITTEN_OFF:
        return and_(closed, written_off > _HALF_UNIT)
    if status is PaymentStatus.CREDITED:
        return and_(closed, written_off <= _HALF_UNIT, only_credited)
    if status is PaymentStatus.PAID:
        paid_invoice = and_(closed, written_off <= _HALF_UNIT, not_(only_credited))
        return or_(and_(issued, kind == DocumentKind.RECEIPT.value), paid_invoice)
    if on is None:
        raise InvalidInputError(
            f"the status {status.value} depends on the day", code="invalid_filter", field="status"
        )
    unpaid = and_(issued, kind == DocumentKind.INVOICE.value, is_open)
    late = and_(invoices.c.due_date.is_not(None), invoices.c.due_date < on)
    if status is PaymentStatus.OVERDUE:
        return and_(unpaid, late)
    some_paid = paid > _HALF_UNIT
    if status is PaymentStatus.PARTIALLY_PAID:
        return and_(unpaid, not_(late), some_paid)
    return and_(unpaid, not_(late), not_(some_paid))  # OPEN


def open_invoices_query(as_of: date | None = None) -> Any:
    """Issued invoices with something still to pay: id, number, account, buyer, currency and
    the outstanding amount, in one query (matching a statement needs them all at once).
    ``as_of``: what was owed at the end of that day (invoices issued, settlements and credit
    notes booked by then), as the ledger's receivables stood."""
    paid, written_off = _settled(False, as_of), _settled(True, as_of)
    credited = _credited(as_of)
    outstanding = (invoices.c.gross_total - credited - paid - written_off).label("outstanding")
    return (
        select(
            invoices.c.id,
            invoices.c.number,
            invoices.c.account_id,
            invoices.c.buyer,
            invoices.c.seller["name"].as_string().label("seller_name"),
            invoices.c.currency,
            invoices.c.gross_total,
            credited.label("credited"),
            paid.label("paid"),
            written_off.label("written_off"),
        )
        .where(
            invoices.c.status == DocumentStatus.ISSUED.value,
            invoices.c.kind == DocumentKind.INVOICE.value,
            outstanding > _HALF_UNIT,
            true() if as_of is None else invoices.c.issue_date <= as_of,
        )
        .order_by(invoices.c.issue_date, invoices.c.number)
    )
