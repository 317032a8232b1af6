"""``/api/v1/reports``: receivables aging, revenue and collections as JSON, CSV or XLSX
(issue 13). Finance and operators read every report; a fleet manager reads the aging of their
own account. Each report only reads the books; its figures reconcile to the ledger."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from chargeledger.api.deps import RuntimeDep
from chargeledger.api.routers.access import ReadAging, ReadReports
from chargeledger.api.schemas.common import JSON_ERROR_RESPONSES
from chargeledger.bootstrap import Runtime
from chargeledger.domain.report_tables import (
    ReportFormat,
    ReportTable,
    aging_table,
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
from chargeledger.services.transactions import reading

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=JSON_ERROR_RESPONSES)

FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report as JSON, CSV (RFC 4180) or an XLSX workbook",
        "content": {
            "application/json": {},
            "text/csv": {},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
        },
    }
}
FormatQuery = Annotated[
    ReportFormat, Query(alias="format", description="json (default), csv or xlsx")
]
PeriodQuery = Annotated[
    str | None,
    Query(
        max_length=16,
        description="2026, 2026-Q1, 2026-01, 2026-W05 or 2026-01-15 (the operator's dates)",
    ),
]


def _period(rt: Runtime, label: str | None) -> ReportPeriod:
    return period_or_month(label, today(rt.clock, rt.settings.operator_time_zone))


def _file(rt: Runtime, table: ReportTable, file_format: ReportFormat) -> Response:
    written = rt.reports.write(table, file_format)
    headers = {}
    if file_format is not ReportFormat.JSON:
        headers["Content-Disposition"] = f'attachment; filename="{written.filename}"'
    return Response(written.content, media_type=written.media_type, headers=headers)


@router.get(
    "/aging",
    summary="Receivables by days past due, per account and in total, with the DSO",
    response_class=Response,
    responses=FILES,
)
async def aging(
    principal: ReadAging,
    rt: RuntimeDep,
    as_of: Annotated[date | None, Query(description="the day ages are counted on; today")] = None,
    period: PeriodQuery = None,
    account_id: uuid.UUID | None = None,
    file_format: FormatQuery = ReportFormat.JSON,
) -> Response:
    """``period`` is the DSO's window of credit sales (the 90 days up to ``as_of`` when left
    out). A fleet manager sees their own account's line only."""
    on = as_of or today(rt.clock, rt.settings.operator_time_zone)
    window = None if period is None else report_period(period)
    report = await reading(rt.uow, reports.aging, principal, on, window, account_id)
    return _file(rt, aging_table(report), file_format)


@router.get(
    "/revenue",
    summary="Revenue by period and site, station, tariff, payment method or account",
    response_class=Response,
    responses=FILES,
)
async def revenue(
    _: ReadReports,
    rt: RuntimeDep,
    period: PeriodQuery = None,
    by: Annotated[
        str, Query(max_length=64, description="site, station, tariff, method, account; comma")
    ] = "site",
    grain: Annotated[Grain, Query(description="rows per period (default), month or day")] = (
        Grain.PERIOD
    ),
    top: Annotated[int | None, Query(ge=1, le=10_000, description="highest net first")] = None,
    file_format: FormatQuery = ReportFormat.JSON,
) -> Response:
    """Sessions, kWh and the net of each component (energy, time, parking, fixed fees,
    reservation) less credit notes; the total of a period is what ``Income:Charging`` moved
    in it. ``period`` defaults to the operator's current month; ``by=account&top=10`` lists
    the top accounts."""
    chosen = _period(rt, period)
    tz = rt.settings.operator_time_zone
    report = await reading(rt.uow, reports.revenue, chosen, tz, dimensions(by), grain, top)
    return _file(rt, revenue_table(report), file_format)


@router.get(
    "/collections",
    summary="Money captured, refunded, paid out with its fees, and transferred, by day",
    response_class=Response,
    responses=FILES,
)
async def collections(
    _: ReadReports,
    rt: RuntimeDep,
    period: PeriodQuery = None,
    file_format: FormatQuery = ReportFormat.JSON,
) -> Response:
    """Per day of ``period`` (the operator's current month by default) and currency: what
    the PSP captured and refunded, what it paid out and kept as fees, what came in and went
    out by bank transfer. The columns add up to what ``Assets:PSP``, ``Assets:Bank`` and
    ``Expenses:PSPFees`` moved."""
    report = await reading(rt.uow, reports.collections, _period(rt, period))
    return _file(rt, collections_table(report), file_format)


@router.get(
    "/unbilled",
    summary="Charges not invoiced yet with their value; sessions without a price",
    response_class=Response,
    responses=FILES,
)
async def unbilled(
    _: ReadReports, rt: RuntimeDep, file_format: FormatQuery = ReportFormat.JSON
) -> Response:
    """Per account: charges on no invoice or receipt yet, their kWh and gross value (the
    balance of ``Assets:Receivable:Unbilled``); then the sessions under review and those not
    charged yet, with the energy their stations reported (they have no price yet)."""
    report = await reading(rt.uow, reports.unbilled, rt.settings.vat_rates)
    return _file(rt, unbilled_table(report), file_format)
