"""``/api/v1/sites``: where stations stand, with the time zone that localises prices."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status

from chargeledger.api.deps import RuntimeDep, UowDep
from chargeledger.api.routers.access import ReadNetwork, WriteNetwork
from chargeledger.api.schemas.catalog import SiteIn, SiteOut, SitePatch
from chargeledger.api.schemas.common import ERROR_RESPONSES, Limit, Offset, PageOut
from chargeledger.domain.catalog import Site
from chargeledger.services import catalog
from chargeledger.services.transactions import in_transaction

router = APIRouter(prefix="/api/v1/sites", tags=["sites"], responses=ERROR_RESPONSES)


@router.get("", summary="List sites")
async def list_sites(
    _: ReadNetwork,
    uow: UowDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[SiteOut]:
    page = await catalog.list_sites(uow, limit=limit, offset=offset)
    return PageOut(items=[SiteOut.of(s) for s in page.items], next_offset=page.next_offset)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a site")
async def create_site(body: SiteIn, _: WriteNetwork, rt: RuntimeDep) -> SiteOut:
    site = Site(
        name=body.name,
        operator_name=body.operator_name,
        address=body.address.to_domain(),
        latitude=body.latitude,
        longitude=body.longitude,
        time_zone=body.time_zone,
    )
    return SiteOut.of(await in_transaction(rt.uow, catalog.create_site, rt.clock, site))


@router.get("/{site_id}", summary="Show a site")
async def get_site(site_id: uuid.UUID, _: ReadNetwork, uow: UowDep) -> SiteOut:
    return SiteOut.of(await catalog.get_site(uow, site_id))


@router.patch("/{site_id}", summary="Change a site")
async def update_site(
    site_id: uuid.UUID, body: SitePatch, _: WriteNetwork, rt: RuntimeDep
) -> SiteOut:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if body.address is not None:
        changes["address"] = body.address.to_domain()
    site = await in_transaction(rt.uow, catalog.update_site, rt.clock, site_id, changes)
    return SiteOut.of(site)


@router.delete("/{site_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a site")
async def delete_site(site_id: uuid.UUID, _: WriteNetwork, rt: RuntimeDep) -> None:
    await in_transaction(rt.uow, catalog.delete_site, site_id)
