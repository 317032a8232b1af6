"""Settlement rows, and the derived payment status as a SQL condition (issue 13).

``payment_status_is`` is ``domain.receivables.payment_status`` written in SQL, so the invoice
list can filter and page by status in the database; ``tests/integration/test_receivables.py``
holds the two together on every status. On SQLite amounts are fixed-scale text and its SUM
is a float, so "positive" is taken as more than half of the smallest stored unit (0.0001).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal_column, not_, or_, select

from chargeledger.adapters.db.billing_tables import invoice_settlements, invoices
from chargeledger.domain.invoicing import DocumentKind, DocumentStatus
from chargeledger.domain.receivables import PaymentStatus, Settlement, SettlementKind
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
        booked_by=row.booked_by,
        note=row.note,
    )


def _settled(write_off: bool) -> ColumnElement[Any]:
    kind = invoice_settlements.c.kind
    write_off_kind = SettlementKind.WRITE_OFF.value
    which = kind == write_off_kind if write_off else kind != write_off_kind
    return (
        select(func.coalesce(func.sum(invoice_settlements.c.amount), 0))
        .where(invoice_settlements.c.invoice_id == invoices.c.id, which)
        .scalar_subquery()
    )


def _credited() -> ColumnElement[Any]:
    notes = invoices.alias("credit_notes")
    return (
        select(func.coalesce(func.sum(notes.c.gross_total), 0))
        .where(
            notes.c.original_id == invoices.c.id,
            notes.c.status == DocumentStatus.ISSUED.value,
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
        return and_(issued, kind == DocumentKind.CREDIT_NOTE.value)
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


def open_invoices_query() -> Any:
    """Issued invoices with something still to pay: id, number, account, buyer, currency and
    the outstanding amount, in one query (matching a statement needs them all at once)."""
    paid, written_off, credited = _settled(False), _settled(True), _credited()
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
        )
        .order_by(invoices.c.issue_date, invoices.c.number)
    )
