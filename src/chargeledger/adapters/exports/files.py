"""The :class:`~chargeledger.services.ports.Exports` port over this package, as the
composition root wires it for the CLI (and any entry point that hands out files)."""

from __future__ import annotations

from collections.abc import Sequence

from chargeledger.adapters.exports.csv_formats import invoices_csv
from chargeledger.adapters.exports.registry import ExportSetup, exporter, known_formats
from chargeledger.domain.invoicing import Invoice
from chargeledger.services.billing.exporting import AccountingExporter


class FileExports:
    """The registered accounting formats, set up with ``setup``, and the CSV invoice register."""

    def __init__(self, setup: ExportSetup | None = None) -> None:
        self.setup = setup or ExportSetup()

    def accounting(self, format_name: str) -> AccountingExporter:
        return exporter(format_name, self.setup)

    def formats(self) -> tuple[str, ...]:
        return known_formats()

    def invoice_register(self, invoices: Sequence[Invoice]) -> str:
        return invoices_csv(invoices)
