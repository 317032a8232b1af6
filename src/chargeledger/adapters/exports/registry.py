"""Choosing an export format by name: the one place that knows which formats exist.

Callers (CLI ``export``, the ledger API) take the format as user input, so an unknown name is an
input error with a stable code that lists the choices (DESIGN §2: nothing silent). A new
format (DATEV, Xero, QuickBooks) is one class implementing
:class:`~chargeledger.services.billing.exporting.AccountingExporter` and one line here.
"""

from __future__ import annotations

from collections.abc import Callable

from chargeledger.adapters.exports.beancount import BeancountExporter
from chargeledger.adapters.exports.csv_formats import CsvLedgerExporter
from chargeledger.errors import InvalidInputError
from chargeledger.services.billing.exporting import AccountingExporter

# Factories, not shared instances: an exporter's attributes are plain (settable) attributes.
_FORMATS: dict[str, Callable[[], AccountingExporter]] = {
    BeancountExporter.name: BeancountExporter,
    CsvLedgerExporter.name: CsvLedgerExporter,
}


def known_formats() -> tuple[str, ...]:
    return tuple(sorted(_FORMATS))


def exporter(format_name: str) -> AccountingExporter:
    """The exporter for ``format_name`` (case and surrounding blanks ignored)."""
    factory = _FORMATS.get(format_name.strip().lower())
    if factory is None:
        known = known_formats()
        raise InvalidInputError(
            f"{format_name!r} is not an export format; choose one of {', '.join(known)}",
            code="unknown_export_format",
            field="format",
            details={"known_formats": list(known)},
        )
    return factory()
