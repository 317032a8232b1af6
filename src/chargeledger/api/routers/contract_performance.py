"""``GET /api/v1/contracts/{id}/performance`` (issue 14): a contract's months — sessions,
kWh, revenue, discount given, commitment attainment, shortfall billed, revenue share paid and
the margin against energy cost — as JSON, CSV or XLSX. Finance and operators read every
contract's; a fleet manager reads their own account's (another's is ``contract_not_found``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from chargeledger.api.deps import RuntimeDep
from chargeledger.api.routers.access import ReadContracts
from chargeledger.api.routers.reports import FILES, FormatQuery
from chargeledger.api.schemas.common import JSON_ERROR_RESPONSES
from chargeledger.domain.contract_performance import months_asked, performance_table
from chargeledger.domain.report_tables import ReportFormat
from chargeledger.services.billing.contract_performance import contract_performance
from chargeledger.services.billing.invoicing import today
from chargeledger.services.transactions import reading

router = APIRouter(prefix="/api/v1/contracts", tags=["contracts"], responses=JSON_ERROR_RESPONSES)

MonthQuery = Annotated[str | None, Query(max_length=7, description="a month like 2026-01")]


@router.get(
    "/{contract_id}/performance",
    summary="A contract's performance per month, with its margin against energy cost",
    response_class=Response,
    responses=FILES,
)
async def performance(
    contract_id: uuid.UUID,
    principal: ReadContracts,
    rt: RuntimeDep,
    first: Annotated[MonthQuery, Query(alias="from")] = None,
    last: Annotated[MonthQuery, Query(alias="to")] = None,
    file_format: FormatQuery = ReportFormat.JSON,
) -> Response:
    """Months ``from`` to ``to`` (at most 36; both default to the operator's current month,
    ``to`` to ``from``). Energy cost and margin appear when
    ``CHARGELEDGER_ENERGY_COST_PER_KWH`` is set. Errors: ``invalid_month``,
    ``invalid_period``, ``period_too_long`` (422), ``contract_not_found`` (404)."""
    start, end = months_asked(first, last, today(rt.clock, rt.settings.operator_time_zone))
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
    written = rt.reports.write(performance_table(report), file_format)
    headers = {}
    if file_format is not ReportFormat.JSON:
        headers["Content-Disposition"] = f'attachment; filename="{written.filename}"'
    return Response(written.content, media_type=written.media_type, headers=headers)
