"""``/api/v1/evses``: the EVSEs of a station with their connectors (replaced as a whole)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status

from chargeledger.api.deps import RuntimeDep, UowDep
from chargeledger.api.routers.access import ReadNetwork, WriteNetwork
from chargeledger.api.schemas.catalog import EvseIn, EvseOut, EvsePatch
from chargeledger.api.schemas.common import ERROR_RESPONSES, Limit, Offset, PageOut
from chargeledger.domain.catalog import Evse
from chargeledger.services import catalog
from chargeledger.services.transactions import in_transaction

router = APIRouter(prefix="/api/v1/evses", tags=["evses"], responses=ERROR_RESPONSES)


@router.get("", summary="List EVSEs")
async def list_evses(
    _: ReadNetwork,
    uow: UowDep,
    station_id: uuid.UUID | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[EvseOut]:
    page = await catalog.list_evses(uow, station_id=station_id, limit=limit, offset=offset)
    return PageOut(items=[EvseOut.of(e) for e in page.items], next_offset=page.next_offset)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add an EVSE to a station")
async def create_evse(body: EvseIn, _: WriteNetwork, rt: RuntimeDep) -> EvseOut:
    evse = Evse(
        station_id=body.station_id,
        evse_id=body.evse_id,
        evse_uid=body.evse_uid,
        connectors=tuple(c.to_domain() for c in body.connectors),
    )
    return EvseOut.of(await in_transaction(rt.uow, catalog.create_evse, rt.clock, evse))


@router.get("/{evse_id}", summary="Show an EVSE")
async def get_evse(evse_id: uuid.UUID, _: ReadNetwork, uow: UowDep) -> EvseOut:
    return EvseOut.of(await catalog.get_evse(uow, evse_id))


@router.patch("/{evse_id}", summary="Change an EVSE")
async def update_evse(
    evse_id: uuid.UUID, body: EvsePatch, _: WriteNetwork, rt: RuntimeDep
) -> EvseOut:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if body.connectors is not None:
        changes["connectors"] = tuple(c.to_domain() for c in body.connectors)
    evse = await in_transaction(rt.uow, catalog.update_evse, rt.clock, evse_id, changes)
    return EvseOut.of(evse)


@router.delete("/{evse_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an EVSE")
async def delete_evse(evse_id: uuid.UUID, _: WriteNetwork, rt: RuntimeDep) -> None:
    await in_transaction(rt.uow, catalog.delete_evse, evse_id)
