"""``/api/v1/stations``: charging stations as they identify themselves over OCPP."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status

from chargeledger.api.deps import RuntimeDep, UowDep
from chargeledger.api.routers.access import ReadNetwork, WriteNetwork
from chargeledger.api.schemas.catalog import StationIn, StationOut, StationPatch
from chargeledger.api.schemas.common import ERROR_RESPONSES, Limit, Offset, PageOut
from chargeledger.services import catalog
from chargeledger.services.transactions import in_transaction

router = APIRouter(prefix="/api/v1/stations", tags=["stations"], responses=ERROR_RESPONSES)


@router.get("", summary="List stations")
async def list_stations(
    _: ReadNetwork,
    uow: UowDep,
    site_id: uuid.UUID | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[StationOut]:
    page = await catalog.list_stations(uow, site_id=site_id, limit=limit, offset=offset)
    return PageOut(items=[StationOut.of(s) for s in page.items], next_offset=page.next_offset)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register a station")
async def create_station(body: StationIn, _: WriteNetwork, rt: RuntimeDep) -> StationOut:
    fields = body.model_dump(exclude={"password"})
    created = await in_transaction(
        rt.uow, catalog.create_station, rt.clock, rt.station_secrets, fields, body.password
    )
    return StationOut.of(created)


@router.get("/{station_id}", summary="Show a station")
async def get_station(station_id: uuid.UUID, _: ReadNetwork, uow: UowDep) -> StationOut:
    return StationOut.of(await catalog.get_station(uow, station_id))


@router.patch("/{station_id}", summary="Change a station (a new password replaces the old)")
async def update_station(
    station_id: uuid.UUID, body: StationPatch, _: WriteNetwork, rt: RuntimeDep
) -> StationOut:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude={"password"})
    station = await in_transaction(
        rt.uow,
        catalog.update_station,
        rt.clock,
        rt.station_secrets,
        station_id,
        changes,
        password=body.password,
    )
    return StationOut.of(station)


@router.delete("/{station_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a station")
async def delete_station(station_id: uuid.UUID, _: WriteNetwork, rt: RuntimeDep) -> None:
    await in_transaction(rt.uow, catalog.delete_station, station_id)
