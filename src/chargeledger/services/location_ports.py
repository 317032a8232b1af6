"""What the driver app's "locate" (issue 16) needs from storage: the sites near a position,
nearest first, and the network at those sites in a handful of queries."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from chargeledger.domain.catalog import ConnectorStandard, Evse, Site, Station
from chargeledger.domain.geo_search import BoundingBox, Position
from chargeledger.domain.station_link import ConnectorState, StationState


@dataclass(frozen=True, slots=True)
class SiteSearch:
    """Sites within ``radius_km`` of ``centre`` (``box`` bounds that circle) that have a
    connector of ``standard`` with at least ``min_kw``, available now if ``available_only``
    (``domain.availability``: the station connected, the connector's last status Available,
    no station-wide Unavailable or Faulted); at most ``limit``, nearest first."""

    centre: Position
    radius_km: Decimal
    box: BoundingBox
    limit: int
    standard: ConnectorStandard | None = None
    min_kw: Decimal | None = None
    available_only: bool = False


@dataclass(frozen=True, slots=True)
class SiteHit:
    site_id: uuid.UUID
    distance_km: float


@dataclass(frozen=True, slots=True)
class SiteNetwork:
    """The sites' stations, their EVSEs (with connectors) and what the stations told us."""

    sites: dict[uuid.UUID, Site]
    stations: list[Station]
    evses: dict[uuid.UUID, list[Evse]]  # by station id, in EVSE order
    states: dict[uuid.UUID, StationState]  # by station id
    connector_states: dict[uuid.UUID, list[ConnectorState]] = field(default_factory=dict)


class LocationRepository(Protocol):
    async def nearby(self, search: SiteSearch) -> list[SiteHit]:
        """The matching sites within the radius by exact great-circle distance, nearest
        first (then by name), at most ``search.limit``."""
        ...

    async def network(self, site_ids: Collection[uuid.UUID]) -> SiteNetwork: ...
