"""Bodies of sites, stations and EVSEs. Station passwords are write-only."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from chargeledger.api.schemas.common import (
    ConnectorNumber,
    EvseNumber,
    Input,
    Latitude,
    Longitude,
    Patch,
    PowerKw,
    SecurityProfile,
)
from chargeledger.domain.catalog import (
    MAX_CONNECTOR_ID,
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    OcppVersion,
    PowerType,
    Site,
    Station,
)
from chargeledger.domain.geo import Address


class AddressBody(Input):
    street: str
    postal_code: str
    city: str
    country: Annotated[str, Field(description="ISO 3166-1 alpha-2", examples=["DE"])]

    def to_domain(self) -> Address:
        return Address(self.street, self.postal_code, self.city, self.country)

    @classmethod
    def of(cls, address: Address) -> AddressBody:
        return cls(
            street=address.street,
            postal_code=address.postal_code,
            city=address.city,
            country=address.country,
        )


class SiteIn(Input):
    name: str
    operator_name: str | None = None
    address: AddressBody
    latitude: Latitude
    longitude: Longitude
    time_zone: Annotated[str, Field(examples=["Europe/Berlin"])]


class SitePatch(Patch):
    nullable = frozenset({"operator_name"})

    name: str | None = None
    operator_name: str | None = None
    address: AddressBody | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    time_zone: str | None = None


class SiteOut(BaseModel):
    id: uuid.UUID
    name: str
    operator_name: str | None
    address: AddressBody
    latitude: Decimal
    longitude: Decimal
    time_zone: str
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, site: Site) -> SiteOut:
        return cls(
            id=site.id,
            name=site.name,
            operator_name=site.operator_name,
            address=AddressBody.of(site.address),
            latitude=site.latitude,
            longitude=site.longitude,
            time_zone=site.time_zone,
            created_at=site.created_at,
            updated_at=site.updated_at,
        )


class StationIn(Input):
    site_id: uuid.UUID
    charge_point_id: str
    vendor: str
    model: str
    serial_number: str | None = None
    ocpp_version: OcppVersion = OcppVersion.V201
    security_profile: SecurityProfile = 1
    password: Annotated[
        str | None, Field(description="Basic-auth password for profiles 1/2 (16-40 chars)")
    ] = None
    meter_serial: str | None = None
    ocmf_public_key: str | None = None


class StationPatch(Patch):
    nullable = frozenset({"serial_number", "meter_serial", "ocmf_public_key", "password"})

    site_id: uuid.UUID | None = None
    vendor: str | None = None
    model: str | None = None
    serial_number: str | None = None
    ocpp_version: OcppVersion | None = None
    security_profile: SecurityProfile | None = None
    password: str | None = None
    meter_serial: str | None = None
    ocmf_public_key: str | None = None


class StationOut(BaseModel):
    id: uuid.UUID
    site_id: uuid.UUID
    charge_point_id: str
    vendor: str
    model: str
    serial_number: str | None
    ocpp_version: OcppVersion
    security_profile: int
    has_password: bool
    meter_serial: str | None
    ocmf_public_key: str | None
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, station: Station) -> StationOut:
        return cls(
            id=station.id,
            site_id=station.site_id,
            charge_point_id=station.charge_point_id,
            vendor=station.vendor,
            model=station.model,
            serial_number=station.serial_number,
            ocpp_version=station.ocpp_version,
            security_profile=station.security_profile,
            has_password=station.password_hash is not None,
            meter_serial=station.meter_serial,
            ocmf_public_key=station.ocmf_public_key,
            created_at=station.created_at,
            updated_at=station.updated_at,
        )


class ConnectorBody(Input):
    connector_id: ConnectorNumber
    standard: ConnectorStandard
    format: ConnectorFormat
    power_type: PowerType
    max_power_kw: PowerKw

    def to_domain(self) -> Connector:
        return Connector(
            connector_id=self.connector_id,
            standard=self.standard,
            format=self.format,
            power_type=self.power_type,
            max_power_kw=self.max_power_kw,
        )

    @classmethod
    def of(cls, connector: Connector) -> ConnectorBody:
        return cls(
            connector_id=connector.connector_id,
            standard=connector.standard,
            format=connector.format,
            power_type=connector.power_type,
            max_power_kw=connector.max_power_kw,
        )


class EvseIn(Input):
    station_id: uuid.UUID
    evse_id: EvseNumber
    evse_uid: Annotated[str | None, Field(examples=["DE*CLG*E0001*1"])] = None
    connectors: Annotated[list[ConnectorBody], Field(max_length=MAX_CONNECTOR_ID)]


class EvsePatch(Patch):
    nullable = frozenset({"evse_uid"})

    evse_uid: str | None = None
    connectors: Annotated[list[ConnectorBody], Field(max_length=MAX_CONNECTOR_ID)] | None = None


class EvseOut(BaseModel):
    id: uuid.UUID
    station_id: uuid.UUID
    evse_id: int
    evse_uid: str | None
    connectors: list[ConnectorBody]
    max_power_kw: Decimal
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, evse: Evse) -> EvseOut:
        return cls(
            id=evse.id,
            station_id=evse.station_id,
            evse_id=evse.evse_id,
            evse_uid=evse.evse_uid,
            connectors=[ConnectorBody.of(c) for c in evse.connectors],
            max_power_kw=evse.max_power_kw,
            created_at=evse.created_at,
            updated_at=evse.updated_at,
        )
