"""Reports as tables: one shape for every output (the CLI's table, CSV, XLSX, JSON).

Cells keep their types (``Money`` with its currency, ``Decimal`` quantities, ``int`` counts,
dates), so each writer prints them exactly (DESIGN §2: money is Decimal, never float): money in
its currency's minor units, kWh as measured. Total rows are kept apart from the rows, so a
machine reading the CSV can drop them and a person sees them set off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from chargeledger.domain.billing import COMPONENTS
from chargeledger.domain.cash_collections import CollectionDay, CollectionsReport
from chargeledger.domain.reports import AGING_BUCKETS, AgingReport, RevenueReport, RevenueRow
from chargeledger.domain.unbilled import Pending, PendingValue, UnbilledLine, UnbilledReport
from chargeledger.money import Currency, Money, plain_decimal


class ReportFormat(StrEnum):
    """The files a report is written as (the CLI also prints it as a table)."""

    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


class ColumnKind(StrEnum):
    TEXT = "text"
    MONEY = "money"
    QUANTITY = "quantity"
    COUNT = "count"
    DATE = "date"
    DAYS = "days"


Cell = str | int | Decimal | Money | date | None


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    kind: ColumnKind = ColumnKind.TEXT


@dataclass(frozen=True, slots=True)
class ReportTable:
    name: str  # aging, revenue, collections: also the file's stem and sheet
    title: str
    parameters: tuple[tuple[str, str], ...]
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    totals: tuple[tuple[Cell, ...], ...]

    def records(self, rows: tuple[tuple[Cell, ...], ...]) -> list[dict[str, Cell]]:
        keys = [column.key for column in self.columns]
        return [dict(zip(keys, row, strict=True)) for row in rows]


def cell_text(cell: Cell) -> str | None:
    """The exact text of a number, a date or a text cell (None for an empty cell): money in
    its currency's minor units (``10.50``), quantities as measured (``12.5``)."""
    if cell is None:
        return None
    if isinstance(cell, Money):
        return plain_decimal(cell.amount, cell.currency.minor_units)
    if isinstance(cell, Decimal):
        return plain_decimal(cell)
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


def _money(amount: Decimal, currency: Currency) -> Money:
    return Money(amount, currency)


# Column keys and titles of AGING_BUCKETS, in its order.
_BUCKET_COLUMNS = (
    ("current", "current"),
    ("days_1_30", "1-30"),
    ("days_31_60", "31-60"),
    ("days_61_90", "61-90"),
    ("days_over_90", ">90"),
)
assert len(_BUCKET_COLUMNS) == len(AGING_BUCKETS)


def aging_table(report: AgingReport) -> ReportTable:
    """Per account and currency: the outstanding amount by days past due, and per currency
    the total, the customers' unapplied credit, net receivables and the DSO."""
    buckets = tuple(Column(key, title, ColumnKind.MONEY) for key, title in _BUCKET_COLUMNS)
    columns = (
        Column("account", "account"),
        Column("account_id", "account id"),
        Column("currency", "currency"),
        Column("invoices", "invoices", ColumnKind.COUNT),
        *buckets,
        Column("total", "total", ColumnKind.MONEY),
        Column("customer_credit", "credit", ColumnKind.MONEY),
        Column("net", "net", ColumnKind.MONEY),
        Column("dso_days", "DSO days", ColumnKind.DAYS),
    )
    rows = tuple(
        (
            line.account_name,
            None if line.account_id is None else str(line.account_id),
            line.currency.code,
            line.invoices,
            *(_money(b, line.currency) for b in line.buckets),
            _money(line.total, line.currency),
            None,
            None,
            None,
        )
        for line in report.lines
    )
    totals = tuple(
        (
            "total",
            None,
            t.line.currency.code,
            t.line.invoices,
            *(_money(b, t.line.currency) for b in t.line.buckets),
            _money(t.line.total, t.line.currency),
            _money(t.customer_credit, t.line.currency),
            _money(t.net, t.line.currency),
            t.dso_days,
        )
        for t in report.totals
    )
    parameters = (
        ("as_of", report.as_of.isoformat()),
        ("dso_period", report.period.label),
        ("dso_from", report.period.start.isoformat()),
        ("dso_to", report.period.end.isoformat()),
    )
    title = f"Receivables aging on {report.as_of.isoformat()}"
    return ReportTable("aging", title, parameters, columns, rows, totals)


