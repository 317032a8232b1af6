"""``/api/v1/tariffs``: OCPI 2.2.1 tariff versions and where they apply (the REST twin of
``chargeledger tariffs import|list|show|assign``)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status

from chargeledger.api.deps import RuntimeDep, UowDep
from chargeledger.api.routers.access import ReadNetwork, WriteTariffs
from chargeledger.api.schemas.common import (
    ERROR_RESPONSES,
    Limit,
    Offset,
    PageOut,
    QuoteKwh,
    QuoteMinutes,
)
from chargeledger.api.schemas.tariffs import (
    AssignmentIn,
    AssignmentOut,
    PreviewLineOut,
    PreviewOut,
    TariffOut,
)
from chargeledger.services import tariff_preview, tariffs
from chargeledger.services.transactions import in_transaction

MAX_KW = tariff_preview.MAX_PREVIEW_KW
router = APIRouter(prefix="/api/v1/tariffs", tags=["tariffs"], responses=ERROR_RESPONSES)


@router.get("", summary="List tariff versions")
async def list_tariffs(
    _: ReadNetwork,
    uow: UowDep,
    limit: Limit = 100,
    offset: Offset = 0,
    q: str | None = Query(None, max_length=200, description="search the OCPI id or currency"),
) -> PageOut[TariffOut]:
    page = await tariffs.list_tariffs(uow, limit=limit, offset=offset, search=q)
    return PageOut(items=[TariffOut.of(t) for t in page.items], next_offset=page.next_offset)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Import a tariff version (an OCPI 2.2.1 Tariff object)",
)
async def import_tariff(
    _: WriteTariffs,
    rt: RuntimeDep,
    document: dict[str, Any] = Body(..., description="an OCPI 2.2.1 Tariff object"),
) -> TariffOut:
    return TariffOut.of(await in_transaction(rt.uow, tariffs.import_tariff, rt.clock, document))


@router.get("/{tariff_id}", summary="Show a tariff version")
async def get_tariff(tariff_id: uuid.UUID, _: ReadNetwork, uow: UowDep) -> TariffOut:
    return TariffOut.of(await tariffs.get_tariff(uow, tariff_id))


@router.get("/{tariff_id}/assignments", summary="Where a tariff version applies")
async def list_assignments(
    tariff_id: uuid.UUID, _: ReadNetwork, uow: UowDep
) -> list[AssignmentOut]:
    return [AssignmentOut.of(a) for a in await tariffs.tariff_assignments(uow, tariff_id)]


@router.get(
    "/{tariff_id}/preview",
    summary="What a planned session costs under this tariff version (price(), no VAT added); "
    "restrictions read in the operator's time zone",
)
async def preview(
    tariff_id: uuid.UUID,
    _: ReadNetwork,
    uow: UowDep,
    rt: RuntimeDep,
    start: datetime,
    kwh: Annotated[QuoteKwh, Query()],
    minutes: Annotated[QuoteMinutes, Query()],
    idle_minutes: Annotated[QuoteMinutes, Query()] = 0,
    power_kw: Annotated[Decimal | None, Query(gt=0, le=MAX_KW, decimal_places=3)] = None,
) -> PreviewOut:
    plan = tariff_preview.PlannedSession(
        starts_at=start,
        kwh=kwh,
        charging=timedelta(minutes=minutes),
        idle=timedelta(minutes=idle_minutes),
        power_kw=power_kw,
    )
    found = await tariff_preview.preview_tariff(
        uow, tariff_id, plan, rt.settings.operator_time_zone
    )
    return PreviewOut(
        tariff_id=found.tariff.id,
        ocpi_tariff_id=found.tariff.tariff.id,
        time_zone=found.time_zone,
        currency=found.result.currency,
        total_excl_vat=found.result.total_cost.excl_vat,
        total_incl_vat=found.result.total_cost.incl_vat,
        lines=[PreviewLineOut.of(line) for line in found.result.lines],
    )


@router.post(
    "/{tariff_id}/assignments",
    status_code=status.HTTP_201_CREATED,
    summary="Make a tariff apply to a connector, station, site, account or the operator; "
    "refused (tariff_vat_mismatch) when its stated VAT is not the VAT due there",
)
async def assign_tariff(
    tariff_id: uuid.UUID, body: AssignmentIn, _: WriteTariffs, rt: RuntimeDep
) -> AssignmentOut:
    assignment = await in_transaction(
        rt.uow,
        tariffs.assign_tariff,
        rt.clock,
        tariff_id,
        body.scope,
        body.scope_id,
        rt.settings.vat_rates,
    )
    return AssignmentOut.of(assignment)
