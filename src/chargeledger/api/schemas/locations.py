"""Answers of the driver app's "locate" (issue 16): sites, nearest first, with their stations,
EVSEs and connectors; vocabulary of OCPI 2.2.1 §8 (connector standard and format, EVSE
status) so that apps and roaming partners read it as they read an OCPI Location."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from chargeledger.api.schemas.catalog import AddressBody
from chargeledger.api.schemas.common import coded
from chargeledger.domain.availability import Availability
from chargeledger.domain.catalog import (
    MAX_CONNECTOR_POWER_KW,
    ConnectorFormat,
    ConnectorStandard,
    PowerType,
)
from chargeledger.domain.geo_search import MAX_RADIUS_KM
from chargeledger.services.locations import (
    LocatedConnector,
    LocatedEvse,
    LocatedSite,
    LocatedStation,
)

RadiusKm = Annotated[
    Decimal,
    Field(gt=0, le=MAX_RADIUS_KM, description="search radius in km"),
    coded("invalid_radius"),
]
MinKw = Annotated[
    Decimal,
    Field(gt=0, le=MAX_CONNECTOR_POWER_KW, description="least max power in kW"),
    coded("invalid_min_kw"),
]


class PriceOut(BaseModel):
    """The AFIR price display (EU AFIR art. 5) for an ad hoc driver, VAT of the site."""

    tariff_id: uuid.UUID
    currency: str
    lines: list[str]


class LocatedConnectorOut(BaseModel):
    connector_id: int
    standard: ConnectorStandard
    format: ConnectorFormat
    power_type: PowerType
    max_power_kw: Decimal
    availability: Availability
    status_at: datetime | None
    price: PriceOut | None

    @classmethod
    def of(cls, located: LocatedConnector) -> LocatedConnectorOut:
        c, price = located.connector, located.price
        return cls(
            connector_id=c.connector_id,
            standard=c.standard,
            format=c.format,
            power_type=c.power_type,
            max_power_kw=c.max_power_kw,
            availability=located.availability,
            status_at=located.status_at,
            price=None
            if price is None
            else PriceOut(tariff_id=price.tariff_id, currency=price.currency, lines=price.lines),
        )


class LocatedEvseOut(BaseModel):
    evse_id: int
    evse_uid: str | None
    connectors: list[LocatedConnectorOut]

    @classmethod
    def of(cls, located: LocatedEvse) -> LocatedEvseOut:
        return cls(
            evse_id=located.evse.evse_id,
            evse_uid=located.evse.evse_uid,
            connectors=[LocatedConnectorOut.of(c) for c in located.connectors],
        )


class LocatedStationOut(BaseModel):
    id: uuid.UUID
    charge_point_id: str
    online: bool
    evses: list[LocatedEvseOut]

    @classmethod
    def of(cls, located: LocatedStation) -> LocatedStationOut:
        return cls(
            id=located.station.id,
            charge_point_id=located.station.charge_point_id,
            online=located.online,
            evses=[LocatedEvseOut.of(e) for e in located.evses],
        )


class LocationOut(BaseModel):
    id: uuid.UUID
    name: str
    address: AddressBody
    latitude: Decimal
    longitude: Decimal
    time_zone: str
    distance_km: Annotated[Decimal, Field(description="great-circle distance, 2 decimals")]
    stations: list[LocatedStationOut]

    @classmethod
    def of(cls, located: LocatedSite) -> LocationOut:
        site = located.site
        return cls(
            id=site.id,
            name=site.name,
            address=AddressBody.of(site.address),
            latitude=site.latitude,
            longitude=site.longitude,
            time_zone=site.time_zone,
            distance_km=located.distance_km,
            stations=[LocatedStationOut.of(s) for s in located.stations],
        )


class LocationsOut(BaseModel):
    items: list[LocationOut]
