"""``/api/v1/tariffs``: OCPI 2.2.1 tariff versions and where they apply (the REST twin of
``chargeledger tariffs import|list|show|assign``)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Body, status

from chargeledger.api.deps import RuntimeDep, UowDep
from chargeledger.api.routers.access import ReadNetwork, WriteTariffs
from chargeledger.api.schemas.common import ERROR_RESPONSES, Limit, Offset, PageOut
from chargeledger.api.schemas.tariffs import AssignmentIn, AssignmentOut, TariffOut
from chargeledger.services import tariffs
from chargeledger.services.transactions import in_transaction

router = APIRouter(prefix="/api/v1/tariffs", tags=["tariffs"], responses=ERROR_RESPONSES)


@router.get("", summary="List tariff versions")
async def list_tariffs(
    _: ReadNetwork,
    uow: UowDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[TariffOut]:
    page = await tariffs.list_tariffs(uow, limit=limit, offset=offset)
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
