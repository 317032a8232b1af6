"""The ports of the reports (issue 13): the queries they need, and the files they become.

Reports only read: every figure comes from records the books already hold (open invoices,
charges, credit notes, journal postings), so each one reconciles to the ledger.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from chargeledger.domain.cash_collections import CashMovement
from chargeledger.domain.report_tables import ReportFormat, ReportTable
from chargeledger.domain.reports import IssuedDocument, OpenItem, RevenueSlice
from chargeledger.domain.unbilled import PendingSessions


class ReportRepository(Protocol):
    async def open_items(
        self, account_id: uuid.UUID | None = None, as_of: date | None = None
    ) -> list[OpenItem]:
        """Every issued invoice (of ``account_id``) with something still to pay, as
        ``domain.receivables`` derives it (gross less credit notes less settlements); with
        ``as_of``, as it stood at the end of that day (issued, settled, credited by then)."""
        ...

    async def credit_sales(
        self, start: date, end: date, account_id: uuid.UUID | None = None
    ) -> list[IssuedDocument]:
        """Invoices issued in ``[start, end)``, and credit notes of invoices issued then."""
        ...

    async def charged(self, stopped_from: datetime, stopped_before: datetime) -> list[RevenueSlice]:
        """Charges of sessions that stopped in the window (their revenue is booked on the
        stop's local date), summed per site, station, tariff, payment method, account and
        currency."""
        ...

    async def corrected(self, start: date, end: date) -> list[RevenueSlice]:
        """Corrections of re-pricings booked in ``[start, end)`` (issue 15): the difference
        per component and in kWh, signed, in the groups of :meth:`charged` (those of the
        charge they correct), no session of their own."""
        ...

    async def credited(self, start: date, end: date) -> list[RevenueSlice]:
        """Credit note lines issued in ``[start, end)``, negative, in the groups of
        :meth:`charged` (a line that names no charge: site, station and tariff "unattributed",
        the note's account)."""
        ...

    async def cash_movements(self, start: date, end: date) -> list[CashMovement]:
        """Postings booked in ``[start, end)`` to ``Assets:PSP:…``, ``Assets:Bank`` and
        ``Expenses:PSPFees``, summed per day, entry kind, account and currency."""
        ...

    async def pending_sessions(self) -> list[PendingSessions]:
        """Sessions held for review, and completed sessions without a charge yet."""
        ...


@dataclass(frozen=True, slots=True)
class ReportFile:
    content: bytes
    media_type: str
    filename: str


class ReportFiles(Protocol):
    """Reports written as files (``adapters/reports``): pure functions of the table."""

    def write(self, table: ReportTable, file_format: ReportFormat) -> ReportFile: ...
