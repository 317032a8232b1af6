"""The price of a captured session, final or live, from its tariff snapshot (DESIGN §2: the
same ``price()`` as the quote; a tariff change never re-prices a session), with the VAT of its
place of supply for its payer: the very figures its charge, receipt and ledger entry carry."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

from chargeledger.domain.accounts import Account
from chargeledger.domain.billing import (
    Billed,
    VatRates,
    VatTreatment,
    billed_amounts,
    supply_vat,
)
from chargeledger.domain.cdrs import session_cdr
from chargeledger.domain.charging import MeterSample, Session, SessionStatus
from chargeledger.domain.identity import Principal
from chargeledger.domain.meter_checks import registers_in_order
from chargeledger.domain.tariffs import Cdr, PriceResult, price
from chargeledger.errors import ConflictError, NotFoundError
from chargeledger.services.catalog import get_site, get_station
from chargeledger.services.ports import Clock, UnitOfWork
from chargeledger.services.session_review import get_session

UNDER_REVIEW = "session_under_review"


class SessionUnderReviewError(ConflictError):
    """A quarantined session has no price until an operator releases it (issue 3): its
    readings are suspect, so any amount shown would be a guess (DESIGN §2: never billed
    blindly)."""

    default_code = UNDER_REVIEW


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
    vat: VatTreatment
    billed: Billed  # what the driver is shown and what is booked, to the cent


async def price_session(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    session_id: uuid.UUID,
    rates: VatRates,
) -> SessionPrice:
    """Price a closed session, or a running one up to its latest sample (the live cost).
    A quarantined one raises :class:`SessionUnderReviewError`."""
    session = await get_session(uow, principal, session_id)
    return await price_captured_session(uow, session, rates)


async def session_buyer(uow: UnitOfWork, session: Session) -> Account | None:
    """The account a session is billed to (its VAT may be reverse charged), if any."""
    return None if session.account_id is None else await uow.accounts.get(session.account_id)


async def price_captured_session(
    uow: UnitOfWork, session: Session, rates: VatRates
) -> SessionPrice:
    """The price of ``session`` under the tariff it started with (no access check: for
    billing, which runs as the operator). Never for a quarantined session."""
    if session.status is SessionStatus.QUARANTINED:
        raise SessionUnderReviewError(
            "the session is under review: its price is shown once an operator has checked "
            "its meter data"
        )
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
    result = price(cdr, stored.tariff, site.time_zone)
    country = site.address.country
    vat = supply_vat(
        rates, country, site.time_zone, session.started_at, await session_buyer(uow, session)
    )
    return SessionPrice(
        session,
        cdr,
        result,
        live,
        site.time_zone,
        country,
        site.name,
        station.charge_point_id,
        station.site_id,
        vat,
        billed_amounts(result, vat),
    )


def _so_far(session: Session, samples: list[MeterSample]) -> Session:
    """A running session seen as if it stopped at its latest register reading (never below
    its start: a reading that ran backwards shows nothing delivered, not a refund)."""
    readings = registers_in_order(samples)
    at, wh = readings[-1] if readings else (session.started_at, session.meter_start_wh)
    return dataclasses.replace(
        session,
        stopped_at=max(at, session.started_at),
        meter_stop_wh=max(wh, session.meter_start_wh),
    )
