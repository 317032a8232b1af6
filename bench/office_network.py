"""A station network for the back office benchmark (issue 16: pages "on the demo database"):
the demo has 20 stations (``chargeledger demo``), an operator may have a thousand. Besides
the bench's first site and station (which carry the month of charges), ``stations - 1`` more
stations on sites of ten, two EVSEs of one plug each, every station with a stored link state
and a reported status per connector (mostly Available, some Charging, every 50th Faulted), so
the stations list, a station's page and the overview's availability read real rows.

Stored through the catalog service and the station link repository, as the demo and the OCPP
edge store them."""

from __future__ import annotations

import uuid
from decimal import Decimal

from chargeledger.bootstrap import Runtime
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    PowerType,
    Site,
)
from chargeledger.domain.geo import Address
from chargeledger.domain.station_link import ConnectorState, StationState
from chargeledger.services import catalog

STATIONS_PER_SITE = 10
EVSES_PER_STATION = 2


def _status(number: int, evse_id: int) -> str:
    if number % 50 == 0:
        return "Faulted"
    return "Charging" if (number + evse_id) % 3 == 0 else "Available"


async def _station(runtime: Runtime, site: Site, number: int) -> uuid.UUID:
    clock = runtime.clock
    async with runtime.uow() as uow:
        station = await catalog.create_station(
            uow,
            clock,
            runtime.station_secrets,
            {"site_id": site.id, "charge_point_id": f"BENCH-{number}", "vendor": "B", "model": "M"},
            "bench-station-password",
        )
        now = clock.now()
        await uow.station_links.save_state(
            StationState(station.id, connected=True, updated_at=now, ocpp_version="2.0.1")
        )
        for evse_id in range(1, EVSES_PER_STATION + 1):
            plug = Connector(
                1,
                ConnectorStandard.IEC_62196_T2,
                ConnectorFormat.SOCKET,
                PowerType.AC_3_PHASE,
                Decimal(22),
            )
            await catalog.create_evse(uow, clock, Evse(station.id, evse_id, (plug,)))
            await uow.station_links.save_connector(
                ConnectorState(station.id, evse_id, 1, _status(number, evse_id), now)
            )
        await uow.commit()
    return station.id


async def add_network(runtime: Runtime, stations: int) -> uuid.UUID | None:
    """Stations 2 … ``stations`` (the first is the bench's own); returns the last one's id."""
    last = None
    site = None
    for number in range(2, stations + 1):
        if site is None or (number - 2) % STATIONS_PER_SITE == 0:
            async with runtime.uow() as uow:
                site = await catalog.create_site(
                    uow,
                    runtime.clock,
                    Site(
                        f"Bench Site {(number - 2) // STATIONS_PER_SITE + 1:03d}",
                        Address("Am Hafen 2", "20457", "Hamburg", "DE"),
                        Decimal("53.5"),
                        Decimal("10.0"),
                        "Europe/Berlin",
                    ),
                )
                await uow.commit()
        last = await _station(runtime, site, number)
    return last
