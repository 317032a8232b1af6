"""The session annex of a per-site invoice: every billed session, site by site.

A per-site invoice bills one line per site and VAT rate (:meth:`Invoice.document_lines`); the
sessions behind each line are printed here so the customer can check every one of them:
local start (the site's time zone, DESIGN §2), station, energy, duration, idle time and the net
of each tariff component, which add up to the session's net and, per site, to the line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.table import Row

from chargeledger.adapters.documents.printing import (
    BOLD,
    FONT,
    HEADINGS,
    hours_minutes,
    kwh,
    plain_amount,
    printable,
)
from chargeledger.domain.invoicing import Invoice, InvoiceLine

# Start, station, kWh, duration, idle (mm); components and net share the rest of the width.
FIXED_COLUMNS = (25.0, 33.0, 15.0, 14.0, 12.0)


# A contract's annex (issue 14): sessions by card (a driver, or a vehicle's card) or by cost
# centre instead of by site.
def _by_site(line: InvoiceLine) -> str | None:
    return line.site_name


def _by_card(line: InvoiceLine) -> str | None:
    return line.driver


def _by_cost_centre(line: InvoiceLine) -> str | None:
    return line.cost_centre


GROUPED_BY: dict[str, tuple[str, Callable[[InvoiceLine], str | None]]] = {
    "per_driver": ("card", _by_card),
    "per_vehicle": ("vehicle card", _by_card),
    "per_cost_centre": ("cost centre", _by_cost_centre),
}


def sessions(pdf: FPDF, invoice: Invoice) -> None:
    """Append the annex on new pages, one table per site (in the order of the lines), or per
    card or cost centre when the invoice's contract asks for that annex."""
    pdf.add_page()
    pdf.set_font(FONT, "B", 12)
    title = f"Annex to {invoice.number}: charging sessions"
    pdf.cell(0, 7, printable(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=8)
    pdf.multi_cell(
        0,
        4,
        f"Start times are local to each site. Amounts are net in {invoice.currency}, "
        "split by tariff component.",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(2)
    groups: dict[str, list[InvoiceLine]] = defaultdict(list)
    label, key = GROUPED_BY.get(invoice.annex or "", ("", _by_site))
    for line in invoice.sessions():
        name = key(line) or "none"
        groups[f"{label.capitalize()} {name}" if label else name].append(line)
    names = component_names(invoice.sessions())
    for group, lines in groups.items():
        _site_table(pdf, invoice.currency, group, sorted(lines, key=_start_order), names)


def component_names(lines: Sequence[InvoiceLine]) -> list[str]:
    """The tariff components with an amount on any line, in the order the lines list them
    (the domain's COMPONENTS order): no empty columns."""
    seen: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        for name, amount in line.components:
            seen[name] += abs(amount)
    return [name for name, total in seen.items() if total]


def _site_table(
    pdf: FPDF, currency: str, site: str, lines: list[InvoiceLine], names: list[str]
) -> None:
    pdf.set_font(FONT, "B", 9.5)
    heading = f"{site or 'Other'}: {len(lines)} sessions"
    pdf.cell(0, 6, printable(heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    rest = pdf.epw - sum(FIXED_COLUMNS)
    widths = (*FIXED_COLUMNS, *([rest / (len(names) + 1)] * (len(names) + 1)))
    pdf.set_font(FONT, size=7.5)
    with pdf.table(
        col_widths=widths,
        width=pdf.epw,
        borders_layout="HORIZONTAL_LINES",
        headings_style=HEADINGS,
        line_height=3.8,
        padding=(0.6, 0.8),
        text_align="RIGHT",
    ) as table:
        header = table.row()
        for label in ("Start (local)", "Station", "kWh", "Duration", "Idle", *names, "Net"):
            header.cell(printable(label), align="LEFT" if label == "Station" else "RIGHT")
        for line in lines:
            row = table.row()
            row.cell(_start(line.local_start))
            row.cell(printable(line.station_name), align="LEFT")
            row.cell(kwh(line.energy_kwh))
            row.cell(hours_minutes(line.duration_hours))
            row.cell(hours_minutes(line.idle_hours))
            amounts = dict(line.components)
            for name in names:
                row.cell(plain_amount(amounts.get(name, Decimal(0)), currency))
            row.cell(plain_amount(line.net, currency))
        _total_row(table.row(style=BOLD), currency, lines, names)
    pdf.ln(4)


def _total_row(row: Row, currency: str, lines: list[InvoiceLine], names: list[str]) -> None:
    cell = row.cell
    cell("Total", align="LEFT", colspan=2)
    cell(kwh(sum((line.energy_kwh for line in lines), Decimal(0))))
    cell(hours_minutes(sum((line.duration_hours for line in lines), Decimal(0))))
    cell(hours_minutes(sum((line.idle_hours for line in lines), Decimal(0))))
    for name in names:
        total = sum((dict(line.components).get(name, Decimal(0)) for line in lines), Decimal(0))
        cell(plain_amount(total, currency))
    cell(plain_amount(sum((line.net for line in lines), Decimal(0)), currency))


def _start(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def _start_order(line: InvoiceLine) -> tuple[bool, str, int]:
    start = line.local_start
    return (start is None, start.isoformat() if start else "", line.position)
