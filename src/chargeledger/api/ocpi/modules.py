"""The CPO's sender interfaces of OCPI 2.2.1: ``locations`` (§8.2.1) and ``tariffs`` (§11.2.1).

Lists are paginated (§4.1.5): ``offset`` and ``limit`` (at most ``MAX_LIMIT``, which is also
the default), ``date_from`` (inclusive) and ``date_to`` (exclusive) on ``last_updated``, with
``X-Total-Count``, ``X-Limit`` and a ``Link`` to the next page. Only a registered partner's
token opens them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from chargeledger.api.deps import ReadUowDep, RuntimeDep
from chargeledger.api.ocpi.auth import ModuleCaller, Ours
from chargeledger.api.ocpi.wire import OcpiRoute, envelope, page_headers, paged, wire_time
from chargeledger.domain.roaming import OCPI_VERSION
from chargeledger.domain.tariffs.ocpi_json import tariff_to_json
from chargeledger.errors import InvalidInputError, NotFoundError
from chargeledger.services.roaming.location_documents import (
    connector_json,
    evse_json,
    find_evse,
    location_json,
    site_id_of,
)
from chargeledger.services.roaming.publication import (
    PublishedLocation,
    published_locations,
    published_tariffs,
)

router = APIRouter(prefix=f"/ocpi/{OCPI_VERSION}", route_class=OcpiRoute, include_in_schema=False)

MAX_LIMIT = 100
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Limit = Annotated[int, Query(ge=1, le=1_000_000)]
Moment = Annotated[datetime | None, Query()]


def utc_window(date_from: datetime | None, date_to: datetime | None) -> None:
    """§16.2: a DateTime is UTC; one without a zone is refused rather than guessed."""
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        if value is not None and value.tzinfo is None:
            raise InvalidInputError(f"{name} must say its time zone (UTC: Z)", field=name)


@dataclass(frozen=True, slots=True)
class Window:
    """A list request's filters and page (§4.1.5): ``date_from`` (inclusive) and ``date_to``
    (exclusive) on ``last_updated``, checked to say their zone; ``limit`` capped at
    ``MAX_LIMIT``."""

    date_from: datetime | None
    date_to: datetime | None
    offset: int
    limit: int


def _window(
    date_from: Moment = None,
    date_to: Moment = None,
    offset: Offset = 0,
    limit: Limit = MAX_LIMIT,
) -> Window:
    utc_window(date_from, date_to)
    return Window(date_from, date_to, offset, min(limit, MAX_LIMIT))


ListWindow = Annotated[Window, Depends(_window)]


def _within(moment: datetime, window: Window) -> bool:
    return (window.date_from is None or moment >= window.date_from) and (
        window.date_to is None or moment < window.date_to
    )


def _list(request: Request, items: list[dict[str, Any]], window: Window) -> Response:
    page = paged(items, window.offset, window.limit)
    headers = page_headers(request, len(items), window.offset, window.limit, len(page))
    return envelope(request, page, headers=headers)


@router.get("/locations")
async def list_locations(
    request: Request,
    _: ModuleCaller,
    ours: Ours,
    rt: RuntimeDep,
    uow: ReadUowDep,
    window: ListWindow,
) -> Response:
    published = await published_locations(uow, rt.clock, rt.settings.vat_rates)
    items = [
        location_json(location, ours)
        for location in published
        if _within(location.last_updated, window)
    ]
    return _list(request, items, window)


async def _location(uow: ReadUowDep, rt: RuntimeDep, location_id: str) -> PublishedLocation:
    site_id = site_id_of(location_id)
    found = (
        []
        if site_id is None
        else await published_locations(uow, rt.clock, rt.settings.vat_rates, [site_id])
    )
    if not found:
        raise NotFoundError(f"no location {location_id!r}", code="location_not_found")
    return found[0]


@router.get("/locations/{location_id}")
async def get_location(
    request: Request, _: ModuleCaller, ours: Ours, rt: RuntimeDep, uow: ReadUowDep, location_id: str
) -> Response:
    return envelope(request, location_json(await _location(uow, rt, location_id), ours))


@router.get("/locations/{location_id}/{evse_uid}")
async def get_evse(
    request: Request,
    _: ModuleCaller,
    rt: RuntimeDep,
    uow: ReadUowDep,
    location_id: str,
    evse_uid: str,
) -> Response:
    published = await _location(uow, rt, location_id)
    evse = find_evse(published, evse_uid)
    if evse is None:
        raise NotFoundError(f"no EVSE {evse_uid!r} at {location_id}", code="location_not_found")
    return envelope(request, evse_json(evse, published))


@router.get("/locations/{location_id}/{evse_uid}/{connector_id}")
async def get_connector(
    request: Request,
    _: ModuleCaller,
    rt: RuntimeDep,
    uow: ReadUowDep,
    location_id: str,
    evse_uid: str,
    connector_id: str,
) -> Response:
    published = await _location(uow, rt, location_id)
    evse = find_evse(published, evse_uid)
    plug = next(
        (
            p
            for p in (evse.connectors if evse is not None else [])
            if str(p.connector.connector_id) == connector_id
        ),
        None,
    )
    if evse is None or plug is None:
        raise NotFoundError(
            f"no connector {connector_id!r} of {evse_uid!r} at {location_id}",
            code="location_not_found",
        )
    return envelope(request, connector_json(plug, evse.evse, published))


@router.get("/tariffs")
async def list_tariffs(
    request: Request,
    _: ModuleCaller,
    ours: Ours,
    uow: ReadUowDep,
    window: ListWindow,
) -> Response:
    items = []
    for stored in await published_tariffs(uow):
        last_updated = stored.tariff.last_updated or stored.created_at
        if not _within(last_updated, window):
            continue
        doc = tariff_to_json(stored.tariff)
        doc = {
            "country_code": ours.country_code,
            "party_id": ours.party_id,
            **doc,
            "last_updated": wire_time(last_updated),
        }
        items.append(doc)
    return _list(request, items, window)
