"""Reports as files (issue 13): CSV, XLSX (openpyxl) and JSON behind the
:class:`~chargeledger.services.billing.report_ports.ReportFiles` port. Pure formatting of a
``domain.report_tables.ReportTable``: no storage, so the CLI, the API and tests share it."""

from chargeledger.adapters.reports.files import TableFiles

__all__ = ["TableFiles"]
