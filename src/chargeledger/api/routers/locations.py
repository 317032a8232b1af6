"""``/api/v1/locations``: the driver app's "locate" (issue 16), stations near a position."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from chargeledger.api.deps import RuntimeDep, UowDep
from chargeledger.api.routers.access import ReadNetwork
from chargeledger.api.schemas.common import ERROR_RESPONSES
from chargeledger.api.schemas.locations import LocationOut, LocationsOut, MinKw, RadiusKm
from chargeledger.domain.catalog import ConnectorStandard
from chargeledger.domain.geo_search import (
    DEFAULT_LOCATE_LIMIT,
    DEFAULT_RADIUS_KM,
    MAX_LOCATE_LIMIT,
)
from chargeledger.services.locations import Filters, locate

router = APIRouter(prefix="/api/v1/locations", tags=["driver app"], responses=ERROR_RESPONSES)


@router.get(
    "",
    summary="Sites near a position, nearest first, with availability and the ad hoc price "
    "of every connector (EU AFIR)",
)
async def list_locations(
    _: ReadNetwork,
    uow: UowDep,
    rt: RuntimeDep,
    near: Annotated[
        str,
        Query(max_length=64, description="LAT,LON in decimal degrees", examples=["52.52,13.405"]),
    ],
    radius_km: Annotated[RadiusKm, Query()] = DEFAULT_RADIUS_KM,
    connector: Annotated[
        ConnectorStandard | None, Query(description="OCPI connector standard")
    ] = None,
    min_kw: Annotated[MinKw | None, Query()] = None,
    available: Annotated[bool, Query(description="only connectors available now")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LOCATE_LIMIT)] = DEFAULT_LOCATE_LIMIT,
) -> LocationsOut:
    found = await locate(
        uow,
        rt.clock,
        rt.settings.vat_rates,
        near=near,
        radius_km=Decimal(radius_km),
        limit=limit,
        filters=Filters(standard=connector, min_kw=min_kw, available_only=available),
    )
    return LocationsOut(items=[LocationOut.of(site) for site in found])
