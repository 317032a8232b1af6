"""The ledger's accounting export as a file: the one path from the journal to the bytes an
accountant gets, whether from ``chargeledger export ledger`` or the office's export job
(issue 16), so both hand out the same bytes for the same format and period.

The journal of ``[first, last)`` and, for a format that needs them, its sources are read in
one transaction (``books.journal_for_export``); the chosen exporter (``Exports`` port) writes
the text, encoded in the format's character set (CRLF line ends stay as written).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date

from chargeledger.errors import InvalidInputError
from chargeledger.services.billing import books
from chargeledger.services.billing.exporting import AccountingExporter
from chargeledger.services.ports import Exports, UnitOfWorkFactory
from chargeledger.services.transactions import reading

Progress = Callable[[str, int | None], Awaitable[None]]  # step, entries (None: not known yet)
READING, WRITING = "reading", "writing"
SUFFIXES = {"beancount": "beancount", "csv": "csv", "datev": "csv"}


async def _no_progress(step: str, entries: int | None) -> None:
    return None


@dataclass(frozen=True, slots=True)
class LedgerFile:
    """An export's bytes with what a download needs: its media type and a file name."""

    content: bytes
    media_type: str
    filename: str
    entries: int


def books_title(operator: Mapping[str, str]) -> str:
    """The books' title where a format has a place for it: the operator's name."""
    return operator.get("name", "chargeledger")


def chosen_format(exports: Exports, format_name: str) -> AccountingExporter:
    """The exporter (``unknown_export_format`` listing the choices otherwise)."""
    return exports.accounting(format_name)


def check_period(first: date | None, last: date | None) -> None:
    """``invalid_period`` for a period that ends before it starts (checked again on export)."""
    if first is not None and last is not None and last < first:
        raise InvalidInputError(
            f"the export period ends ({last.isoformat()}) before it starts ({first.isoformat()})",
            code="invalid_period",
            field="end",
        )


def filename(format_name: str, first: date | None, last: date | None) -> str:
    name = format_name.strip().lower()
    span = f"{first.isoformat() if first else 'start'}_{last.isoformat() if last else 'end'}"
    return f"ledger-{name}-{span}.{SUFFIXES.get(name, 'txt')}"


async def ledger_file(
    uow_factory: UnitOfWorkFactory,
    exports: Exports,
    format_name: str,
    first: date | None,
    last: date | None,
    title: str,
    progress: Progress = _no_progress,
) -> LedgerFile:
    """The journal of ``[first, last)`` in ``format_name``; ``progress`` hears of reading,
    then of writing with the number of entries (formats write the file in one piece)."""
    chosen = chosen_format(exports, format_name)
    check_period(first, last)
    await progress(READING, None)
    entries, sources = await reading(
        uow_factory, books.journal_for_export, first, last, chosen.needs_sources
    )
    await progress(WRITING, len(entries))
    text = chosen.export(entries, start=first, end=last, title=title, sources=sources)
    return LedgerFile(
        text.encode(chosen.encoding),
        chosen.media_type,
        filename(format_name, first, last),
        len(entries),
    )
