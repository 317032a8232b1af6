"""Use cases of the physical catalog: sites, stations, EVSEs with their connectors.

Like every service, they write into the unit of work they are handed and leave the commit to
the code that opened it (DESIGN §3; ``services.transactions.in_transaction``)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from chargeledger.domain.catalog import Evse, Site, Station, station_password
from chargeledger.errors import ConflictError, DuplicateError, InvalidInputError, NotFoundError
from chargeledger.services.common import apply_changes, page_bounds
from chargeledger.services.paging import Page
from chargeledger.services.ports import Clock, Repository, StationSecrets, UnitOfWork

SITE_FIELDS = frozenset({"name", "address", "latitude", "longitude", "time_zone", "operator_name"})
STATION_FIELDS = frozenset(
    {
        "site_id",
        "vendor",
        "model",
        "ocpp_version",
        "security_profile",
        "serial_number",
        "meter_serial",
        "ocmf_public_key",
    }
)
EVSE_FIELDS = frozenset({"evse_uid", "connectors"})

# The catalog's records, each with its created_at/updated_at stamps.
Record = TypeVar("Record", Site, Station, Evse)


def _created(record: Record, clock: Clock) -> Record:
    now = clock.now()
    return dataclasses.replace(record, created_at=now, updated_at=now)


def _updated(record: Record, clock: Clock) -> Record:
    return dataclasses.replace(record, updated_at=clock.now())


async def _add(records: Repository[Record], record: Record) -> Record:
    await records.add(record)
    return record


async def _update(records: Repository[Record], record: Record) -> Record:
    await records.update(record)
    return record


def _existing(found: Record | None, what: str, code: str) -> Record:
    """``found``, or the not-found error with the record's stable code."""
    if found is None:
        raise NotFoundError(f"{what} not found", code=code)
    return found


# --- sites -------------------------------------------------------------------------------


async def create_site(uow: UnitOfWork, clock: Clock, site: Site) -> Site:
    return await _add(uow.sites, _created(site, clock))


async def get_site(uow: UnitOfWork, site_id: uuid.UUID) -> Site:
    return _existing(await uow.sites.get(site_id), f"site {site_id}", "site_not_found")


async def list_sites(uow: UnitOfWork, *, limit: int = 100, offset: int = 0) -> Page[Site]:
    limit, offset = page_bounds(limit, offset)
    return await uow.sites.list(limit=limit, offset=offset)


async def update_site(
    uow: UnitOfWork, clock: Clock, site_id: uuid.UUID, changes: Mapping[str, Any]
) -> Site:
    site = apply_changes(await get_site(uow, site_id), changes, SITE_FIELDS)
    return await _update(uow.sites, _updated(site, clock))


async def delete_site(uow: UnitOfWork, site_id: uuid.UUID) -> None:
    await get_site(uow, site_id)
    if await uow.stations.exists_for_site(site_id):
        raise ConflictError("the site still has stations", code="site_has_stations")
    await uow.sites.delete(site_id)


# --- stations ----------------------------------------------------------------------------


async def _require_site(uow: UnitOfWork, site_id: uuid.UUID) -> None:
    if await uow.sites.get(site_id) is None:
        raise InvalidInputError(
            f"site {site_id} does not exist", code="unknown_site", field="site_id"
        )


async def create_station(
    uow: UnitOfWork,
    clock: Clock,
    station_secrets: StationSecrets,
    fields: Mapping[str, Any],
    password: str | None,
) -> Station:
    """Register a station; its Basic-auth password is kept only as its keyed hash
    (``StationSecrets``, DESIGN §6), never in clear."""
    now = clock.now()
    password_hash = station_secrets.hash(station_password(password)) if password else None
    station = Station(**fields, password_hash=password_hash, created_at=now, updated_at=now)
    await _require_site(uow, station.site_id)
    if await uow.stations.get_by_charge_point_id(station.charge_point_id) is not None:
        raise DuplicateError(
            f"charge point id {station.charge_point_id!r} is already registered",
            code="duplicate_charge_point_id",
            field="charge_point_id",
        )
    return await _add(uow.stations, station)


