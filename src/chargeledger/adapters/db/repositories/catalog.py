"""Repositories of sites, stations and EVSEs (with their connectors)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping

from chargeledger.adapters.db.repositories.base import CHUNK, TableRepository, chunks
from chargeledger.adapters.db.tables import connectors, evses, sites, stations
from chargeledger.domain.catalog import (
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
from chargeledger.services.paging import Page

# The station handshakes of a reconnect storm, read together (``services.batching``): built
# once, its list expanded when it runs.
_STATIONS_BY_CHARGE_POINT_ID = select(stations).where(
    stations.c.charge_point_id.in_(bindparam("cpids", expanding=True))
)

# Booting stations' EVSE ids (what they are asked their meters' keys about): built once.
_EVSE_IDS = (
    select(evses.c.station_id, evses.c.evse_id)
    .where(evses.c.station_id.in_(bindparam("ids", expanding=True)))
    .order_by(evses.c.station_id, evses.c.evse_id)
)


class SqlSiteRepository(TableRepository[Site]):
    table = sites

    def to_row(self, entity: Site) -> dict[str, Any]:
        return {
            "id": entity.id,
            "name": entity.name,
            "operator_name": entity.operator_name,
            "street": entity.address.street,
            "postal_code": entity.address.postal_code,
            "city": entity.address.city,
            "country": entity.address.country,
            "latitude": entity.latitude,
            "longitude": entity.longitude,
            "time_zone": entity.time_zone,
            "created_at": entity.created_at,
            "updated_at": entity.updated_at,
        }

    def from_row(self, row: RowMapping) -> Site:
        return Site(
            id=row["id"],
            name=row["name"],
            operator_name=row["operator_name"],
            address=Address(row["street"], row["postal_code"], row["city"], row["country"]),
            latitude=row["latitude"],
            longitude=row["longitude"],
            time_zone=row["time_zone"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    async def list(self, *, limit: int, offset: int) -> Page[Site]:
        return await self._page(select(sites).order_by(sites.c.name, sites.c.id), limit, offset)


class SqlStationRepository(TableRepository[Station]):
    table = stations

    def to_row(self, entity: Station) -> dict[str, Any]:
        return {
            "id": entity.id,
            "site_id": entity.site_id,
            "charge_point_id": entity.charge_point_id,
            "vendor": entity.vendor,
            "model": entity.model,
            "serial_number": entity.serial_number,
            "ocpp_version": entity.ocpp_version.value,
            "security_profile": entity.security_profile,
            "password_hash": entity.password_hash,
            "meter_serial": entity.meter_serial,
            "ocmf_public_key": entity.ocmf_public_key,
            "created_at": entity.created_at,
            "updated_at": entity.updated_at,
        }

    def from_row(self, row: RowMapping) -> Station:
        return Station(
            id=row["id"],
            site_id=row["site_id"],
            charge_point_id=row["charge_point_id"],
            vendor=row["vendor"],
            model=row["model"],
            serial_number=row["serial_number"],
            ocpp_version=OcppVersion(row["ocpp_version"]),
            security_profile=row["security_profile"],
            password_hash=row["password_hash"],
            meter_serial=row["meter_serial"],
            ocmf_public_key=row["ocmf_public_key"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    async def get_by_charge_point_id(self, charge_point_id: str) -> Station | None:
        return await self._one(
            select(stations).where(stations.c.charge_point_id == charge_point_id)
        )

    async def by_charge_point_ids(self, charge_point_ids: Collection[str]) -> dict[str, Station]:
        found: dict[str, Station] = {}
        wanted = sorted(charge_point_ids)
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            result = await self._connection.execute(_STATIONS_BY_CHARGE_POINT_ID, {"cpids": chunk})
            for row in result.mappings():
                station = self.from_row(row)
                found[station.charge_point_id] = station
        return found

    async def list(self, *, site_id: uuid.UUID | None, limit: int, offset: int) -> Page[Station]:
        query = select(stations).order_by(stations.c.charge_point_id)
        if site_id is not None:
            query = query.where(stations.c.site_id == site_id)
        return await self._page(query, limit, offset)

    async def exists_for_site(self, site_id: uuid.UUID) -> bool:
        return await self._exists(site_id=site_id)

    async def replace_password_hash(self, station_id: uuid.UUID, old: str, new: str) -> bool:
        result = await self._connection.execute(
            update(stations)
            .where(stations.c.id == station_id, stations.c.password_hash == old)
            .values(password_hash=new)
        )
        return bool(result.rowcount == 1)


class SqlEvseRepository(TableRepository[Evse]):
    """EVSEs with their connectors as one aggregate: connectors are replaced as a whole."""

    table = evses

    def to_row(self, entity: Evse) -> dict[str, Any]:
        return {
            "id": entity.id,
            "station_id": entity.station_id,
            "evse_id": entity.evse_id,
            "evse_uid": entity.evse_uid,
            "created_at": entity.created_at,
            "updated_at": entity.updated_at,
        }

    def from_row(self, row: RowMapping) -> Evse:
        raise TypeError("EVSEs are loaded with their connectors; use _load")

    def _connector_rows(self, entity: Evse) -> list[dict[str, Any]]:
        return [
            {
                "evse_pk": entity.id,
                "connector_id": c.connector_id,
                "standard": c.standard.value,
                "format": c.format.value,
                "power_type": c.power_type.value,
                "max_power_kw": c.max_power_kw,
            }
            for c in entity.connectors
        ]

    async def add(self, entity: Evse) -> None:
        await super().add(entity)
        await self._execute(insert(connectors).values(self._connector_rows(entity)))

    async def update(self, entity: Evse) -> None:
        await super().update(entity)
        await self._execute(delete(connectors).where(connectors.c.evse_pk == entity.id))
        await self._execute(insert(connectors).values(self._connector_rows(entity)))

    async def delete(self, entity_id: uuid.UUID) -> None:
        await self._execute(delete(connectors).where(connectors.c.evse_pk == entity_id))
        await super().delete(entity_id)

    async def _load(self, query: Any) -> list[Evse]:
        rows = (await self._connection.execute(query)).mappings().all()
        if not rows:
            return []
        plugs = await self._connection.execute(
            select(connectors)
            .where(connectors.c.evse_pk.in_([row["id"] for row in rows]))
            .order_by(connectors.c.evse_pk, connectors.c.connector_id)
        )
        by_evse: dict[uuid.UUID, list[Connector]] = {}
        for plug in plugs.mappings():
            by_evse.setdefault(plug["evse_pk"], []).append(
                Connector(
                    connector_id=plug["connector_id"],
                    standard=ConnectorStandard(plug["standard"]),
                    format=ConnectorFormat(plug["format"]),
                    power_type=PowerType(plug["power_type"]),
                    max_power_kw=plug["max_power_kw"],
                )
            )
        return [
            Evse(
                id=row["id"],
                station_id=row["station_id"],
                evse_id=row["evse_id"],
                evse_uid=row["evse_uid"],
                connectors=tuple(by_evse.get(row["id"], ())),
                created_at=row["created_at"],
                updated_at=row["updated_at"],
            )
            for row in rows
        ]

    async def get(self, entity_id: uuid.UUID) -> Evse | None:
        found = await self._load(select(evses).where(evses.c.id == entity_id))
        return found[0] if found else None

    async def get_by_station_evse(self, station_id: uuid.UUID, evse_id: int) -> Evse | None:
        found = await self._load(
            select(evses).where(evses.c.station_id == station_id, evses.c.evse_id == evse_id)
        )
        return found[0] if found else None

    async def list(self, *, station_id: uuid.UUID | None, limit: int, offset: int) -> Page[Evse]:
        query = select(evses).order_by(evses.c.station_id, evses.c.evse_id)
        if station_id is not None:
            query = query.where(evses.c.station_id == station_id)
        found = await self._load(query.limit(limit + 1).offset(offset))
        return Page(items=found[:limit], next_offset=offset + limit if len(found) > limit else None)

    async def evse_ids(
        self, station_ids: Collection[uuid.UUID], limit: int
    ) -> dict[uuid.UUID, Sequence[int]]:
        found: dict[uuid.UUID, list[int]] = {}
        for chunk in chunks(station_ids):
            result = await self._connection.execute(_EVSE_IDS, {"ids": chunk})
            for station_id, evse_id in result:
                ids = found.setdefault(station_id, [])
                if len(ids) < limit:
                    ids.append(int(evse_id))
        return dict(found)

    async def of_stations(self, station_ids: Collection[uuid.UUID]) -> Sequence[Evse]:
        """The EVSEs of these stations, in station then EVSE order (one query, plus one for
        their connectors)."""
        if not station_ids:
            return []
        return await self._load(
            select(evses)
            .where(evses.c.station_id.in_(list(station_ids)))
            .order_by(evses.c.station_id, evses.c.evse_id)
        )

    async def exists_for_station(self, station_id: uuid.UUID) -> bool:
        return await self._exists(station_id=station_id)

    async def count_connectors(self) -> int:
        result = await self._connection.execute(select(func.count()).select_from(connectors))
        return int(result.scalar_one())
