"""A session as a roaming partner sees it: the OCPI 2.2.1 Session object (§9.3.1).

Built from what is stored when it is sent, so every push carries the session as it stands
then (a push that comes late never takes a partner back to an older state). Its figures are
``price()``'s over the session so far (the live cost, DESIGN §2: the same function the CDR and
the invoice use): ``kwh`` and ``total_cost`` grow while it runs and end as the CDR's. Its
token, ``auth_method``, location, EVSE and connector are named as in the CDR
(``ocpi_cdrs``). A session held for review is INVALID and carries no cost (its readings are
suspect: no figure is shown before an operator releases it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from chargeledger.domain.accounts import Token
from chargeledger.domain.billing import Billed, cdr_totals
from chargeledger.domain.catalog import Connector, Evse, Station
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.exact_json import utc_text
from chargeledger.domain.issuer_answers import IssuerAnswer
from chargeledger.domain.ocpi_cdrs import OcpiParty, auth_method, cdr_token, evse_uid
from chargeledger.domain.tariffs import PriceResult

# Ours -> §9.4.2 SessionStatus.
_STATUS = {
    SessionStatus.ACTIVE: "ACTIVE",
    SessionStatus.COMPLETED: "COMPLETED",
    SessionStatus.QUARANTINED: "INVALID",
}


@dataclass(frozen=True, slots=True)
class SessionState:
    """What a Session object is made of. ``priced``: the result and amounts of ``price()``
    over the session so far (None: it has no price, being held for review)."""

    session: Session
    station: Station
    evse: Evse
    connector: Connector
    token: Token | None
    currency: str
    priced: tuple[PriceResult, Billed] | None
    authorization: IssuerAnswer | None = None  # the partner's yes that let it start


def session_document(
    state: SessionState, *, cpo: OcpiParty, issuer: OcpiParty | None
) -> dict[str, Any]:
    session = state.session
    doc: dict[str, Any] = {
        "country_code": cpo.country_code,
        "party_id": cpo.party_id,
        "id": str(session.id),
        "start_date_time": utc_text(session.started_at),
    }
    if session.stopped_at is not None and session.status is not SessionStatus.ACTIVE:
        doc["end_date_time"] = utc_text(session.stopped_at)
    kwh = Decimal(0)
    if state.priced is not None:
        totals = cdr_totals(*state.priced)
        kwh = Decimal(str(totals["total_energy"]))
    doc |= {
        "kwh": kwh,
        "cdr_token": cdr_token(session, state.token, issuer or cpo),
        "auth_method": auth_method(session, state.token, state.authorization).value,
        "location_id": str(state.station.site_id),
        "evse_uid": evse_uid(state.evse),
        "connector_id": str(state.connector.connector_id),
        "currency": state.currency,
    }
    if state.authorization is not None and state.authorization.reference is not None:
        doc["authorization_reference"] = state.authorization.reference
    if state.station.meter_serial:
        doc["meter_id"] = state.station.meter_serial
    if state.priced is not None:
        doc["total_cost"] = totals["total_cost"]
    doc["status"] = _STATUS.get(session.status, "INVALID")
    doc["last_updated"] = utc_text(last_change(session))
    return doc


def last_change(session: Session) -> datetime:
    """When the session last changed: its start, its latest reading or its end."""
    moments = [session.started_at, session.last_sample_at, session.stopped_at]
    return max(m for m in moments if m is not None)