async def get_station(uow: UnitOfWork, station_id: uuid.UUID) -> Station:
    found = await uow.stations.get(station_id)
    return _existing(found, f"station {station_id}", "station_not_found")


async def list_stations(
    uow: UnitOfWork, *, site_id: uuid.UUID | None = None, limit: int = 100, offset: int = 0
) -> Page[Station]:
    limit, offset = page_bounds(limit, offset)
    return await uow.stations.list(site_id=site_id, limit=limit, offset=offset)


async def update_station(
    uow: UnitOfWork,
    clock: Clock,
    station_secrets: StationSecrets,
    station_id: uuid.UUID,
    changes: Mapping[str, Any],
    password: str | None = None,
) -> Station:
    """Change a station's details; a new password replaces the stored hash (of any scheme:
    an older argon2 one too)."""
    changes = dict(changes)
    if password is not None:
        changes["password_hash"] = station_secrets.hash(station_password(password))
    station = await get_station(uow, station_id)
    station = apply_changes(station, changes, STATION_FIELDS | {"password_hash"})
    if "site_id" in changes:
        await _require_site(uow, station.site_id)
    return await _update(uow.stations, _updated(station, clock))


async def delete_station(uow: UnitOfWork, station_id: uuid.UUID) -> None:
    await get_station(uow, station_id)
    if await uow.evses.exists_for_station(station_id):
        raise ConflictError("the station still has EVSEs", code="station_has_evses")
    await uow.stations.delete(station_id)


async def verify_station_password(
    uow: UnitOfWork, station_secrets: StationSecrets, charge_point_id: str, password: str
) -> Station | None:
    """OCPP security profile 1/2: the station's Basic-auth password against its hash (an
    unknown station costs the same work as a wrong password). The connection edge uses
    ``station_access.authenticate_station``, which also throttles and replaces older
    argon2 hashes."""
    station = await uow.stations.get_by_charge_point_id(charge_point_id)
    usable = station if station is not None and station.security_profile in (1, 2) else None
    stored = usable.password_hash if usable is not None else None
    return usable if station_secrets.verify(stored, password) and usable else None


# --- EVSEs -------------------------------------------------------------------------------


async def create_evse(uow: UnitOfWork, clock: Clock, evse: Evse) -> Evse:
    if await uow.stations.get(evse.station_id) is None:
        raise InvalidInputError(
            f"station {evse.station_id} does not exist",
            code="unknown_station",
            field="station_id",
        )
    if await uow.evses.get_by_station_evse(evse.station_id, evse.evse_id) is not None:
        raise DuplicateError(
            f"the station already has EVSE {evse.evse_id}",
            code="duplicate_evse_id",
            field="evse_id",
        )
    return await _add(uow.evses, _created(evse, clock))


async def get_evse(uow: UnitOfWork, evse_id: uuid.UUID) -> Evse:
    return _existing(await uow.evses.get(evse_id), f"EVSE {evse_id}", "evse_not_found")


async def list_evses(
    uow: UnitOfWork, *, station_id: uuid.UUID | None = None, limit: int = 100, offset: int = 0
) -> Page[Evse]:
    limit, offset = page_bounds(limit, offset)
    return await uow.evses.list(station_id=station_id, limit=limit, offset=offset)


async def update_evse(
    uow: UnitOfWork, clock: Clock, evse_id: uuid.UUID, changes: Mapping[str, Any]
) -> Evse:
    evse = apply_changes(await get_evse(uow, evse_id), changes, EVSE_FIELDS)
    return await _update(uow.evses, _updated(evse, clock))


async def delete_evse(uow: UnitOfWork, evse_id: uuid.UUID) -> None:
    await get_evse(uow, evse_id)
    await uow.evses.delete(evse_id)
