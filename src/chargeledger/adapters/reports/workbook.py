"""A report table as an Office Open XML workbook (ECMA-376, ``.xlsx``) through openpyxl.

One sheet named after the report: a header row of column titles, the rows, the total rows in
bold; money as numbers formatted to its currency's minor units, dates as dates. A second sheet,
``parameters``, says what the report was asked for. Text cells are always text (never a
formula), whatever character they start with.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from chargeledger.domain.report_tables import Cell, ColumnKind, ReportTable
from chargeledger.money import Money

_FORMATS = {
    ColumnKind.QUANTITY: "0.######",
    ColumnKind.COUNT: "0",
    ColumnKind.DATE: "yyyy-mm-dd",
    ColumnKind.DAYS: "0.0",
}


def _money_format(currency_decimals: int) -> str:
    return "#,##0" + ("." + "0" * currency_decimals if currency_decimals else "")


def _value(cell: Cell) -> object:
    if isinstance(cell, Money):
        return cell.amount
    return cell


def workbook_bytes(table: ReportTable) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = table.name[:31]
    sheet.append([column.title for column in table.columns])
    for header in sheet[1]:
        header.font = Font(bold=True)
    for bold, rows in ((False, table.rows), (True, table.totals)):
        for row in rows:
            sheet.append([None] * len(row))
            kinds = (c.kind for c in table.columns)
            for position, (kind, cell) in enumerate(zip(kinds, row, strict=True), 1):
                _fill(sheet.cell(row=sheet.max_row, column=position), kind, cell, bold)
    sheet.freeze_panes = "A2"
    for index, column in enumerate(table.columns, 1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(10, len(column.title) + 2)
    about = workbook.create_sheet("parameters")
    about.append(["report", table.title])
    for name, value in table.parameters:
        about.append([name, value])
    for cell in about["B"]:
        cell.data_type = "s"
    workbook.properties.creator = "chargeledger"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _fill(target: Any, kind: ColumnKind, cell: Cell, bold: bool) -> None:
    """One cell of the sheet (``target``) from one cell of the table."""
    target.value = _value(cell)
    if isinstance(cell, str):
        target.data_type = "s"  # never a formula, even when it starts with "="
    elif isinstance(cell, Money):
        target.number_format = _money_format(cell.currency.minor_units)
    elif isinstance(cell, date):
        target.number_format = _FORMATS[ColumnKind.DATE]
    elif kind in _FORMATS and cell is not None:
        target.number_format = _FORMATS[kind]
    if bold:
        target.font = Font(bold=True)
