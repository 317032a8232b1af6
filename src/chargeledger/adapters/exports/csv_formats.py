"""CSV exports: the ledger one posting per row, and the invoice register.

CSV is what every spreadsheet and most accounting imports read. The files follow RFC 4180 as
Python's ``csv`` module writes it by default (the ``excel`` dialect): comma-separated, CRLF line
ends, fields with a comma, a quote or a line break enclosed in double quotes and inner quotes
doubled, a header row first. Values are plain text: dates ISO 8601 (``2026-01-31``), amounts
exact decimals with a point and at least the currency's minor units
(:func:`~chargeledger.services.billing.exporting.amount_text`), enums by their stable value
(``charge_accrued``, ``credit_note``), absent values empty.

Amounts are never signed in the ledger CSV: a posting's amount goes to ``debit`` when it is
positive and to ``credit`` when it is negative (DESIGN §5, the domain's sign convention), the
other column left empty, as in a paper journal and in most import templates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date

from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.ledger import JournalEntry
from chargeledger.services.billing.exporting import (
    NO_SOURCES,
    ExportSources,
    amount_text,
    entries_between,
)

LEDGER_COLUMNS = (
    "entry_id",
    "booked_on",
    "kind",
    "source_type",
    "source_id",
    "description",
    "account",
    "debit",
    "credit",
    "currency",
)
INVOICE_COLUMNS = (
    "number",
    "kind",
    "status",
    "account_id",
    "buyer_name",
    "buyer_vat_id",
    "issue_date",
    "due_date",
    "period_start",
    "period_end",
    "currency",
    "net",
    "tax",
    "gross",
    "original_number",
    "reason",
)


class CsvLedgerExporter:
    """:class:`~chargeledger.services.billing.exporting.AccountingExporter` writing one row per
    posting. A CSV file has no place for a title, so ``title`` is not written."""

    name: str = "csv"
    media_type: str = "text/csv; charset=utf-8"
    encoding: str = "utf-8"
    needs_sources: bool = False

    def export(
        self,
        entries: Sequence[JournalEntry],
        *,
        start: date | None,
        end: date | None,
        title: str,
        sources: ExportSources = NO_SOURCES,
    ) -> str:
        return _csv_text(LEDGER_COLUMNS, _ledger_rows(entries_between(entries, start, end)))


def invoices_csv(invoices: Sequence[Invoice]) -> str:
    """The invoice register, one row per document in the order given.

    Credit notes keep the positive totals they state (the ``kind`` column says they reduce the
    receivable) and name the document they correct in ``original_number``. ``period_end`` is
    exclusive, as everywhere in chargeledger (a January invoice runs to ``2026-02-01``).
    """
    return _csv_text(INVOICE_COLUMNS, (_invoice_row(invoice) for invoice in invoices))


def _ledger_rows(entries: Iterable[JournalEntry]) -> Iterable[tuple[str, ...]]:
    for entry in entries:
        for posting in entry.postings:
            units = posting.units
            amount = amount_text(units.amount.copy_abs(), units.currency)
            debit, credit = (amount, "") if units.amount > 0 else ("", amount)
            yield (
                str(entry.id),
                entry.booked_on.isoformat(),
                entry.kind.value,
                entry.source_type,
                entry.source_id,
                entry.description,
                posting.account,
                debit,
                credit,
                units.currency.code,
            )


def _invoice_row(invoice: Invoice) -> tuple[str, ...]:
    currency = invoice.currency
    return (
        invoice.number or "",
        invoice.kind.value,
        invoice.status.value,
        str(invoice.account_id) if invoice.account_id is not None else "",
        invoice.buyer.name,
        invoice.buyer.vat_id or "",
        _iso(invoice.issue_date),
        _iso(invoice.due_date),
        _iso(invoice.period_start),
        _iso(invoice.period_end),
        currency,
        amount_text(invoice.net_total, currency),
        amount_text(invoice.tax_total, currency),
        amount_text(invoice.gross_total, currency),
        invoice.original_number or "",
        invoice.reason or "",
    )


def _iso(day: date | None) -> str:
    return day.isoformat() if day is not None else ""


def _csv_text(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()
