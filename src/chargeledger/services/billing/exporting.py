"""The port for accounting exports, and the rules every export format shares.

Accountants take the books out of chargeledger into their own software (DESIGN §2: "reports,
exports (CSV, Beancount, ...)"). Each target format is an adapter behind
:class:`AccountingExporter` (``adapters/exports``: Beancount, a CSV ledger and DATEV's
Buchungsstapel); Xero manual journals or QuickBooks journal entries can be added later as
further adapters without any change here or in the callers, which only pick an exporter by name.

Most formats need the entries alone. A format whose chart of accounts says more than our
ledger does (DATEV: which VAT rate a revenue amount carries, the invoice number of a booking,
the customer number of a receivable) says so with ``needs_sources`` and gets the facts of the
records its entries book as :class:`ExportSources`, read in the same transaction as the
entries (``books.journal_for_export``).

What must not differ between formats lives in this module, so that two exports of the same
period always contain the same entries in the same order with the same amounts:

- the period is half-open, ``start <= booked_on < end`` (the same convention as billing periods
  and ``LedgerRepository.entries``), on the accounting date ``booked_on``;
- entries are ordered by accounting date, then by when they were booked, then by the order the
  caller gave them (append-only books, DESIGN §2: a later correction follows its original);
- amounts are written exactly as stored (DESIGN §2: money is Decimal, never float), with at
  least the currency's minor units (``10.50``, not ``10.5``) and never in exponent notation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Protocol

from chargeledger.domain.accounts import Account
from chargeledger.domain.ledger import JournalEntry
from chargeledger.domain.postings import TaxedRevenue
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency, plain_decimal

# Minor units assumed for a code that is not ISO 4217 (storage refuses those; this only keeps
# an export of hand-built entries from failing on a test currency).
DEFAULT_MINOR_UNITS = 2
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ExportSources:
    """Facts of the records the exported entries book, for formats that need them.

    ``revenue``: the VAT treatments of the revenue an entry books, by the entry's
    ``(source_type, source_id)`` (charges and credit notes). ``numbers``: the document number
    of each invoice, receipt and credit note by its id (an entry's ``source_id``).
    ``customers``: the customer accounts the entries' receivables are kept for.
    """

    revenue: Mapping[tuple[str, str], tuple[TaxedRevenue, ...]] = field(default_factory=dict)
    numbers: Mapping[str, str] = field(default_factory=dict)
    customers: Mapping[uuid.UUID, Account] = field(default_factory=dict)


NO_SOURCES = ExportSources()


class AccountingExporter(Protocol):
    """One accounting file format: a pure function of the journal entries.

    ``name`` is what users choose it by (``chargeledger export --format beancount``, the
    ``format`` query parameter); ``media_type`` is the Content-Type an HTTP download carries
    and ``encoding`` the character set the text is written in. ``export`` returns the whole
    file as text; it reads nothing and writes nothing, so the caller decides where the bytes
    go (a response, a file, an e-mail attachment). Entries outside ``[start, end)`` are left
    out (:func:`entries_between`); ``title`` names the books where the format has a place for
    it. A format with ``needs_sources`` is given the :class:`ExportSources` of the entries.
    """

    name: str
    media_type: str
    encoding: str
    needs_sources: bool

    def export(
        self,
        entries: Sequence[JournalEntry],
        *,
        start: date | None,
        end: date | None,
        title: str,
        sources: ExportSources = NO_SOURCES,
    ) -> str: ...


def entries_between(
    entries: Iterable[JournalEntry], start: date | None, end: date | None
) -> list[JournalEntry]:
    """The entries booked in ``[start, end)`` in export order (see the module docstring).

    An entry without ``created_at`` (built in memory, not yet stored) sorts after the stored
    ones of its day; naive timestamps are taken as UTC, as storage keeps them (DESIGN §2).
    """
    if start is not None and end is not None and end < start:
        raise InvalidInputError(
            f"the export period ends ({end.isoformat()}) before it starts ({start.isoformat()})",
            code="invalid_period",
            field="end",
        )
    chosen = [
        (position, entry)
        for position, entry in enumerate(entries)
        if (start is None or entry.booked_on >= start) and (end is None or entry.booked_on < end)
    ]
    chosen.sort(key=lambda item: _order_key(item[1], item[0]))
    return [entry for _, entry in chosen]


def _order_key(entry: JournalEntry, position: int) -> tuple[date, bool, datetime, int]:
    created = entry.created_at
    if created is None:
        return (entry.booked_on, True, _EARLIEST, position)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return (entry.booked_on, False, created, position)


def minor_units(currency: str) -> int:
    try:
        return Currency.of(currency).minor_units
    except InvalidInputError:
        return DEFAULT_MINOR_UNITS


def amount_text(amount: Decimal, currency: str) -> str:
    """``amount`` in plain decimal notation, exact, with at least the currency's decimals.

    Trailing zeros beyond the minor unit are dropped (``10.500`` EUR -> ``10.50``) and extra
    precision is kept (``0.125`` EUR stays ``0.125``): nothing is rounded. The same text as
    every other exact amount we print (:func:`chargeledger.domain.text.exact_amount`), also for
    a currency outside ISO 4217 (:func:`minor_units`).
    """
    if not amount.is_finite():
        raise InvalidInputError(f"{amount} is not an amount", code="invalid_amount")
    return plain_decimal(amount, minor_units(currency))
