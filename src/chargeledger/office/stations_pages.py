"""The stations list (issue 16: "stations and their live status"): ``GET /office/stations``
with filters (site, station status online/offline/faulted, an EVSE state, a search on the
charge point id or serial number), pages of 50 and the CSV download of the whole filtered list.

Each row is the station's live status as ``GET /api/v1/stations/{id}/status`` gives it
(``services.charging.station_health``, over ``catalog`` and ``station_status``): online when
the command bus reaches it now, offline otherwise, faulted when connected with a connector (or
the whole station) reporting Faulted; "since" is the disconnection for an offline station and
the last boot for a connected one; the last heartbeat; each EVSE's state. The overview's
availability chart counts the same rows, and its bars link here with the matching filter.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response

from chargeledger.api.deps import RuntimeDep
from chargeledger.bootstrap import Runtime
from chargeledger.errors import InvalidInputError
from chargeledger.office.guard import Visitor, admit
from chargeledger.office.listing import (
    CSV_BATCH,
    choice_filter,
    csv_download,
    invalid_filter,
)
from chargeledger.office.pages import render
from chargeledger.office.views import local_time
from chargeledger.services.catalog import list_sites
from chargeledger.services.charging.station_health import (
    EvseState,
    Health,
    StationHealth,
    network_health,
)
from chargeledger.services.common import MAX_PAGE_SIZE
from chargeledger.services.paging import Page
from chargeledger.services.transactions import reading

router = APIRouter()
LIST = "/office/stations"
PAGE_SIZE = 50
Text = Annotated[str | None, Query(max_length=200)]
COLUMNS = (
    "Station",
    "Site",
    "Serial number",
    "Vendor and model",
    "OCPP",
    "Status",
    "Since",
    "Last heartbeat",
    "EVSEs",
)


@dataclass(frozen=True, slots=True)
class Filters:
    """What the filter form asked, as typed (to show it again and to link the next page)."""

    site: str = ""
    status: str = ""
    evse: str = ""
    q: str = ""

    def query(self, **extra: object) -> str:
        fields: dict[str, object] = {"site": self.site, "status": self.status}
        fields |= {"evse": self.evse, "q": self.q, **extra}
        return urlencode({k: v for k, v in fields.items() if v not in ("", None)})

    def criteria(self) -> Criteria:
        """What to keep; InvalidInputError ``invalid_filter`` naming a field that is not a
        site id or not one of its choices."""
        site_id = None
        if self.site.strip():
            try:
                site_id = uuid.UUID(self.site.strip())
            except ValueError:
                raise invalid_filter("site", "site: not a known id") from None
        return Criteria(
            site_id,
            choice_filter(Health, self.status, "status"),
            choice_filter(EvseState, self.evse, "evse"),
            self.q.strip().casefold(),
        )


@dataclass(frozen=True, slots=True)
class Criteria:
    site_id: uuid.UUID | None
    health: Health | None
    evse: EvseState | None
    text: str  # in the charge point id or the serial number, case-insensitive

    def keeps(self, item: StationHealth) -> bool:
        station = item.station
        names = (station.charge_point_id, station.serial_number or "")
        return (
            (self.health is None or item.health is self.health)
            and (self.evse is None or any(e.state is self.evse for e in item.evses))
            and (not self.text or any(self.text in name.casefold() for name in names))
        )


def since(item: StationHealth) -> datetime | None:
    """When an offline station went away, or when a connected one last booted."""
    state = item.status.state
    if state is None:
        return None
    if item.health is Health.OFFLINE:
        return None if state.connected else state.updated_at
    return state.last_boot_at


def row(item: StationHealth, sites: dict[uuid.UUID, str], zone: str) -> list[str]:
    """One station as the table and the CSV show it (``COLUMNS``)."""
    station, state = item.station, item.status.state
    return [
        station.charge_point_id,
        sites.get(station.site_id, str(station.site_id)),
        station.serial_number or "",
        f"{station.vendor} {station.model}",
        station.ocpp_version.value,
        item.health.value,
        local_time(since(item), zone),
        local_time(None if state is None else state.last_heartbeat_at, zone),
        " ".join(f"{e.evse.evse_id}:{e.state.value}" for e in item.evses),
    ]


async def site_names(rt: Runtime) -> dict[uuid.UUID, str]:
    names: dict[uuid.UUID, str] = {}
    offset: int | None = 0
    while offset is not None:
        page = await reading(rt.uow, list_sites, limit=MAX_PAGE_SIZE, offset=offset)
        names.update((s.id, s.name) for s in page.items)
        offset = page.next_offset
    return names


@router.get("/stations")
async def stations_list(
    request: Request,
    rt: RuntimeDep,
    site: Text = None,
    status: Text = None,
    evse: Text = None,
    q: Text = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    format: Text = None,
) -> Response:
    visitor = await admit(request, rt)
    if isinstance(visitor, Response):
        return visitor
    zone = rt.settings.operator_time_zone
    filters = Filters(site or "", status or "", evse or "", q or "")
    sites = await site_names(rt)
    try:
        criteria = filters.criteria()
    except InvalidInputError as exc:
        return _list_page(visitor, rt, filters, sites, [], None, 0, exc)
    network = await reading(rt.uow, network_health, rt.bus.is_connected, criteria.site_id)
    shown = [item for item in network if criteria.keeps(item)]
    if format == "csv":
        return _csv(rt, shown, sites, zone)
    window = shown[offset : offset + PAGE_SIZE]
    next_offset = offset + PAGE_SIZE if offset + PAGE_SIZE < len(shown) else None
    rows = [(item, row(item, sites, zone)) for item in window]
    return _list_page(visitor, rt, filters, sites, rows, next_offset, offset, None)


def _list_page(
    visitor: Visitor,
    rt: Runtime,
    filters: Filters,
    sites: dict[uuid.UUID, str],
    rows: list[tuple[StationHealth, list[str]]],
    next_offset: int | None,
    offset: int,
    error: InvalidInputError | None,
) -> Response:
    previous = None if offset == 0 else max(offset - PAGE_SIZE, 0)
    return render(
        "stations.html",
        422 if error else 200,
        title="Stations",
        **visitor.context("stations"),
        filters=filters,
        sites=sorted(sites.items(), key=lambda item: item[1]),
        statuses=[h.value for h in Health],
        evse_states=[s.value for s in EvseState],
        columns=COLUMNS,
        rows=rows,
        error=error,
        zone=rt.settings.operator_time_zone,
        csv_link=f"{LIST}?{filters.query(format='csv')}",
        next_link=None if next_offset is None else f"{LIST}?{filters.query(offset=next_offset)}",
        previous_link=None
        if previous is None
        else f"{LIST}?{filters.query(offset=previous or None)}",
    )


def _csv(
    rt: Runtime, shown: list[StationHealth], sites: dict[uuid.UUID, str], zone: str
) -> Response:
    """The filtered list was read once (the status of every station is needed to filter it);
    it streams out in batches like the other lists."""

    async def page_at(offset: int) -> Page[StationHealth]:
        end = offset + CSV_BATCH
        return Page(shown[offset:end], end if end < len(shown) else None)

    def line(item: StationHealth) -> list[str]:
        return row(item, sites, zone)

    today = rt.clock.now().astimezone(ZoneInfo(zone)).date().isoformat()
    return csv_download(f"stations-{today}", COLUMNS, page_at, line)
