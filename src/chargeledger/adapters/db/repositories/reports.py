"""The queries of the reports (issue 13): open items, credit sales, revenue and cash movements.

Only reads. Open items use the same SQL as the invoice list's status filter
(``receivable_rows``), so the aging and the invoice list never disagree. Amounts are summed in
Python from exact values (SQLite's SUM of fixed-scale text is a float) or, for the journal, in
SQL over integer minor units.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.billing_tables import invoices
from chargeledger.adapters.db.repositories.receivable_rows import open_invoices_query
from chargeledger.domain.invoicing import DocumentKind, DocumentStatus
from chargeledger.domain.reports import IssuedDocument, OpenItem
from chargeledger.money import Currency


def _exact(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


class SqlReportRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def open_items(self, account_id: uuid.UUID | None = None) -> list[OpenItem]:
        query = open_invoices_query().add_columns(invoices.c.issue_date, invoices.c.due_date)
        if account_id is not None:
            query = query.where(invoices.c.account_id == account_id)
        found = []
        for row in await self._connection.execute(query):
            currency = Currency.of(row.currency)
            left = _exact(row.gross_total) - _exact(row.credited) - _exact(row.paid)
            left -= _exact(row.written_off)
            found.append(
                OpenItem(
                    invoice_id=row.id,
                    number=row.number,
                    account_id=row.account_id,
                    account_name=row.buyer.get("name", ""),
                    currency=currency,
                    issue_date=row.issue_date,
                    due_date=row.due_date,
                    outstanding=left.quantize(currency.quantum),
                )
            )
        return found

    async def credit_sales(
        self, start: date, end: date, account_id: uuid.UUID | None = None
    ) -> list[IssuedDocument]:
        original = invoices.alias("original")
        query = (
            select(invoices.c.kind, invoices.c.currency, invoices.c.gross_total)
            .select_from(invoices.outerjoin(original, original.c.id == invoices.c.original_id))
            .where(
                invoices.c.status == DocumentStatus.ISSUED.value,
                invoices.c.issue_date >= start,
                invoices.c.issue_date < end,
                or_(
                    invoices.c.kind == DocumentKind.INVOICE.value,
                    and_(
                        invoices.c.kind == DocumentKind.CREDIT_NOTE.value,
                        original.c.kind == DocumentKind.INVOICE.value,
                    ),
                ),
            )
        )
        if account_id is not None:
            query = query.where(invoices.c.account_id == account_id)
        return [
            IssuedDocument(
                Currency.of(row.currency),
                _exact(row.gross_total),
                row.kind == DocumentKind.CREDIT_NOTE.value,
            )
            for row in await self._connection.execute(query)
        ]
