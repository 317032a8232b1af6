"""Charges, invoices (with their lines) and gap-free document numbers.

Issued documents are never updated: the only UPDATE of an invoice row turns a draft into an
issued document, guarded by ``status = 'draft'`` so that a second issue fails instead of
overwriting (DESIGN §2, Council Directive 2006/112/EC art. 226 and 233).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import literal, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.billing_tables import (
    billed_charges,
    charges,
    invoice_lines,
    invoice_settlements,
    invoices,
    number_series,
)
from chargeledger.adapters.db.integrity import translate_integrity_error
from chargeledger.adapters.db.repositories.account_charges import AccountCharges
from chargeledger.adapters.db.repositories.audit import queue_for_chain, queue_written
from chargeledger.adapters.db.repositories.base import chunks
from chargeledger.adapters.db.repositories.billing_batches import BatchReads
from chargeledger.adapters.db.repositories.billing_rows import (
    CHARGE_COLUMNS,
    ChargeReader,
    charge_of,
    charge_values,
    invoice_of,
    invoice_row,
    line_of,
    line_row,
)
from chargeledger.adapters.db.repositories.bulk import BulkInsert, insert_rows
from chargeledger.adapters.db.repositories.receivable_rows import (
    open_invoices_query,
    payment_status_is,
    settlement_of,
    settlement_row,
)
from chargeledger.adapters.db.repositories.upsert import insert_ignoring_duplicates
from chargeledger.adapters.db.tables import sessions
from chargeledger.domain.audit import RecordType
from chargeledger.domain.bank_matching import OpenInvoice
from chargeledger.domain.billing import Charge
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.invoicing import (
    DocumentKind,
    DocumentStatus,
    Invoice,
    InvoiceAddressee,
    InvoiceLine,
)
from chargeledger.domain.payment_references import creditor_reference
from chargeledger.domain.receivables import Settlement
from chargeledger.errors import ConflictError
from chargeledger.money import Currency, Money
from chargeledger.services.billing.invoice_ports import InvoiceFilter
from chargeledger.services.paging import Page

_CHARGES = BulkInsert(charges, CHARGE_COLUMNS)
# Every column: a row builder that misses one fails loudly (``_values``), never drops it.
_INVOICES = BulkInsert(invoices, [column.name for column in invoices.columns])
_LINES = BulkInsert(invoice_lines, [column.name for column in invoice_lines.columns])
_BILLED = BulkInsert(billed_charges, ("charge_id", "invoice_id"))


def _values(row: dict[str, Any], bulk: BulkInsert) -> tuple[Any, ...]:
    return tuple(row[name] for name in bulk.columns)


class SqlBillingRepository(BatchReads, AccountCharges):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    # --- charges ----------------------------------------------------------------------------

    async def add_charges(self, new: Sequence[Charge], created_at: datetime) -> None:
        if new:
            rows = [charge_values(c, created_at) for c in new]
            await insert_rows(self._connection, (_CHARGES, rows))

    async def charge_for_session(self, session_id: uuid.UUID) -> Charge | None:
        result = await self._connection.execute(
            select(charges).where(charges.c.session_id == session_id)
        )
        row = result.mappings().one_or_none()
        return None if row is None else charge_of(row)

    async def sessions_to_charge(
        self, limit: int, after: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        """Completed sessions that have no charge yet, oldest first (by stop, then id); with
        ``after``, those that come after that session in this order (keyset paging: a page
        of the month at a time, issue 17)."""
        query = (
            select(sessions.c.id)
            .outerjoin(charges, charges.c.session_id == sessions.c.id)
            .where(sessions.c.status == SessionStatus.COMPLETED.value, charges.c.id.is_(None))
            .order_by(sessions.c.stopped_at, sessions.c.id)
            .limit(limit)
        )
        if after is not None:
            stopped = select(sessions.c.stopped_at).where(sessions.c.id == after)
            query = query.where(
                tuple_(sessions.c.stopped_at, sessions.c.id)
                > tuple_(stopped.scalar_subquery(), literal(after, type_=sessions.c.id.type))
            )
        return list((await self._connection.execute(query)).scalars())

    async def unbilled_charges(
        self,
        started_from: datetime,
        started_before: datetime,
        account_ids: Sequence[uuid.UUID] | None = None,
        ad_hoc: bool = False,
    ) -> list[Charge]:
        """Charges not yet on an invoice or receipt whose session started in the window."""
        query = (
            select(*(charges.c[name] for name in CHARGE_COLUMNS))
            .outerjoin(billed_charges, billed_charges.c.charge_id == charges.c.id)
            .where(
                billed_charges.c.charge_id.is_(None),
                charges.c.ad_hoc.is_(ad_hoc),
                charges.c.started_at >= started_from,
                charges.c.started_at < started_before,
            )
            .order_by(charges.c.account_id, charges.c.started_at, charges.c.id)
        )
        if account_ids is not None:
            query = query.where(charges.c.account_id.in_(list(account_ids)))
        result = await self._connection.execute(query)
        reader = ChargeReader()
        return [reader.charge(row) for row in result]

    async def charges_between(
        self, started_from: datetime, started_before: datetime
    ) -> list[Charge]:
        query = (
            select(charges)
            .where(charges.c.started_at >= started_from, charges.c.started_at < started_before)
            .order_by(charges.c.started_at, charges.c.id)
        )
        return [charge_of(row) for row in (await self._connection.execute(query)).mappings()]

    async def charge_ids(self) -> set[str]:
        result = await self._connection.execute(select(charges.c.id))
        return {str(value) for value in result.scalars()}

    async def charges_with_ids(self, ids: Collection[uuid.UUID]) -> list[Charge]:
        found: list[Charge] = []
        for chunk in chunks(ids):
            result = await self._connection.execute(select(charges).where(charges.c.id.in_(chunk)))
            found += [charge_of(row) for row in result.mappings()]
        return found

    # --- invoices ---------------------------------------------------------------------------

    async def add_invoices(self, documents: Sequence[Invoice], created_at: datetime) -> None:
        """Insert documents with their lines; issued invoices and receipts also mark their
        charges as billed (a charge billed twice violates the primary key). Issued documents
        are queued for the audit chain in the same transaction (drafts when they are issued),
        hashed from the rows written (``queue_written``)."""
        if not documents:
            return
        dialect = self._connection.dialect
        heads = _INVOICES.driver_rows(
            dialect, [_values(invoice_row(d, created_at), _INVOICES) for d in documents]
        )
        lines = _LINES.driver_rows(
            dialect, [_values(line_row(d.id, line), _LINES) for d in documents for line in d.lines]
        )
        billed = _BILLED.driver_rows(
            dialect,
            [
                (line.charge_id, d.id)
                for d in documents
                if d.kind is not DocumentKind.CREDIT_NOTE
                for line in d.lines
                if line.charge_id is not None
            ],
        )
        await insert_rows(
            self._connection, (_INVOICES, heads), (_LINES, lines), (_BILLED, billed), converted=True
        )
        if any(d.status is DocumentStatus.ISSUED for d in documents):
            await queue_written(
                self._connection, RecordType.INVOICE, (_INVOICES, heads), (_LINES, lines)
            )

    async def mark_issued(self, invoice: Invoice) -> None:
        """The one permitted change of a stored invoice: draft → issued, once."""
        statement = (
            update(invoices)
            .where(invoices.c.id == invoice.id, invoices.c.status == DocumentStatus.DRAFT.value)
            .values(
                status=invoice.status.value,
                series=invoice.series,
                number=invoice.number,
                issue_date=invoice.issue_date,
                due_date=invoice.due_date,
                issued_at=invoice.issued_at,
            )
        )
        try:
            async with self._connection.begin_nested():
                result = await self._connection.execute(statement)
        except IntegrityError as exc:
            raise translate_integrity_error(exc) from exc
        if result.rowcount != 1:
            raise ConflictError(
                f"invoice {invoice.id} is not a draft: issued documents cannot change",
                code="invoice_issued",
            )
        await queue_for_chain(self._connection, RecordType.INVOICE, [invoice.id])

    async def _load(self, query: Any) -> list[Invoice]:
        heads = list((await self._connection.execute(query)).mappings())
        if not heads:
            return []
        ids = [row["id"] for row in heads]
        currencies = {row["id"]: Currency.of(row["currency"]) for row in heads}
        found: dict[uuid.UUID, list[InvoiceLine]] = {i: [] for i in ids}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            rows = await self._connection.execute(
                select(invoice_lines)
                .where(invoice_lines.c.invoice_id.in_(chunk))
                .order_by(invoice_lines.c.invoice_id, invoice_lines.c.position)
            )
            for row in rows.mappings():
                found[row["invoice_id"]].append(line_of(row, currencies[row["invoice_id"]]))
        return [invoice_of(row, found[row["id"]]) for row in heads]

    async def addressees(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, InvoiceAddressee]:
        wanted, found = list(ids), {}
        columns = (invoices.c.id, invoices.c.number, invoices.c.account_id)
        for start in range(0, len(wanted), 1000):
            query = select(*columns, invoices.c.seller, invoices.c.buyer).where(
                invoices.c.id.in_(wanted[start : start + 1000])
            )
            for row in await self._connection.execute(query):
                found[row.id] = InvoiceAddressee(
                    row.id, row.number, row.account_id, row.seller["name"], row.buyer.get("email")
                )
        return found

    async def get_invoice(self, invoice_id: uuid.UUID) -> Invoice | None:
        loaded = await self._load(select(invoices).where(invoices.c.id == invoice_id))
        return loaded[0] if loaded else None

    async def invoice_by_number(self, number: str) -> Invoice | None:
        loaded = await self._load(select(invoices).where(invoices.c.number == number))
        return loaded[0] if loaded else None

    async def invoice_by_run_key(self, run_key: str) -> Invoice | None:
        loaded = await self._load(select(invoices).where(invoices.c.run_key == run_key))
        return loaded[0] if loaded else None

    async def run_keys(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            result = await self._connection.execute(
                select(invoices.c.run_key).where(invoices.c.run_key.in_(keys[start : start + 500]))
            )
            found |= {key for key in result.scalars() if key is not None}
        return found

    async def list_invoices(
        self, criteria: InvoiceFilter, *, limit: int, offset: int
    ) -> Page[Invoice]:
        query = select(invoices)
        if criteria.account_id is not None:
            query = query.where(invoices.c.account_id == criteria.account_id)
        if criteria.kind is not None:
            query = query.where(invoices.c.kind == criteria.kind.value)
        if criteria.status is not None:
            query = query.where(invoices.c.status == criteria.status.value)
        if criteria.issued_from is not None:
            query = query.where(invoices.c.issue_date >= criteria.issued_from)
        if criteria.issued_before is not None:
            query = query.where(invoices.c.issue_date < criteria.issued_before)
        if criteria.payment_status is not None:
            query = query.where(payment_status_is(criteria.payment_status, criteria.on))
        ordered = query.order_by(invoices.c.created_at, invoices.c.number, invoices.c.id)
        items = await self._load(ordered.limit(limit + 1).offset(offset))
        more = len(items) > limit
        return Page(items=items[:limit], next_offset=offset + limit if more else None)

    async def credit_notes_of(self, original_id: uuid.UUID) -> list[Invoice]:
        return await self._load(
            select(invoices)
            .where(
                invoices.c.original_id == original_id,
                invoices.c.status == DocumentStatus.ISSUED.value,
            )
            .order_by(invoices.c.created_at)
        )

    async def credited_total(self, original_id: uuid.UUID) -> Decimal:
        result = await self._connection.execute(
            select(invoices.c.gross_total).where(
                invoices.c.original_id == original_id,
                invoices.c.status == DocumentStatus.ISSUED.value,
            )
        )
        return sum(result.scalars(), Decimal(0)).quantize(Decimal("0.0001"))

    async def credited_totals(self, original_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
        """``credited_total`` of many documents (a page of the invoice list) in one query."""
        found: dict[uuid.UUID, Decimal] = {original: Decimal(0) for original in original_ids}
        if original_ids:
            result = await self._connection.execute(
                select(invoices.c.original_id, invoices.c.gross_total).where(
                    invoices.c.original_id.in_(list(original_ids)),
                    invoices.c.status == DocumentStatus.ISSUED.value,
                )
            )
            for original, gross in result:
                found[original] += gross
        return {original: total.quantize(Decimal("0.0001")) for original, total in found.items()}

    async def numbers(self, series: str) -> list[str]:
        result = await self._connection.execute(
            select(invoices.c.number).where(invoices.c.series == series)
        )
        return [n for n in result.scalars() if n is not None]

    async def document_of_charge(self, charge_id: uuid.UUID) -> uuid.UUID | None:
        result = await self._connection.execute(
            select(billed_charges.c.invoice_id).where(billed_charges.c.charge_id == charge_id)
        )
        return result.scalar_one_or_none()

    async def series(self) -> dict[str, int]:
        result = await self._connection.execute(select(number_series))
        return {row.series: row.last_number for row in result}

    async def next_numbers(self, series: str, count: int = 1) -> range:
        """Reserve ``count`` consecutive numbers of ``series`` in this transaction: an atomic
        upsert that holds the series row until commit, so concurrent issuers queue and a
        rollback returns the numbers (gap-free)."""
        dialect = self._connection.dialect.name
        builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            builder(number_series)
            .values(series=series, last_number=count)
            .on_conflict_do_update(
                index_elements=["series"],
                set_={"last_number": number_series.c.last_number + count},
            )
            .returning(number_series.c.last_number)
        )
        last = int((await self._connection.execute(statement)).scalar_one())
        return range(last - count + 1, last + 1)

    async def add_settlement(self, settlement: Settlement) -> bool:
        row = settlement_row(settlement)
        return await insert_ignoring_duplicates(self._connection, invoice_settlements, [row]) == 1

    async def add_settlements(self, settlements: Sequence[Settlement]) -> None:
        rows = [settlement_row(s) for s in settlements]
        for start in range(0, len(rows), 1000):
            await insert_ignoring_duplicates(
                self._connection, invoice_settlements, rows[start : start + 1000]
            )

    async def settlements_of(
        self, invoice_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[Settlement]]:
        found: dict[uuid.UUID, list[Settlement]] = {invoice_id: [] for invoice_id in invoice_ids}
        if invoice_ids:
            result = await self._connection.execute(
                select(invoice_settlements)
                .where(invoice_settlements.c.invoice_id.in_(list(invoice_ids)))
                .order_by(invoice_settlements.c.booked_at, invoice_settlements.c.id)
            )
            for row in result:
                found[row.invoice_id].append(settlement_of(row))
        return found

    async def open_invoices(self, account_id: uuid.UUID | None = None) -> list[OpenInvoice]:
        query = open_invoices_query()
        if account_id is not None:
            query = query.where(invoices.c.account_id == account_id)
        result = await self._connection.execute(query)
        found = []
        for row in result:
            gross = Decimal(row.gross_total)
            # Exact sums in Python: SQLite's SUM of fixed-scale text is a float.
            left = gross - Decimal(str(row.credited)) - Decimal(str(row.paid))
            left -= Decimal(str(row.written_off))
            currency = Currency.of(row.currency)
            found.append(
                OpenInvoice(
                    invoice_id=row.id,
                    number=row.number,
                    reference=creditor_reference(row.number),
                    account_id=row.account_id,
                    buyer_name=row.buyer.get("name", ""),
                    outstanding=Money(left.quantize(currency.quantum), currency),
                    buyer_email=row.buyer.get("email"),
                    seller_name=row.seller_name or "",
                )
            )
        return found
