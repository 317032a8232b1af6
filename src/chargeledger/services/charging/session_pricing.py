"""The price of a captured session, final or live, from its tariff snapshot (DESIGN §2: the
same ``price()`` as the quote; a tariff change never re-prices a session), with the VAT of its
place of supply for its payer: the very figures its charge, receipt and ledger entry carry."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from chargeledger.domain.accounts import Account
from chargeledger.domain.billing import (
    Billed,
    VatRates,
    VatTreatment,
    billed_amounts,
    supply_vat,
)
from chargeledger.domain.catalog import Site, Station
from chargeledger.domain.cdrs import session_cdr
from chargeledger.domain.charging import MeterSample, Session, SessionStatus, StateChange
from chargeledger.domain.identity import Principal
from chargeledger.domain.meter_checks import registers_in_order
from chargeledger.domain.reservations import held
from chargeledger.domain.station_link import SessionFilter
from chargeledger.domain.tariffs import Cdr, PriceResult, Tariff, price
from chargeledger.domain.wallets import next_reading
from chargeledger.errors import ChargeledgerError, ConflictError, NotFoundError
from chargeledger.services.catalog import get_site, get_station
from chargeledger.services.charging.session_review import get_session
from chargeledger.services.contracts.pricing import contract_priced_tariff
from chargeledger.services.ports import Clock, UnitOfWork

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


async def price_completed_sessions(uow: UnitOfWork, rates: VatRates) -> list[SessionPrice]:
    """Every completed session that has a tariff, priced from its snapshot: the figures the
    demo's revenue report sums (the same ones each charge is booked with)."""
    priced: list[SessionPrice] = []
    offset: int | None = 0
    while offset is not None:
        page = await uow.sessions.search(
            SessionFilter(status=SessionStatus.COMPLETED), limit=500, offset=offset
        )
        for session in page.items:
            if session.tariff_id is not None:
                priced.append(await price_captured_session(uow, session, rates))
        offset = page.next_offset
    return priced


async def session_buyer(uow: UnitOfWork, session: Session) -> Account | None:
    """The account a session is billed to (its VAT may be reverse charged), if any."""
    return None if session.account_id is None else await uow.accounts.get(session.account_id)


@dataclass(frozen=True, slots=True)
class PricingInputs:
    """What pricing a session reads once: its tariff snapshot, where it charged (the place
    of supply and its zone), its readings and state changes, and the VAT due for its payer."""

    tariff: Tariff
    station: Station
    site: Site
    samples: list[MeterSample]
    changes: list[StateChange]
    vat: VatTreatment
    reserved: timedelta  # how long the reservation it used held the EVSE (issue 16)

    def price(self, view: Session) -> tuple[Cdr, PriceResult]:
        zone = self.site.time_zone
        cdr = session_cdr(view, self.samples, self.changes, self.tariff, zone, self.reserved)
        return cdr, price(cdr, self.tariff, zone)

    def gross(self, view: Session) -> Decimal:
        """What ``view`` would be charged, VAT of the supply included, to the cent."""
        return billed_amounts(self.price(view)[1], self.vat).gross


async def _inputs(
    uow: UnitOfWork, session: Session, rates: VatRates, *, under_review: bool = False
) -> PricingInputs:
    if session.status is SessionStatus.QUARANTINED and not under_review:
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
    changes = await uow.sessions.state_changes(session.id)
    vat = supply_vat(
        rates,
        site.address.country,
        site.time_zone,
        session.started_at,
        await session_buyer(uow, session),
    )
    tariff = await contract_priced_tariff(uow, stored.tariff, session, site)
    reservation = await uow.reservations.used_by(session.id)
    reserved = timedelta(0) if reservation is None else held(reservation)
    return PricingInputs(tariff, station, site, samples, changes, vat, reserved)


async def price_captured_session(
    uow: UnitOfWork, session: Session, rates: VatRates
) -> SessionPrice:
    """The price of ``session`` under the tariff it started with (no access check: for
    billing, which runs as the operator). Never for a quarantined session."""
    return session_price(session, await _inputs(uow, session, rates))


def session_price(session: Session, inputs: PricingInputs) -> SessionPrice:
    """The price of ``session`` from what was read for it, one session at a time or a whole
    batch at once (``services/billing/batch_pricing.py``, issue 17): the same figures."""
    live = session.is_open
    cdr, result = inputs.price(_so_far(session, inputs.samples) if live else session)
    return SessionPrice(
        session,
        cdr,
        result,
        live,
        inputs.site.time_zone,
        inputs.site.address.country,
        inputs.site.name,
        inputs.station.charge_point_id,
        inputs.station.site_id,
        inputs.vat,
        billed_amounts(result, inputs.vat),
    )


async def value_as_reported(uow: UnitOfWork, session: Session, rates: VatRates) -> Billed | None:
    """What a session not charged yet would cost as its station reported it, under its
    tariff, VAT included: for finance's view of the money not invoiced yet, never shown to a
    driver nor booked. A quarantined session is valued too (its data is what is under
    review, so the figure is an estimate); None when it cannot be priced at all (no tariff,
    readings that make no session)."""
    try:
        inputs = await _inputs(uow, session, rates, under_review=True)
        return billed_amounts(inputs.price(session)[1], inputs.vat)
    except (ChargeledgerError, ArithmeticError, ValueError):
        return None


async def cost_outlook(
    uow: UnitOfWork, session: Session, rates: VatRates
) -> tuple[Decimal, Decimal]:
    """A running session's gross cost now (up to its latest reading) and at its next meter
    value, the last interval repeated at the same power (``domain.wallets``), both from the
    one ``price()`` with the VAT of its supply (DESIGN §2: the figure that will be debited).
    Before the first meter value both are the cost now, and before any time has passed
    nothing is priced yet (an OCPI CDR needs a charging period)."""
    inputs = await _inputs(uow, session, rates)
    now = _so_far(session, inputs.samples)
    if now.stopped_at is None or now.stopped_at <= session.started_at:
        return Decimal(0), Decimal(0)
    start = (session.started_at, session.billed_meter_start_wh)
    ahead = next_reading(start, registers_in_order(inputs.samples))
    live = inputs.gross(now)
    if ahead is None:
        return live, live
    view = dataclasses.replace(session, stopped_at=ahead[0], meter_stop_wh=ahead[1])
    return live, max(live, inputs.gross(view))


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
