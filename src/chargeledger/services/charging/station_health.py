"""The network at a glance (issue 16: the back office's stations list and its overview's
station availability): each station online, offline or faulted, each of its EVSEs available,
charging, faulted, offline, ...

Built from the same pieces as the REST API, so the pages and ``GET /api/v1/stations``,
``/api/v1/evses`` and ``/api/v1/stations/{id}/status`` never disagree: the catalog's stations
and EVSEs (``services.catalog``) and each station's status (``station_status.station_status``,
``live`` when the command bus reaches it, as the status route says). A connector's word is
``domain.availability`` (what the driver app shows), an EVSE's the most telling of its
connectors'. The whole network's statuses in two reads (``station_statuses``): the network is
tens to thousands of stations, and a filter on status needs every one of them anyway. A
query: it never writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from chargeledger.domain.availability import (
    STATION_WIDE_EVSE,
    Availability,
    connector_availability,
)
from chargeledger.domain.catalog import Evse, Station
from chargeledger.services.catalog import list_evses, list_stations
from chargeledger.services.charging.station_status import (
    StationStatus,
    station_status_now,
    station_statuses,
)
from chargeledger.services.common import MAX_PAGE_SIZE
from chargeledger.services.ports import UnitOfWork

FAULTED_STATUS = "Faulted"  # 1.6 ChargePointStatus and 2.0.1 ConnectorStatusEnumType alike


class Health(StrEnum):
    """A station's state in one word: not connected, connected with a connector (or the
    whole station) reporting Faulted, or connected."""

    ONLINE = "online"
    OFFLINE = "offline"
    FAULTED = "faulted"


class EvseState(StrEnum):
    AVAILABLE = "available"
    CHARGING = "charging"
    RESERVED = "reserved"
    INOPERATIVE = "inoperative"
    FAULTED = "faulted"
    OFFLINE = "offline"  # its station is not connected
    UNKNOWN = "unknown"  # connected, but no status reported yet


# An EVSE takes the first of these that one of its connectors has: one plug in use makes the
# EVSE busy; one plug free makes it available.
_EVSE_ORDER = (
    Availability.CHARGING,
    Availability.RESERVED,
    Availability.AVAILABLE,
    Availability.OUTOFORDER,
    Availability.INOPERATIVE,
    Availability.UNKNOWN,
)
_EVSE_STATE = {
    Availability.CHARGING: EvseState.CHARGING,
    Availability.RESERVED: EvseState.RESERVED,
    Availability.AVAILABLE: EvseState.AVAILABLE,
    Availability.OUTOFORDER: EvseState.FAULTED,
    Availability.INOPERATIVE: EvseState.INOPERATIVE,
    Availability.UNKNOWN: EvseState.UNKNOWN,
}


@dataclass(frozen=True, slots=True)
class EvseHealth:
    evse: Evse
    state: EvseState
    connectors: dict[int, Availability]  # by connector id


@dataclass(frozen=True, slots=True)
class StationHealth:
    status: StationStatus
    health: Health
    evses: list[EvseHealth]

    @property
    def station(self) -> Station:
        return self.status.station


def health_of(status: StationStatus) -> Health:
    if not status.live:
        return Health.OFFLINE
    if any(c.status == FAULTED_STATUS for c in status.connectors):
        return Health.FAULTED
    return Health.ONLINE


def evse_health(status: StationStatus, evse: Evse) -> EvseHealth:
    reported = {(c.evse_id, c.connector_id): c.status for c in status.connectors}
    wide = reported.get((STATION_WIDE_EVSE, 1)) or reported.get((STATION_WIDE_EVSE, 0))
    plugs = {
        c.connector_id: connector_availability(
            status.live, reported.get((evse.evse_id, c.connector_id)), wide
        )
        for c in evse.connectors
    }
    if not status.live:
        return EvseHealth(evse, EvseState.OFFLINE, plugs)
    word = next((a for a in _EVSE_ORDER if a in plugs.values()), Availability.UNKNOWN)
    return EvseHealth(evse, _EVSE_STATE[word], plugs)


async def evses_of(uow: UnitOfWork, station_id: uuid.UUID | None) -> dict[uuid.UUID, list[Evse]]:
    """The catalog's EVSEs (of one station, or of all), by station id, in EVSE order."""
    found: dict[uuid.UUID, list[Evse]] = {}
    offset: int | None = 0
    while offset is not None:
        page = await list_evses(uow, station_id=station_id, limit=MAX_PAGE_SIZE, offset=offset)
        for evse in page.items:
            found.setdefault(evse.station_id, []).append(evse)
        offset = page.next_offset
    return {sid: sorted(evses, key=lambda e: e.evse_id) for sid, evses in found.items()}


async def station_health(
    uow: UnitOfWork, station_id: uuid.UUID, is_connected: Callable[[str], bool]
) -> StationHealth:
    """One station (``station_not_found`` when there is none)."""
    status = await station_status_now(uow, station_id, is_connected)
    evses = (await evses_of(uow, station_id)).get(station_id, [])
    return StationHealth(status, health_of(status), [evse_health(status, e) for e in evses])


async def network_health(
    uow: UnitOfWork, is_connected: Callable[[str], bool], site_id: uuid.UUID | None = None
) -> list[StationHealth]:
    """Every station (of ``site_id``, if given) in the catalog's order, with its EVSEs."""
    stations: list[Station] = []
    offset: int | None = 0
    while offset is not None:
        page = await list_stations(uow, site_id=site_id, limit=MAX_PAGE_SIZE, offset=offset)
        stations.extend(page.items)
        offset = page.next_offset
    evses = await evses_of(uow, None) if stations else {}
    found = []
    for status in await station_statuses(uow, stations, is_connected):
        shown = [evse_health(status, e) for e in evses.get(status.station.id, [])]
        found.append(StationHealth(status, health_of(status), shown))
    return found


@dataclass(frozen=True, slots=True)
class AvailabilityCounts:
    stations: dict[Health, int]
    evses: dict[EvseState, int]


def count_availability(network: list[StationHealth]) -> AvailabilityCounts:
    stations = dict.fromkeys(Health, 0)
    evses = dict.fromkeys(EvseState, 0)
    for item in network:
        stations[item.health] += 1
        for evse in item.evses:
            evses[evse.state] += 1
    return AvailabilityCounts(stations, evses)


async def availability_now(
    uow: UnitOfWork, is_connected: Callable[[str], bool]
) -> AvailabilityCounts:
    """How many stations are online, offline, faulted and how many EVSEs are in each state."""
    return count_availability(await network_health(uow, is_connected))
