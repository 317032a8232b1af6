"""A session as stored, gathered into what its OCPI Session object is made of
(``domain.ocpi_sessions.SessionState``): where it charges, its token, and ``price()`` over it
so far (``price_captured_session``: the live cost of a running one)."""

from __future__ import annotations

from chargeledger.domain.billing import VatRates
from chargeledger.domain.charging import Session
from chargeledger.domain.ocpi_sessions import SessionState
from chargeledger.errors import ChargeledgerError
from chargeledger.services.catalog import get_station
from chargeledger.services.charging.session_pricing import price_captured_session
from chargeledger.services.ports import UnitOfWork
from chargeledger.services.roaming.realtime import session_authorization


async def session_state(uow: UnitOfWork, session: Session, rates: VatRates) -> SessionState | None:
    """None when the session cannot be described: its EVSE left the catalog, or it has no
    tariff to name its currency."""
    station = await get_station(uow, session.station_id)
    evse = await uow.evses.get_by_station_evse(station.id, session.evse_id)
    if evse is None:
        return None
    connector = next(
        (c for c in evse.connectors if c.connector_id == session.connector_id), evse.connectors[0]
    )
    token = await uow.tokens.get_by_uid(session.id_tag) if session.id_tag else None
    if token is not None and token.account_id != session.account_id:
        token = None  # the uid was given to another account since
    authorization = await session_authorization(uow, session, token)
    try:
        priced = await price_captured_session(uow, session, rates)
    except ChargeledgerError:  # held for review, or no tariff: no figure is shown
        stored = None if session.tariff_id is None else await uow.tariffs.get(session.tariff_id)
        if stored is None:
            return None
        return SessionState(
            session, station, evse, connector, token, stored.tariff.currency, None, authorization
        )
    figures = (priced.result, priced.billed)
    return SessionState(
        session, station, evse, connector, token, priced.result.currency, figures, authorization
    )
