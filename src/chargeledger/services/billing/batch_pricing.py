"""Pricing a batch of captured sessions from one set of reads (issue 17): the same
``price()`` and the same VAT decision as pricing one session
(``services/charging/session_pricing.py``), fed from a
:class:`~chargeledger.services.billing.charging_ports.CapturedBatch`.

A session the batch cannot price as it stands goes the one-at-a-time way
(``price_captured_session``), which reads what it needs and raises the error it always
raised: one under review, without a tariff or with one that is gone, at a station or site
that is gone, or under a contract (its price book may discount the tariff: DESIGN §2, the
contract version frozen at the start, ``services/contracts/pricing.py``).
"""

from __future__ import annotations

from datetime import timedelta

from chargeledger.domain.billing import VatRates, supply_vat
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.reservations import held
from chargeledger.services.billing.charging_ports import CapturedBatch
from chargeledger.services.charging.session_pricing import (
    PricingInputs,
    SessionPrice,
    price_captured_session,
    session_price,
)
from chargeledger.services.ports import UnitOfWork


def priced_in_batch(session: Session, batch: CapturedBatch, rates: VatRates) -> SessionPrice | None:
    """``session`` priced from ``batch``; None when it needs the one-at-a-time way."""
    if session.status is SessionStatus.QUARANTINED or session.contract_version_id is not None:
        return None
    stored = None if session.tariff_id is None else batch.tariffs.get(session.tariff_id)
    station = batch.stations.get(session.station_id)
    site = None if station is None else batch.sites.get(station.site_id)
    if stored is None or station is None or site is None:
        return None
    buyer = None if session.account_id is None else batch.accounts.get(session.account_id)
    vat = supply_vat(rates, site.address.country, site.time_zone, session.started_at, buyer)
    reservation = batch.reservations.get(session.id)
    reserved = timedelta(0) if reservation is None else held(reservation)
    inputs = PricingInputs(
        stored.tariff,
        station,
        site,
        batch.samples.get(session.id, []),
        batch.changes.get(session.id, []),
        vat,
        reserved,
    )
    return session_price(session, inputs)


async def price_in_batch(
    uow: UnitOfWork, session: Session, batch: CapturedBatch, rates: VatRates
) -> SessionPrice:
    """``session`` priced from ``batch`` when it can be, else as one session is priced."""
    found = priced_in_batch(session, batch, rates)
    return found if found is not None else await price_captured_session(uow, session, rates)
