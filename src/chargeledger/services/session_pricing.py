"""The price of a captured session, final or live, from its tariff snapshot (DESIGN §2: the
same ``price()`` as the quote; a tariff change never re-prices a session)."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

from chargeledger.domain.cdrs import session_cdr
from chargeledger.domain.charging import MeterSample, Session
from chargeledger.domain.identity import Principal
from chargeledger.domain.meter_checks import registers_in_order
from chargeledger.domain.tariffs import Cdr, PriceResult, price
from chargeledger.errors import NotFoundError
from chargeledger.services.catalog import get_site, get_station
from chargeledger.services.ports import Clock, UnitOfWork
from chargeledger.services.session_review import get_session


@dataclass(frozen=True, slots=True)
class SessionPrice:
    session: Session
    cdr: Cdr
    result: PriceResult
    live: bool
    time_zone: str
    country: str
    site_name: str
    station_name: str
    site_id: uuid.UUID


async def price_session(
    uow: UnitOfWork, clock: Clock, principal: Principal, session_id: uuid.UUID
) -> SessionPrice:
    """Price a closed session, or a running one up to its latest sample (the live cost)."""
    return await price_captured_session(uow, await get_session(uow, principal, session_id))


async def price_captured_session(uow: UnitOfWork, session: Session) -> SessionPrice:
    """The price of ``session`` under the tariff it started with (no access check: for
    billing, which runs as the operator)."""
    if session.tariff_id is None:
        raise NotFoundError("the session started without a tariff", code="no_tariff")
    stored = await uow.tariffs.get(session.tariff_id)
    if stored is None:
        raise NotFoundError("the session's tariff is gone", code="tariff_not_found")
    station = await get_station(uow, session.station_id)
    site = await get_site(uow, station.site_id)
    samples = await uow.sessions.samples(session.id)
    live = session.is_open
    view = _so_far(session, samples) if live else session
    cdr = session_cdr(
        view, samples, await uow.sessions.state_changes(session.id), stored.tariff, site.time_zone
    )
    return SessionPrice(
        session,
        cdr,
        price(cdr, stored.tariff, site.time_zone),
        live,
        site.time_zone,
        site.address.country,
        site.name,
        station.charge_point_id,
        station.site_id,
    )


def _so_far(session: Session, samples: list[MeterSample]) -> Session:
    """A running session seen as if it stopped at its latest register reading."""
    readings = registers_in_order(samples)
    at, wh = readings[-1] if readings else (session.started_at, session.meter_start_wh)
    return dataclasses.replace(session, stopped_at=max(at, session.started_at), meter_stop_wh=wh)
