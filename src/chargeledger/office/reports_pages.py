"""The reports page (issue 16: "reports"): ``GET /office/reports`` — a form to choose a report
and its period, the report's table on the page, and the same table as CSV or XLSX.

The reports are the REST's ``/api/v1/reports/*`` and the CLI's ``chargeledger reports``:
revenue (per period, day or month, by site, station, tariff, payment method or account, with
the net of each component), collections, receivables aging and not invoiced yet; and a
contract's performance by month (``/api/v1/contracts/{id}/performance``, issue 14). Each is
asked of the same use case (``services.billing.reports``, ``contract_performance``) with the
same defaults, turned into the same table and written by the same ``Runtime.reports`` writer,
so the page, its CSV and the REST never disagree. Periods are the operator's dates
(``CHARGELEDGER_OPERATOR_TIME_ZONE``); an empty period is the operator's current month (for the
aging: its DSO window of the 90 days up to the day, as the REST). Roles: ``ReadReports``
(finance and operators; admin always), which ``ReadContracts`` also admits.

A report runs within the request and the page shows its outcome: the table with its row count,
or the refusal with its stable code (422: ``invalid_period``, ``unknown_report_dimension``,
``period_too_long``, ``invalid_date``, ``invalid_month``, ``invalid_filter``; 404
``contract_not_found``).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.domain.contract_performance import months_asked, performance_table
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.report_tables import (
    Cell,
    ColumnKind,
    ReportFormat,
    ReportTable,
    aging_table,
    cell_text,
    collections_table,
    revenue_table,
    unbilled_table,
)
from chargeledger.domain.reports import Grain, dimensions, period_or_month, report_period
from chargeledger.errors import ChargeledgerError
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.listing import choice_filter, day_filter, invalid_filter
from chargeledger.office.pages import PAGE_HEADERS, render
from chargeledger.services.billing import reports
from chargeledger.services.billing.contract_performance import contract_performance
from chargeledger.services.billing.invoicing import today
from chargeledger.services.contracts.records import list_contracts
from chargeledger.services.transactions import reading

router = APIRouter()
PATH = "/office/reports"
REPORT_ROLES = frozenset({Role.FINANCE, Role.OPERATOR})  # ``ReadReports``
REPORTS = {
    "revenue": "Revenue by period and site, station, tariff, payment method or account",
    "collections": "Collections: captured, refunded, paid out, fees and transfers by day",
    "aging": "Receivables aging by days past due, with the DSO",
    "unbilled": "Not invoiced yet: charges without an invoice, sessions without a price",
    "contract": "A contract's performance by month, with its margin against energy cost",
}
DOWNLOADS = (ReportFormat.CSV, ReportFormat.XLSX)
MAX_SHOWN_ROWS = 500  # beyond these, the page says so and the files have every row
MAX_TOP = 10_000  # the REST's bound of ``top``
MAX_CONTRACTS = 100  # the contract form's choices (``list_contracts``' page)
Text = Annotated[str | None, Query(max_length=200)]  # longer: the API's JSON 422


@dataclass(frozen=True, slots=True)
class ReportForm:
    """What the form asked, as typed (shown again, and the download links' query)."""

    report: str = ""
    period: str = ""
    by: str = "site"
    grain: str = Grain.PERIOD.value
    top: str = ""
    as_of: str = ""
    contract: str = ""
    first_month: str = ""  # ``from`` in the query, as the REST's
    last_month: str = ""  # ``to``

    def query(self, **extra: str) -> str:
        fields = asdict(self)
        fields["from"], fields["to"] = fields.pop("first_month"), fields.pop("last_month")
        return urlencode({k: v for k, v in {**fields, **extra}.items() if v})


def _top(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        top = int(text.strip())
    except ValueError:
        top = 0
    if not 1 <= top <= MAX_TOP:
        raise invalid_filter("top", f"top: a whole number from 1 to {MAX_TOP}")
    return top


async def run_report(rt: Runtime, principal: Principal, form: ReportForm) -> ReportTable:
    """The report's table, asked exactly as ``api/routers/reports.py`` asks it."""
    zone = rt.settings.operator_time_zone
    label = form.period.strip() or None
    if form.report == "revenue":
        chosen = period_or_month(label, today(rt.clock, zone))
        grain = choice_filter(Grain, form.grain, "grain") or Grain.PERIOD
        by = dimensions(form.by)
        report = await reading(rt.uow, reports.revenue, chosen, zone, by, grain, _top(form.top))
        return revenue_table(report)
    if form.report == "collections":
        chosen = period_or_month(label, today(rt.clock, zone))
        return collections_table(await reading(rt.uow, reports.collections, chosen))
    if form.report == "aging":
        on = day_filter(form.as_of, "as_of") or today(rt.clock, zone)
        window = None if label is None else report_period(label)
        aged = await reading(rt.uow, reports.aging, principal, on, window, None)
        return aging_table(aged)
    if form.report == "unbilled":
        return unbilled_table(await reading(rt.uow, reports.unbilled, rt.settings.vat_rates))
    if form.report == "contract":
        return await _contract_table(rt, principal, form)
    raise invalid_filter("report", f"report: one of {', '.join(REPORTS)}")


async def _contract_table(rt: Runtime, principal: Principal, form: ReportForm) -> ReportTable:
    """As ``api/routers/contract_performance.py``: months ``from`` to ``to`` (both default to
    the operator's current month, ``to`` to ``from``)."""
    try:
        contract_id = uuid.UUID(form.contract.strip())
    except ValueError:
        raise invalid_filter("contract", "contract: choose one of the contracts") from None
    start, end = months_asked(
        form.first_month.strip() or None,
        form.last_month.strip() or None,
        today(rt.clock, rt.settings.operator_time_zone),
    )
    report = await reading(
        rt.uow,
        contract_performance,
        principal,
        contract_id,
        start,
        end,
        rt.settings.vat_rates,
        rt.settings.energy_price,
    )
    return performance_table(report)


async def _contracts(rt: Runtime, principal: Principal) -> list[tuple[str, str]]:
    """The contracts to choose from (id, "number title"), the first ``MAX_CONTRACTS`` by
    number, as ``GET /api/v1/contracts`` lists them."""
    on = today(rt.clock, rt.settings.operator_time_zone)
    views, _ = await reading(rt.uow, list_contracts, principal, on, limit=MAX_CONTRACTS)
    return [
        (str(v.record.id), f"{v.record.contract.number} {v.record.title}".strip()) for v in views
    ]


def _cells(rows: tuple[tuple[Cell, ...], ...]) -> list[list[str]]:
    return [[cell_text(cell) or "" for cell in row] for row in rows]


async def _page(
    rt: Runtime,
    visitor: Visitor,
    form: ReportForm,
    table: ReportTable | None = None,
    error: ChargeledgerError | None = None,
) -> Response:
    return render(
        "reports.html",
        error.http_status if error else 200,
        title="Reports",
        **visitor.context("reports"),
        zone=rt.settings.operator_time_zone,
        form=form,
        reports=REPORTS,
        grains=[g.value for g in Grain],
        contracts=await _contracts(rt, visitor.principal),
        table=table,
        numeric=[c.kind is not ColumnKind.TEXT for c in table.columns] if table else [],
        rows=_cells(table.rows[:MAX_SHOWN_ROWS]) if table else [],
        totals=_cells(table.totals) if table else [],
        max_rows=MAX_SHOWN_ROWS,
        downloads=[(f.value.upper(), f"{PATH}?{form.query(format=f.value)}") for f in DOWNLOADS],
        error=error,
    )


@router.get("/reports")
async def reports_page(
    request: Request,
    rt: RuntimeDep,
    report: Text = None,
    period: Text = None,
    by: Text = None,
    grain: Text = None,
    top: Text = None,
    as_of: Text = None,
    contract: Text = None,
    first_month: Annotated[str | None, Query(alias="from", max_length=200)] = None,
    last_month: Annotated[str | None, Query(alias="to", max_length=200)] = None,
    format: Text = None,
) -> Response:
    visitor = await admit(request, rt, REPORT_ROLES)
    if isinstance(visitor, Response):
        return visitor
    form = ReportForm(
        report or "",
        period or "",
        "site" if by is None else by,
        grain or Grain.PERIOD.value,
        top or "",
        as_of or "",
        contract or "",
        first_month or "",
        last_month or "",
    )
    if not form.report:
        return await _page(rt, visitor, form)
    try:
        file_format = None
        if format:
            file_format = choice_filter(ReportFormat, format, "format")
            if file_format not in DOWNLOADS:
                raise invalid_filter("format", "format: csv or xlsx")
        table = await run_report(rt, visitor.principal, form)
    except ChargeledgerError as exc:
        if exc.http_status >= 500:
            raise
        return await _page(rt, visitor, form, error=exc)
    if file_format is None:
        return await _page(rt, visitor, form, table)
    written = rt.reports.write(table, file_format)
    return Response(
        written.content,
        media_type=written.media_type,
        headers={
            **PAGE_HEADERS,
            "Content-Disposition": f'attachment; filename="{written.filename}"',
        },
    )
