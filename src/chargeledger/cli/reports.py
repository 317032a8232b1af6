"""``chargeledger reports aging|revenue|collections``: the reports as tables, CSV, XLSX or JSON
(issue 13). The CLI runs on the server for the operator's staff: it sees every account."""

from __future__ import annotations

import sys
import uuid
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from chargeledger.cli.common import console, fail, run_with_runtime
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.report_tables import (
    ColumnKind,
    ReportFormat,
    ReportTable,
    aging_table,
    cell_text,
    collections_table,
    revenue_table,
    unbilled_table,
)
from chargeledger.domain.reports import (
    Grain,
    ReportPeriod,
    dimensions,
    period_or_month,
    report_period,
)
from chargeledger.services.billing import reports
from chargeledger.services.billing.invoicing import today
from chargeledger.services.billing.report_ports import ReportFile
from chargeledger.services.transactions import reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

reports_app = typer.Typer(
    help="Receivables aging, revenue and collections reports.", no_args_is_help=True
)
SHELL = Principal(subject="cli", role=Role.ADMIN)


class Shown(StrEnum):
    TABLE = "table"
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"


FormatOption = Annotated[Shown, typer.Option("--format", help="table (default), csv, xlsx, json")]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="file; stdout if left out (not for xlsx)")
]
PeriodOption = Annotated[
    str | None, typer.Option(help="2026, 2026-Q1, 2026-01, 2026-W05 or 2026-01-15")
]


def _checked(shown: Shown, output: Path | None) -> Shown:
    """The format to write: a table to the terminal, or the one ``--output``'s extension
    names (``-o aging.xlsx``) when ``--format`` was left at table."""
    if shown is Shown.TABLE and output is not None:
        suffix = output.suffix.lstrip(".").lower()
        if suffix not in (Shown.CSV, Shown.XLSX, Shown.JSON):
            raise fail(
                "--output takes a .csv, .xlsx or .json file, or say --format", "invalid_format"
            )
        shown = Shown(suffix)
    if shown is Shown.XLSX and output is None:
        raise fail("an XLSX workbook is written to a file: add --output FILE", "output_required")
    return shown


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} takes a date like 2026-10-31", "invalid_date") from None


def _period(rt: Runtime, label: str | None) -> ReportPeriod:
    return period_or_month(label, today(rt.clock, rt.settings.operator_time_zone))


def _written(rt: Runtime, table: ReportTable, shown: Shown) -> ReportFile | None:
    return None if shown is Shown.TABLE else rt.reports.write(table, ReportFormat(shown.value))


def _deliver(table: ReportTable, written: ReportFile | None, output: Path | None) -> None:
    if written is None:
        print_table(table)
    elif output is None:
        sys.stdout.write(written.content.decode("utf-8"))
    else:
        output.write_bytes(written.content)
        console.print(f"wrote the {table.name} report to {output}", highlight=False)


def print_table(table: ReportTable) -> None:
    """The report as a rich table: numbers right-aligned, totals in bold."""
    shown = Table(title=escape(table.title), title_justify="left")
    for column in table.columns:
        right = column.kind is not ColumnKind.TEXT
        shown.add_column(escape(column.title), justify="right" if right else "left")
    for bold, rows in ((False, table.rows), (True, table.totals)):
        for row in rows:
            texts = [escape(cell_text(cell) or "") for cell in row]
            shown.add_row(*(f"[bold]{t}[/]" if bold and t else t for t in texts))
    console.print(shown)
    settings = ", ".join(f"{name} {value}" for name, value in table.parameters)
    console.print(escape(settings), highlight=False)


@reports_app.command("aging")
def aging_command(
    as_of: Annotated[str | None, typer.Option(help="count ages on this day; today")] = None,
    period: PeriodOption = None,
    account: Annotated[str | None, typer.Option(help="one account's id")] = None,
    shown: FormatOption = Shown.TABLE,
    output: OutputOption = None,
) -> None:
    """What each account owes by days past due (current, 1-30, 31-60, 61-90, >90), the
    customers' unapplied credit, and the DSO over --period (the 90 days up to --as-of)."""
    shown = _checked(shown, output)
    on = _day(as_of, "--as-of")
    try:
        account_id = None if account is None else uuid.UUID(account)
    except ValueError:
        raise fail(f"--account takes an account id, not {account!r}", "invalid_account") from None

    async def work(rt: Runtime) -> tuple[ReportTable, ReportFile | None]:
        day = on or today(rt.clock, rt.settings.operator_time_zone)
        window = None if period is None else report_period(period)
        report = await reading(rt.uow, reports.aging, SHELL, day, window, account_id)
        table = aging_table(report)
        return table, _written(rt, table, shown)

    _deliver(*run_with_runtime(work), output)


@reports_app.command("revenue")
def revenue_command(
    period: PeriodOption = None,
    by: Annotated[
        str, typer.Option(help="comma-separated: site, station, tariff, method, account")
    ] = "site",
    grain: Annotated[Grain, typer.Option(help="rows per period, month or day")] = Grain.PERIOD,
    top: Annotated[int | None, typer.Option(min=1, help="only the N highest rows")] = None,
    shown: FormatOption = Shown.TABLE,
    output: OutputOption = None,
) -> None:
    """Sessions, kWh and revenue per component (energy, time, parking, fixed, reservation)
    less credit notes, for --period (the current month) by the chosen dimensions; e.g.
    --by account --top 10 for the top accounts."""
    shown = _checked(shown, output)

    async def work(rt: Runtime) -> tuple[ReportTable, ReportFile | None]:
        chosen = _period(rt, period)
        tz = rt.settings.operator_time_zone
        report = await reading(rt.uow, reports.revenue, chosen, tz, dimensions(by), grain, top)
        table = revenue_table(report)
        return table, _written(rt, table, shown)

    _deliver(*run_with_runtime(work), output)


@reports_app.command("collections")
def collections_command(
    period: PeriodOption = None,
    shown: FormatOption = Shown.TABLE,
    output: OutputOption = None,
) -> None:
    """Per day of --period (the current month): money captured and refunded at the PSP,
    payouts and their fees, bank transfers in and out, and what was collected."""
    shown = _checked(shown, output)

    async def work(rt: Runtime) -> tuple[ReportTable, ReportFile | None]:
        report = await reading(rt.uow, reports.collections, _period(rt, period))
        table = collections_table(report)
        return table, _written(rt, table, shown)

    _deliver(*run_with_runtime(work), output)


@reports_app.command("unbilled")
def unbilled_command(shown: FormatOption = Shown.TABLE, output: OutputOption = None) -> None:
    """Charges not invoiced yet with their value per account, and the sessions without a
    price yet (under review, or completed and not charged)."""
    shown = _checked(shown, output)

    async def work(rt: Runtime) -> tuple[ReportTable, ReportFile | None]:
        table = unbilled_table(await reading(rt.uow, reports.unbilled, rt.settings.vat_rates))
        return table, _written(rt, table, shown)

    _deliver(*run_with_runtime(work), output)
