"""The driver app's "locate" (issue 16): sites near a position, nearest first, with every
connector's power, its availability now and the price an ad hoc driver would pay there.

The price is the AFIR price display (EU AFIR art. 5) of the tariff an ad hoc session on that
connector would start under (``tariff_for_session`` without an account, as the QR checkout
shows it), with the VAT of the site's supply to nobody's account: the same lines the checkout
page and a quote without an account show. A query: it never writes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from chargeledger.domain.availability import (
    STATION_WIDE_EVSE,
    Availability,
    connector_availability,
)
from chargeledger.domain.billing import VatRates, supply_vat, vat_note
from chargeledger.domain.catalog import Connector, ConnectorStandard, Evse, Site, Station
from chargeledger.domain.geo_search import (
    bounding_box,
    parse_near,
    search_radius,
    shown_km,
)
from chargeledger.domain.station_link import ConnectorState
from chargeledger.domain.tariffs.display import price_display
from chargeledger.services.location_ports import SiteNetwork, SiteSearch
from chargeledger.services.ports import Clock, UnitOfWork
from chargeledger.services.tariffs import tariff_for_session


@dataclass(frozen=True, slots=True)
class ShownPrice:
    tariff_id: uuid.UUID
    currency: str
    lines: list[str]


@dataclass(frozen=True, slots=True)
class LocatedConnector:
    connector: Connector
    availability: Availability
    status_at: datetime | None
    price: ShownPrice | None  # None: no tariff applies to an ad hoc session here


@dataclass(frozen=True, slots=True)
class LocatedEvse:
    evse: Evse
    connectors: list[LocatedConnector]


@dataclass(frozen=True, slots=True)
class LocatedStation:
    station: Station
    online: bool
    evses: list[LocatedEvse]


@dataclass(frozen=True, slots=True)
class LocatedSite:
    site: Site
    distance_km: Decimal
    stations: list[LocatedStation]


@dataclass(frozen=True, slots=True)
class Filters:
    standard: ConnectorStandard | None = None
    min_kw: Decimal | None = None
    available_only: bool = False

    def keeps(self, connector: Connector, availability: Availability) -> bool:
        return (
            (self.standard is None or connector.standard is self.standard)
            and (self.min_kw is None or connector.max_power_kw >= self.min_kw)
            and (not self.available_only or availability is Availability.AVAILABLE)
        )


async def locate(
    uow: UnitOfWork,
    clock: Clock,
    rates: VatRates,
    *,
    near: str,
    radius_km: Decimal,
    limit: int,
    filters: Filters = Filters(),
) -> list[LocatedSite]:
    """The sites within ``radius_km`` of ``near`` ("LAT,LON") that have a connector passing
    ``filters``, nearest first, each with only the connectors that pass them."""
    centre = parse_near(near)
    radius = search_radius(radius_km)
    search = SiteSearch(
        centre=centre,
        radius_km=radius,
        box=bounding_box(centre, radius),
        limit=limit,
        standard=filters.standard,
        min_kw=filters.min_kw,
        available_only=filters.available_only,
    )
    hits = await uow.locations.nearby(search)
    if not hits:
        return []
    network = await uow.locations.network([hit.site_id for hit in hits])
    now = clock.now()
    found = []
    for hit in hits:
        site = network.sites[hit.site_id]
        stations = await stations_at(uow, rates, network, site, filters, now)
        if stations:
            found.append(LocatedSite(site, shown_km(hit.distance_km), stations))
    return found


async def stations_at(
    uow: UnitOfWork,
    rates: VatRates,
    network: SiteNetwork,
    site: Site,
    filters: Filters,
    now: datetime,
) -> list[LocatedStation]:
    """The stations of ``site`` with the EVSEs and connectors ``filters`` keep, each with
    its availability now and the ad hoc price (also what OCPI publishes, ``roaming``)."""
    vat = supply_vat(rates, site.address.country, site.time_zone, now, None)
    located = []
    for station in (s for s in network.stations if s.site_id == site.id):
        state = network.states.get(station.id)
        online = state is not None and state.connected
        statuses = {
            (c.evse_id, c.connector_id): c for c in network.connector_states.get(station.id, [])
        }
        station_wide = statuses.get((STATION_WIDE_EVSE, 1)) or statuses.get((STATION_WIDE_EVSE, 0))
        evses = []
        for evse in network.evses.get(station.id, []):
            plugs = []
            for connector in evse.connectors:
                reported: ConnectorState | None = statuses.get(
                    (evse.evse_id, connector.connector_id)
                )
                availability = connector_availability(
                    online,
                    None if reported is None else reported.status,
                    None if station_wide is None else station_wide.status,
                )
                if not filters.keeps(connector, availability):
                    continue
                stored = await tariff_for_session(
                    uow, station, evse.evse_id, connector.connector_id, None, now
                )
                price = None
                if stored is not None:
                    lines = price_display(stored.tariff, vat.percent, vat_note(vat))
                    price = ShownPrice(stored.id, stored.tariff.currency, lines)
                status_at = None if reported is None else reported.status_at
                plugs.append(LocatedConnector(connector, availability, status_at, price))
            if plugs:
                evses.append(LocatedEvse(evse, plugs))
        if evses:
            located.append(LocatedStation(station, online, evses))
    return located
