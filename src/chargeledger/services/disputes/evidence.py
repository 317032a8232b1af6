"""Collecting the evidence pack of one charging session (issue 15, "Dispute cases" →
evidence pack): the facts as stored, read through the repositories, and the session's price
from the one pricing path (``services.charging.session_pricing``, DESIGN §2), never a second
computation of it.

Read-only: handed an open unit of work, it writes nothing (run it with ``reading``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from chargeledger.domain.billing import VatRates, supply_vat, vat_note
from chargeledger.domain.catalog import Site
from chargeledger.domain.charging import Session
from chargeledger.domain.evidence import (
    EvidencePack,
    PaymentEventFacts,
    PriceExplanation,
    PriceLineFacts,
    SessionFacts,
    TariffSnapshot,
    meter_series,
    signed_reading,
)
from chargeledger.domain.station_link import LoggedCall, SignedMeterValue
from chargeledger.domain.tariffs.display import price_display
from chargeledger.domain.tariffs.ocpi_json import tariff_to_json
from chargeledger.errors import ChargeledgerError, NotFoundError
from chargeledger.services.catalog import get_site, get_station
from chargeledger.services.charging.session_pricing import (
    SessionPrice,
    price_captured_session,
    session_buyer,
)
from chargeledger.services.contracts.pricing import contract_priced_tariff
from chargeledger.services.ports import Clock, UnitOfWork

# A signed value's verdict and its detail, from the OCMF verifier (issue 15) when one is wired.
Judge = Callable[[SignedMeterValue], tuple[str, str | None]]

# The OCPP log is kept on our clock, the session on the station's (which may be off): the
# window is placed on ours from when we recorded the start, as long as the session lasted by
# the station's clock, widened so the Authorize before the start and the answer to the stop
# (kept just after the session changed) fall inside it.
OCPP_LOG_MARGIN = timedelta(minutes=2)
MAX_OCPP_LOG_ENTRIES = 5000  # a day of a busy station's messages; the PDF stays readable


async def collect_evidence(
    uow: UnitOfWork,
    clock: Clock,
    session_id: uuid.UUID,
    *,
    rates: VatRates,
    judge: Judge | None = None,
    case: Mapping[str, Any] | None = None,
) -> EvidencePack:
    """The evidence pack of ``session_id`` as of now (``session_not_found`` when there is no
    such session). ``rates`` are the VAT rates the session is priced with (the runtime's
    settings); ``judge`` gives each signed value its verdict (None: no verdict);
    ``case`` is the dispute case's summary, carried as given."""
    session = await uow.sessions.get(session_id)
    if session is None:
        raise NotFoundError(f"session {session_id} not found", code="session_not_found")
    station = await get_station(uow, session.station_id)
    site = await get_site(uow, station.site_id)
    series = meter_series(session, await uow.sessions.samples(session.id))
    signed = await uow.sessions.signed_values(session.id)
    price, price_note = await _price(uow, session, rates)
    return EvidencePack(
        title=f"Evidence: session {session.transaction_ref} at {station.charge_point_id}",
        generated_at=clock.now(),
        session=SessionFacts.of(session, station.charge_point_id, site.name, site.time_zone),
        meter_series=series,
        signed_readings=tuple(
            signed_reading(value, series, None if judge is None else judge(value))
            for value in signed
        ),
        ocpp_log=await _ocpp_log(uow, clock, session, station.charge_point_id),
        transaction_events=tuple(await uow.sessions.transaction_events(session.id)),
        state_changes=tuple(await uow.sessions.state_changes(session.id)),
        tariff=await _tariff(uow, session, site, rates),
        price=price,
        price_note=price_note,
        payment_events=await _payment_events(uow, session),
        case=case,
    )


