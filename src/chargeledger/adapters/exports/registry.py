"""Choosing an export format by name: the one place that knows which formats exist.

Callers (CLI ``export``, the ledger API) take the format as user input, so an unknown name is an
input error with a stable code that lists the choices (DESIGN §2: nothing silent). A new
format (Xero, QuickBooks) is one class implementing
:class:`~chargeledger.services.billing.exporting.AccountingExporter` and one line here; what a
format needs beyond the entries (a clock for its file header, whose books it goes to) comes in
the :class:`ExportSetup` the composition root wires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from chargeledger.adapters.exports.beancount import BeancountExporter
from chargeledger.adapters.exports.csv_formats import CsvLedgerExporter
from chargeledger.adapters.exports.datev import DatevExporter
from chargeledger.adapters.exports.datev_charts import DatevBooks
from chargeledger.errors import InvalidInputError
from chargeledger.services.billing.exporting import AccountingExporter


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ExportSetup:
    """What formats may need beyond the entries: when a file is made (``now``, shown in the
    operator's ``time_zone``) and whose DATEV books a Buchungsstapel goes to (None: DATEV is
    not configured)."""

    now: Callable[[], datetime] = _utc_now
    time_zone: str = "UTC"
    datev: DatevBooks | None = None


# Factories, not shared instances: an exporter's attributes are plain (settable) attributes.
_FORMATS: dict[str, Callable[[ExportSetup], AccountingExporter]] = {
    BeancountExporter.name: lambda _: BeancountExporter(),
    CsvLedgerExporter.name: lambda _: CsvLedgerExporter(),
    DatevExporter.name: lambda setup: DatevExporter(setup.datev, setup.now, setup.time_zone),
}


def known_formats() -> tuple[str, ...]:
    return tuple(sorted(_FORMATS))


def exporter(format_name: str, setup: ExportSetup | None = None) -> AccountingExporter:
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
    return factory(setup or ExportSetup())
