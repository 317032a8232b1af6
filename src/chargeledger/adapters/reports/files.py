"""A report table as CSV, JSON or an XLSX workbook.

Numbers are written exactly (DESIGN §2): money in its currency's minor units, quantities as
measured, never through a float in CSV and JSON (JSON carries them as strings, like every
amount of the REST API). Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``,
``@`` first: OWASP "CSV Injection") is written as text: a customer's name is data, never code.
"""

from __future__ import annotations

import csv
import io
import json

from chargeledger.adapters.reports.workbook import workbook_bytes
from chargeledger.domain.report_tables import Cell, ReportFormat, ReportTable, cell_text
from chargeledger.services.billing.report_ports import ReportFile

MEDIA_TYPES = {
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.JSON: "application/json",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(cell: Cell) -> str:
    text = cell_text(cell)
    if text is None:
        return ""
    if isinstance(cell, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def table_csv(table: ReportTable) -> str:
    """A header of column keys, the rows, then the total rows (``total`` in the first column
    that names something)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow([column.key for column in table.columns])
    for row in (*table.rows, *table.totals):
        writer.writerow([_csv_cell(cell) for cell in row])
    return out.getvalue()


def _json_cell(cell: Cell) -> object:
    if isinstance(cell, int) and not isinstance(cell, bool):
        return cell
    return cell_text(cell)


def table_json(table: ReportTable) -> str:
    document = {
        "report": table.name,
        "title": table.title,
        "parameters": dict(table.parameters),
        "columns": [
            {"key": column.key, "title": column.title, "kind": column.kind.value}
            for column in table.columns
        ],
        "rows": [
            {key: _json_cell(value) for key, value in record.items()}
            for record in table.records(table.rows)
        ],
        "totals": [
            {key: _json_cell(value) for key, value in record.items()}
            for record in table.records(table.totals)
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


class TableFiles:
    """The :class:`ReportFiles` port: one file per table and format."""

    def write(self, table: ReportTable, file_format: ReportFormat) -> ReportFile:
        chosen = ReportFormat(file_format)
        if chosen is ReportFormat.CSV:
            content = table_csv(table).encode("utf-8")
        elif chosen is ReportFormat.JSON:
            content = table_json(table).encode("utf-8")
        else:
            content = workbook_bytes(table)
        stem = "-".join([table.name, *(value for _, value in table.parameters[:1])])
        return ReportFile(content, MEDIA_TYPES[chosen], f"{stem}.{chosen.value}")
