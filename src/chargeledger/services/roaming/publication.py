"""What we publish to roaming partners as a CPO: locations (OCPI 2.2.1 §8) and tariffs (§11).

A location is a site of the catalog with its stations' EVSEs and connectors as the driver
app's "locate" sees them (``services.locations``): availability now, and the tariff an ad hoc
session there starts under, which is also the tariff a roaming driver's session starts under
until partner-specific tariffs exist. Its ``last_updated`` is the latest change of the site,
a station, an EVSE or a connector status, so a partner's incremental pull (``date_from``)
sees status changes too.

Tariffs are the newest version of every OCPI tariff id, as imported (no translation):
country code and party id are ours where the document has none; ``last_updated`` is the
document's, else when that version was imported. Queries: nothing is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from chargeledger.domain.availability import Availability
from chargeledger.domain.billing import VatRates
from chargeledger.domain.catalog import Site
from chargeledger.domain.tariffs.assignment import StoredTariff
from chargeledger.services.locations import Filters, LocatedStation, stations_at
from chargeledger.services.ports import Clock, UnitOfWork
from chargeledger.services.tariffs import all_sites

# §8.4.22 EVSE status from its connectors' (one charges at a time): the first that any has.
_EVSE_STATUS_ORDER = (
    Availability.CHARGING,
    Availability.RESERVED,
    Availability.AVAILABLE,
    Availability.INOPERATIVE,
    Availability.OUTOFORDER,
)


@dataclass(frozen=True, slots=True)
class PublishedLocation:
    site: Site
    stations: list[LocatedStation]
    tariff_ids: dict[uuid.UUID, str]  # stored tariff id -> its OCPI id
    last_updated: datetime


def evse_status(statuses: Collection[Availability]) -> Availability:
    for status in _EVSE_STATUS_ORDER:
        if status in statuses:
            return status
    return Availability.UNKNOWN


async def published_locations(
    uow: UnitOfWork, clock: Clock, rates: VatRates, site_ids: Collection[uuid.UUID] | None = None
) -> list[PublishedLocation]:
    """Every site (or those of ``site_ids`` that exist), ordered by id."""
    if site_ids is None:
        site_ids = [site.id for site in await all_sites(uow)]
    if not site_ids:
        return []
    network = await uow.locations.network(list(site_ids))
    now = clock.now()
    published = []
    for site in sorted(network.sites.values(), key=lambda s: str(s.id)):
        stations = await stations_at(uow, rates, network, site, Filters(), now)
        stored_ids = {
            plug.price.tariff_id
            for station in stations
            for evse in station.evses
            for plug in evse.connectors
            if plug.price is not None
        }
        tariffs = {}
        for stored_id in stored_ids:
            stored = await uow.tariffs.get(stored_id)
            if stored is not None:
                tariffs[stored_id] = stored.tariff.id
        published.append(PublishedLocation(site, stations, tariffs, _last_updated(site, stations)))
    return published


def _last_updated(site: Site, stations: list[LocatedStation]) -> datetime:
    moments = [site.updated_at, site.created_at]
    for station in stations:
        moments += [station.station.updated_at, station.station.created_at]
        for evse in station.evses:
            moments += [evse.evse.updated_at, evse.evse.created_at]
            moments += [plug.status_at for plug in evse.connectors]
    known = [moment for moment in moments if moment is not None]
    return max(known)


async def published_tariffs(uow: UnitOfWork) -> list[StoredTariff]:
    """The newest version of each OCPI tariff id, ordered by that id."""
    newest: dict[str, StoredTariff] = {}
    offset: int | None = 0
    while offset is not None:
        page = await uow.tariffs.list(limit=500, offset=offset)
        for stored in page.items:
            known = newest.get(stored.tariff.id)
            if known is None or stored.created_at >= known.created_at:
                newest[stored.tariff.id] = stored
        offset = page.next_offset
    return [newest[key] for key in sorted(newest)]
