"""Accounting exports: file formats behind the
:class:`~chargeledger.services.billing.exporting.AccountingExporter` port.

Pure formatting: each exporter turns journal entries into the text of one file and touches no
storage, so the same code serves the CLI, the API and tests.
"""

from chargeledger.adapters.exports.beancount import BeancountExporter
from chargeledger.adapters.exports.csv_formats import CsvLedgerExporter, invoices_csv
from chargeledger.adapters.exports.datev import DatevExporter
from chargeledger.adapters.exports.registry import ExportSetup, exporter, known_formats

__all__ = [
    "BeancountExporter",
    "CsvLedgerExporter",
    "DatevExporter",
    "ExportSetup",
    "exporter",
    "invoices_csv",
    "known_formats",
]
