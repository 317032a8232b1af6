"""Sites near a position (issue 16, the driver app's "locate"), computed in the database.

Two steps: the bounding box of the search circle (``domain.geo_search.bounding_box``) on the
indexed coordinates (``tables.SITE_LATITUDE``/``SITE_LONGITUDE``, index ``ix_sites_position``)
keeps the candidates few; the exact haversine distance of those candidates then decides, and
sorting and the limit come after it. PostgreSQL computes the distance in SQL; so does SQLite
when it was built with its math functions (``SELECT sin(0)``, SQLite ≥ 3.35 with
SQLITE_ENABLE_MATH_FUNCTIONS, as Python's bundled one is). A SQLite without them gets the
bounding-box candidates from SQL and the exact distance, sort and limit in Python
(``domain.geo_search.distance_km``): still only the box's candidates leave the database.

The connector filters are ``EXISTS`` subqueries, so the limit counts matching sites; the
``available`` filter uses the status words of ``domain.availability``, which decides the same
thing per connector for the answer (held equal by ``tests/integration/test_locations.py``).
"""

from __future__ import annotations

import functools
import sqlite3
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.repositories.catalog import (
    SqlEvseRepository,
    SqlSiteRepository,
    SqlStationRepository,
)
from chargeledger.adapters.db.repositories.station_links import connector_state_of, state_of
from chargeledger.adapters.db.tables import (
    SITE_LATITUDE,
    SITE_LONGITUDE,
    connector_states,
    connectors,
    evses,
    sites,
    station_states,
    stations,
)
from chargeledger.domain.availability import (
    AVAILABLE_STATUS,
    STATION_DOWN_STATUSES,
    STATION_WIDE_EVSE,
)
from chargeledger.domain.geo_search import EARTH_RADIUS_KM, distance_km
from chargeledger.domain.station_link import ConnectorState
from chargeledger.services.location_ports import SiteHit, SiteNetwork, SiteSearch


@functools.cache
def sqlite_has_math() -> bool:
    """Whether this process's SQLite library (the one the async driver wraps too) has the
    math functions: asked once, of an in-memory database."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("SELECT sin(0)")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def _number(value: float) -> ColumnElement[float]:
    return literal(value, Float)


def _in_box(search: SiteSearch) -> ColumnElement[bool]:
    box = search.box
    longitudes = [
        SITE_LONGITUDE.between(_number(west), _number(east)) for west, east in box.longitudes
    ]
    return and_(
        SITE_LATITUDE.between(_number(box.south), _number(box.north)),
        longitudes[0] if len(longitudes) == 1 else or_(*longitudes),
    )


def _distance(search: SiteSearch) -> ColumnElement[float]:
    """Haversine in SQL, the formula of ``domain.geo_search.distance_km``."""
    lat1 = func.radians(_number(float(search.centre.latitude)))
    lon1 = func.radians(_number(float(search.centre.longitude)))
    lat2, lon2 = func.radians(SITE_LATITUDE), func.radians(SITE_LONGITUDE)
    half_lat, half_lon = func.sin((lat2 - lat1) / 2), func.sin((lon2 - lon1) / 2)
    h = half_lat * half_lat + func.cos(lat1) * func.cos(lat2) * half_lon * half_lon
    root = func.sqrt(case((h > 1, _number(1.0)), else_=h))
    return 2 * _number(EARTH_RADIUS_KM) * func.asin(root)


def _has_matching_connector(search: SiteSearch) -> ColumnElement[bool] | None:
    conditions: list[ColumnElement[bool]] = []
    if search.standard is not None:
        conditions.append(connectors.c.standard == search.standard.value)
    if search.min_kw is not None:
        conditions.append(cast(connectors.c.max_power_kw, Float) >= float(search.min_kw))
    if not conditions and not search.available_only:
        return None
    plugs = stations.join(evses, evses.c.station_id == stations.c.id).join(
        connectors, connectors.c.evse_pk == evses.c.id
    )
    if search.available_only:
        plugs = plugs.join(
            station_states,
            and_(station_states.c.station_id == stations.c.id, station_states.c.connected),
        ).join(
            connector_states,
            and_(
                connector_states.c.station_id == stations.c.id,
                connector_states.c.evse_id == evses.c.evse_id,
                connector_states.c.connector_id == connectors.c.connector_id,
                connector_states.c.status == AVAILABLE_STATUS,
            ),
        )
        wide = connector_states.alias("station_wide")
        station_down = (
            select(wide.c.station_id)
            .where(
                wide.c.station_id == stations.c.id,
                wide.c.evse_id == STATION_WIDE_EVSE,
                wide.c.status.in_(STATION_DOWN_STATUSES),
            )
            .exists()
        )
        conditions.append(~station_down)
    return exists(
        select(connectors.c.connector_id)
        .select_from(plugs)
        .where(stations.c.site_id == sites.c.id, *conditions)
    )


def _candidates(search: SiteSearch) -> list[ColumnElement[bool]]:
    """In the box, with a matching connector."""
    where = [_in_box(search)]
    matching = _has_matching_connector(search)
    if matching is not None:
        where.append(matching)
    return where


def nearby_query(search: SiteSearch) -> Select[Any]:
    """The box's candidates, their exact distance, those within the radius, nearest first."""
    distance = _distance(search).label("distance_km")
    candidates = select(sites.c.id, sites.c.name, distance).where(*_candidates(search)).subquery()
    return (
        select(candidates.c.id, candidates.c.distance_km)
        .where(candidates.c.distance_km <= float(search.radius_km))
        .order_by(candidates.c.distance_km, candidates.c.name, candidates.c.id)
        .limit(search.limit)
    )


class SqlLocationRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    def _sql_math(self) -> bool:
        return self._connection.dialect.name != "sqlite" or sqlite_has_math()

    async def nearby(self, search: SiteSearch, *, sql_math: bool | None = None) -> list[SiteHit]:
        """``sql_math``: force (tests) the exact distance in SQL (True) or in Python (False)."""
        if sql_math if sql_math is not None else self._sql_math():
            rows = await self._connection.execute(nearby_query(search))
            return [SiteHit(row.id, float(row.distance_km)) for row in rows]
        return await self._nearby_in_python(search)

    async def _nearby_in_python(self, search: SiteSearch) -> list[SiteHit]:
        rows = await self._connection.execute(
            select(sites.c.id, sites.c.name, sites.c.latitude, sites.c.longitude).where(
                *_candidates(search)
            )
        )
        centre = search.centre
        measured = [
            (distance_km(centre.latitude, centre.longitude, r.latitude, r.longitude), r.name, r.id)
            for r in rows
        ]
        within = sorted(m for m in measured if m[0] <= float(search.radius_km))
        return [SiteHit(site_id, km) for km, _, site_id in within[: search.limit]]

    async def network(self, site_ids: Collection[uuid.UUID]) -> SiteNetwork:
        ids = list(site_ids)
        found_sites = await SqlSiteRepository(self._connection).get_many(ids)
        station_rows = await self._connection.execute(
            select(stations).where(stations.c.site_id.in_(ids)).order_by(stations.c.charge_point_id)
        )
        station_repo = SqlStationRepository(self._connection)
        found_stations = [station_repo.from_row(row) for row in station_rows.mappings()]
        station_ids = [s.id for s in found_stations]
        by_station: dict[uuid.UUID, list[Any]] = {}
        for evse in await SqlEvseRepository(self._connection).of_stations(station_ids):
            by_station.setdefault(evse.station_id, []).append(evse)
        states = await self._connection.execute(
            select(station_states).where(station_states.c.station_id.in_(station_ids))
        )
        plugs = await self._connection.execute(
            select(connector_states)
            .where(connector_states.c.station_id.in_(station_ids))
            .order_by(connector_states.c.evse_id, connector_states.c.connector_id)
        )
        plug_states: dict[uuid.UUID, list[ConnectorState]] = {}
        for row in plugs.mappings():
            plug_states.setdefault(row["station_id"], []).append(connector_state_of(row))
        return SiteNetwork(
            sites={site.id: site for site in found_sites},
            stations=found_stations,
            evses=by_station,
            states={row["station_id"]: state_of(row) for row in states.mappings()},
            connector_states=plug_states,
        )