def revenue_table(report: RevenueReport) -> ReportTable:
    """Per part of the period and chosen dimensions: sessions, kWh, the net of each revenue
    component (energy, time, parking/idle, fixed fees, reservation), credit notes, net."""
    columns = (
        Column("period", "period"),
        *(Column(d.value, d.value) for d in report.by),
        Column("currency", "currency"),
        Column("sessions", "sessions", ColumnKind.COUNT),
        Column("energy_kwh", "kWh", ColumnKind.QUANTITY),
        *(Column(c.lower(), c.lower(), ColumnKind.MONEY) for c in COMPONENTS),
        Column("credited", "credited", ColumnKind.MONEY),
        Column("net", "net", ColumnKind.MONEY),
    )
    parameters = (
        ("period", report.period.label),
        ("from", report.period.start.isoformat()),
        ("to", report.period.end.isoformat()),
        ("grain", report.grain.value),
        ("by", ",".join(d.value for d in report.by)),
        *((("top", str(report.top)),) if report.top is not None else ()),
    )
    title = f"Revenue {report.period.label}"
    return ReportTable(
        "revenue",
        title,
        parameters,
        columns,
        tuple(_revenue_cells(row) for row in report.rows),
        tuple(_revenue_cells(row) for row in report.totals),
    )


def _revenue_cells(row: RevenueRow) -> tuple[Cell, ...]:
    return (
        row.period,
        *row.labels,
        row.currency.code,
        row.sessions,
        row.energy_kwh,
        *(_money(amount, row.currency) for amount in row.components),
        _money(row.credited, row.currency),
        _money(row.net, row.currency),
    )


_COLLECTION_COLUMNS = (
    ("captured", "captured"),
    ("refunded", "refunded"),
    ("payouts", "payouts"),
    ("fees", "fees"),
    ("transfers_in", "transfers in"),
    ("transfers_out", "transfers out"),
    ("collected", "collected"),
)


def collections_table(report: CollectionsReport) -> ReportTable:
    """Per day and currency: money captured and refunded at the PSP, paid out and its fees,
    bank transfers in and out, and what was collected from customers."""
    columns = (
        Column("day", "day", ColumnKind.DATE),
        Column("currency", "currency"),
        *(Column(key, title, ColumnKind.MONEY) for key, title in _COLLECTION_COLUMNS),
    )
    parameters = (
        ("period", report.period.label),
        ("from", report.period.start.isoformat()),
        ("to", report.period.end.isoformat()),
    )
    return ReportTable(
        "collections",
        f"Collections {report.period.label}",
        parameters,
        columns,
        tuple(_collection_cells(day, day.day) for day in report.days),
        tuple(_collection_cells(total, "total") for total in report.totals),
    )


def _collection_cells(day: CollectionDay, first: date | str) -> tuple[Cell, ...]:
    return (
        first,
        day.currency.code,
        *(_money(getattr(day, key), day.currency) for key, _ in _COLLECTION_COLUMNS),
    )


_PENDING_TITLES = {
    Pending.QUARANTINED: "sessions under review (not priced)",
    Pending.NOT_CHARGED: "sessions completed, not charged yet",
}
_PENDING_VALUE_TITLES = {
    Pending.QUARANTINED: "  under review, valued as reported (estimate)",
    Pending.NOT_CHARGED: "  not charged yet, valued as reported (estimate)",
}


def unbilled_table(report: UnbilledReport) -> ReportTable:
    """Per account and currency: charges on no invoice yet, their kWh and value (gross);
    then the sessions without a charge, with the energy their stations reported and what
    they would cost as reported (estimates, not in the totals)."""
    columns = (
        Column("account", "account"),
        Column("account_id", "account id"),
        Column("currency", "currency"),
        Column("sessions", "sessions", ColumnKind.COUNT),
        Column("energy_kwh", "kWh", ColumnKind.QUANTITY),
        Column("value", "value", ColumnKind.MONEY),
    )
    rows = [_unbilled_cells(line) for line in report.lines]
    for pending in report.pending:
        rows.append(
            (_PENDING_TITLES[pending.state], None, None, pending.sessions, pending.energy_kwh, None)
        )
        rows += [_pending_value_cells(v) for v in report.pending_values if v.state is pending.state]
    totals = tuple(_unbilled_cells(line) for line in report.totals)
    return ReportTable("unbilled", "Not invoiced yet", (), columns, tuple(rows), totals)


def _pending_value_cells(value: PendingValue) -> tuple[Cell, ...]:
    if value.currency is None or value.value is None:
        return ("  could not be priced", None, None, value.sessions, None, None)
    title = _PENDING_VALUE_TITLES[value.state]
    return (
        title,
        None,
        value.currency.code,
        value.sessions,
        None,
        _money(value.value, value.currency),
    )


def _unbilled_cells(line: UnbilledLine) -> tuple[Cell, ...]:
    return (
        line.account_name,
        None if line.account_id is None else str(line.account_id),
        line.currency.code,
        line.sessions,
        line.energy_kwh,
        _money(line.value, line.currency),
    )