def ocpp_log_window(session: Session, now: datetime) -> tuple[datetime, datetime]:
    """The span of our clock whose OCPP messages belong to ``session`` (see
    :data:`OCPP_LOG_MARGIN`); until now while it runs."""
    recorded = session.created_at or session.started_at
    if session.stopped_at is None:
        end = now
    else:
        end = recorded + max(session.stopped_at - session.started_at, timedelta(0))
    return recorded - OCPP_LOG_MARGIN, end + OCPP_LOG_MARGIN


async def _ocpp_log(
    uow: UnitOfWork, clock: Clock, session: Session, charge_point_id: str
) -> tuple[LoggedCall, ...]:
    start, end = ocpp_log_window(session, clock.now())
    calls = await uow.station_links.logged_calls(charge_point_id, start, end, MAX_OCPP_LOG_ENTRIES)
    return tuple(calls)


async def _tariff(
    uow: UnitOfWork, session: Session, site: Site, rates: VatRates
) -> TariffSnapshot | None:
    """The tariff the session is priced with and what a driver was shown of it before the
    start, as a quote shows it (``services.quotes``): the VAT of the supply for its payer."""
    if session.tariff_id is None:
        return None
    stored = await uow.tariffs.get(session.tariff_id)
    if stored is None:
        return None
    tariff = await contract_priced_tariff(uow, stored.tariff, session, site)
    buyer = await session_buyer(uow, session)
    vat = supply_vat(rates, site.address.country, site.time_zone, session.started_at, buyer)
    return TariffSnapshot(
        tariff_id=stored.id,
        ocpi_id=tariff.id,
        currency=str(tariff.currency),
        document=tariff_to_json(tariff),
        display=tuple(price_display(tariff, vat.percent, vat_note(vat))),
        contract_priced=tariff != stored.tariff,
    )


async def _price(
    uow: UnitOfWork, session: Session, rates: VatRates
) -> tuple[PriceExplanation | None, str | None]:
    """The session's price as its cost and receipt explain it, or why it has none (under
    review, no tariff): the refusal's own message, since that is what the driver was told."""
    try:
        priced = await price_captured_session(uow, session, rates)
    except ChargeledgerError as refused:
        return None, f"{refused.code}: {refused}"
    return explained(priced), None


def explained(priced: SessionPrice) -> PriceExplanation:
    """A session price as evidence: the billed figures to the cent and the exact lines (their
    gross at the VAT due, as ``GET /sessions/{id}/cost`` shows them)."""
    billed, vat = priced.billed, priced.billed.vat
    return PriceExplanation(
        currency=str(billed.currency),
        live=priced.live,
        energy_kwh=priced.result.total_energy,
        lines=tuple(
            PriceLineFacts(
                category=line.category,
                volume=line.volume,
                unit=line.unit,
                unit_price=line.unit_price,
                excl_vat=line.excl_vat,
                incl_vat=line.excl_vat * (1 + vat.percent / 100),
                explanation=line.explanation,
            )
            for line in priced.result.lines
        ),
        components=tuple(billed.components),
        net=billed.net,
        vat_category=vat.category.value,
        vat_percent=vat.percent,
        vat_note=vat.note,
        tax=billed.tax,
        gross=billed.gross,
    )


async def _payment_events(uow: UnitOfWork, session: Session) -> tuple[PaymentEventFacts, ...]:
    """Every event of the session's payments (hold, raises, capture, refunds), in time order."""
    payments = await uow.payments.for_session(session.id)
    events = await uow.payments.events_of([p.id for p in payments])
    facts = [
        PaymentEventFacts(
            payment_id=payment.id,
            purpose=payment.purpose.value,
            method=payment.method.value,
            gateway=payment.gateway,
            currency=str(payment.currency),
            kind=event.kind.value,
            fact=event.fact,
            at=event.at,
            amount=event.amount,
            provider_ref=event.provider_ref,
            detail=event.detail,
        )
        for payment in payments
        for event in events.get(payment.id, [])
    ]
    return tuple(sorted(facts, key=lambda f: (f.at, str(f.payment_id))))
