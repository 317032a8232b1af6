"""A charged session as a complete OCPI 2.2.1 CDR (§10.3.1): what a roaming partner pulls from
``GET /ocpi/2.2.1/cdrs`` and what ``chargeledger export cdrs`` writes.

The charging periods, the tariff and the quantities are the session's own CDR priced by the one
``price()`` (DESIGN §2; ``tariffs.ocpi_json.cdr_to_json``); every amount is the charge as it was
booked (``billing.cdr_totals``), so the CDR says what the receipt and the invoice say. Around
them:

- ``id`` and ``session_id`` are the session's id: unique, and never changing (§10.3.1: a CDR
  once sent is not changed; a correction would be a credit CDR and a new one, §10.3.1
  ``credit``).
- ``last_updated`` is when the charge was booked: a charge is append-only, so is its CDR.
- ``cdr_location`` (§10.4.4) names the location, EVSE and connector as the locations module
  publishes them (§8.3.1 ``id``: the site's id; §8.3.2 ``uid``: :func:`evse_uid`; §8.3.3
  ``id``: the connector id), with the EVSE's eMI3 ``evse_id`` (:func:`emi3_evse_id`).
- ``cdr_token`` (§10.4.5) is the token's uid and type, issued by the partner whose billing
  account the token belongs to (its drivers' tokens), else by us; we keep no eMA-ID, so its
  ``contract_id`` is the uid, unique among the issuer's tokens we know.
- ``auth_method`` (§10.4.1): see :func:`auth_method`.

The country's ISO 3166-1 alpha-3 code (§10.4.4 ``country``) comes from ``alpha3``, by default
the table of ``chargeledger.countries``.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from chargeledger.countries import alpha_3
from chargeledger.domain.accounts import Token, TokenType
from chargeledger.domain.billing import Charge, cdr_totals
from chargeledger.domain.catalog import Connector, Evse, Site, Station
from chargeledger.domain.charging import Session
from chargeledger.domain.issuer_answers import AnswerKind, IssuerAnswer
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.tariffs.cdr import Cdr
from chargeledger.domain.tariffs.ocpi_json import cdr_to_json
from chargeledger.domain.tariffs.priced import PriceResult

_COORDINATE = Decimal("0.000001")  # §8.4.13 GeoLocation: 5 to 7 decimals; 6, as locations
# eMI3 V1.0 part 2 EVSE ID: country, operator id, "E", power outlet id (ISO 15118-2 Annex H).
_EMI3_EVSE_ID = re.compile(r"[A-Z]{2}\*?[A-Z0-9]{3}\*?E[A-Z0-9][A-Z0-9*]{0,30}")
_OUTLET = 30  # characters of the power outlet id after the "E"
UNKNOWN_UID = "UNKNOWN"  # §10.4.5 uid of a session no token identified (a walk-in)


class AuthMethod(StrEnum):
    """OCPI 2.2.1 §10.4.1 AuthMethod."""

    AUTH_REQUEST = "AUTH_REQUEST"
    COMMAND = "COMMAND"
    WHITELIST = "WHITELIST"


class CdrTokenType(StrEnum):
    """OCPI 2.2.1 §12.4.4 TokenType, as a CDR writes it (§10.4.5)."""

    AD_HOC_USER = "AD_HOC_USER"
    APP_USER = "APP_USER"
    OTHER = "OTHER"
    RFID = "RFID"


_TOKEN_TYPES = {
    TokenType.RFID: CdrTokenType.RFID,
    TokenType.APP: CdrTokenType.APP_USER,
    TokenType.AD_HOC: CdrTokenType.AD_HOC_USER,
}


def ocpi_token_type(token: Token) -> CdrTokenType:
    """The §12.4.4 TokenType of one of our tokens."""
    return _TOKEN_TYPES[token.type]


@dataclass(frozen=True, slots=True)
class OcpiParty:
    """A party of OCPI 2.2.1 §16.1: ISO 3166-1 alpha-2 country code and ISO 15118 party id."""

    country_code: str
    party_id: str


@dataclass(frozen=True, slots=True)
class ChargedSession:
    """What a charged session's CDR is made of, as read for it: the session, its charge as
    booked, its CDR and price from ``price()``, where it charged, and the token it started
    with (None: no token of ours had its idTag). ``tariff_recorded_at``: when its tariff
    version was imported, the tariff's ``last_updated`` where its document has none (as the
    tariffs module publishes it)."""

    session: Session
    charge: Charge
    cdr: Cdr
    result: PriceResult
    site: Site
    station: Station
    evse: Evse
    connector: Connector
    token: Token | None
    tariff_recorded_at: datetime
    authorization: IssuerAnswer | None = None  # the partner's yes that let it start


def evse_uid(evse: Evse) -> str:
    """§8.3.2 uid, CiString(36): the EVSE's own OCPI uid if it has one, else its id. The one
    name of an EVSE for the locations module and the CDRs' ``cdr_location.evse_uid``."""
    return evse.evse_uid or str(evse.id)


def emi3_evse_id(evse: Evse, station: Station, cpo: OcpiParty | None) -> str:
    """§10.4.4 evse_id, an eMI3 EVSE ID: the EVSE's own uid when it is one; else ours built
    from our party, the station's charge point id (letters and digits) and the EVSE's
    number (``DE*CLG*ECP16AC*1``), which never change. Without our party there is no eMI3 id
    to build: the EVSE's uid stands in."""
    own = (evse.evse_uid or "").upper()
    if _EMI3_EVSE_ID.fullmatch(own):
        return own
    if cpo is None:
        return evse_uid(evse)
    suffix = f"*{evse.evse_id}"
    name = re.sub(r"[^A-Z0-9]", "", station.charge_point_id.upper())[: _OUTLET - len(suffix)]
    outlet = f"{name}{suffix}" if name else str(evse.evse_id)
    return f"{cpo.country_code}*{cpo.party_id}*E{outlet}"


def auth_method(
    session: Session, token: Token | None, authorization: IssuerAnswer | None = None
) -> AuthMethod:
    """§10.4.1, from what the session keeps of its start. Where a roaming partner's yes let it
    start (``authorization``, ``domain.issuer_answers``): COMMAND when the partner commanded
    the start (START_SESSION), AUTH_REQUEST when its eMSP was asked in real time
    (§12.2.1.2). COMMAND where the token came in a remote start of ours (OCPP 1.6 §5.11,
    2.0.1 F01): an app token (the app starts a charge by command,
    ``services.charging.driver_charging``) and a QR checkout's one-off idTag
    (``services.payments.checkout``). Otherwise WHITELIST: the station's idTag was checked
    against our own registry of the accounts' tokens (a partner's are pulled into it), and no
    request went to the eMSP."""
    if authorization is not None:
        if authorization.kind is AnswerKind.COMMAND:
            return AuthMethod.COMMAND
        return AuthMethod.AUTH_REQUEST
    if session.payment_route is PaymentRoute.CHECKOUT_CARD:
        return AuthMethod.COMMAND
    if token is not None and token.type is TokenType.APP:
        return AuthMethod.COMMAND
    return AuthMethod.WHITELIST


def cdr_token(session: Session, token: Token | None, issuer: OcpiParty | None) -> dict[str, Any]:
    """§10.4.5 CdrToken. ``issuer``: whose token it is (None: not known, the party is left
    out). A session no token of ours identified keeps its idTag: an ad hoc one of a QR
    checkout (AD_HOC_USER), else OTHER."""
    if token is not None:
        uid, kind = token.uid, _TOKEN_TYPES[token.type]
    else:
        uid = (session.id_tag or UNKNOWN_UID).upper()[:36]
        ad_hoc = session.payment_route is PaymentRoute.CHECKOUT_CARD
        kind = CdrTokenType.AD_HOC_USER if ad_hoc else CdrTokenType.OTHER
    party = {} if issuer is None else _party(issuer)
    contract = token.contract_id if token is not None and token.contract_id else uid
    return {**party, "uid": uid, "type": kind.value, "contract_id": contract}


def cdr_location(
    charged: ChargedSession, cpo: OcpiParty | None, alpha3: Callable[[str], str] = alpha_3
) -> dict[str, Any]:
    """§10.4.4 CdrLocation with the lengths of the spec (longer text is cut to them)."""
    site, address, connector = charged.site, charged.site.address, charged.connector
    doc: dict[str, Any] = {
        "id": str(site.id),
        "name": site.name[:255],
        "address": address.street[:45],
        "city": address.city[:45],
    }
    if address.postal_code:
        doc["postal_code"] = address.postal_code[:10]
    doc |= {
        "country": alpha3(address.country),
        "coordinates": {
            "latitude": str(site.latitude.quantize(_COORDINATE, ROUND_HALF_UP)),
            "longitude": str(site.longitude.quantize(_COORDINATE, ROUND_HALF_UP)),
        },
        "evse_uid": evse_uid(charged.evse),
        "evse_id": emi3_evse_id(charged.evse, charged.station, cpo),
        "connector_id": str(connector.connector_id),
        "connector_standard": connector.standard.value,
        "connector_format": connector.format.value,
        "connector_power_type": connector.power_type.value,
    }
    return doc


def cdr_document(
    charged: ChargedSession,
    *,
    cpo: OcpiParty | None,
    issuer: OcpiParty | None,
    alpha3: Callable[[str], str] = alpha_3,
) -> dict[str, Any]:
    """The complete §10.3.1 CDR of ``charged``; numbers as Decimal (encode them as JSON
    numbers). ``cpo``: our party (None: not configured, so the CDR's and our tariffs' party
    fields are left out); ``issuer``: the token's (None: ours)."""
    session, charge, station = charged.session, charged.charge, charged.station
    priced = cdr_to_json(charged.cdr, cdr_totals(charged.result, charge.billed))
    doc: dict[str, Any] = {} if cpo is None else _party(cpo)
    doc |= {
        "id": str(session.id),
        "start_date_time": priced.pop("start_date_time"),
        "end_date_time": priced.pop("end_date_time"),
        "session_id": str(session.id),
        "cdr_token": cdr_token(session, charged.token, issuer or cpo),
        "auth_method": auth_method(session, charged.token, charged.authorization).value,
    }
    if charged.authorization is not None and charged.authorization.reference is not None:
        doc["authorization_reference"] = charged.authorization.reference
    doc["cdr_location"] = cdr_location(charged, cpo, alpha3)
    if station.meter_serial:
        doc["meter_id"] = station.meter_serial
    priced.pop("id", None)
    tariffs = [_tariff(t, cpo, charged.tariff_recorded_at) for t in priced.pop("tariffs")]
    doc |= {"currency": priced.pop("currency"), "tariffs": tariffs, **priced}
    doc["last_updated"] = _utc(charge.created_at or charge.stopped_at)
    return doc


def _tariff(doc: dict[str, Any], cpo: OcpiParty | None, recorded_at: datetime) -> dict[str, Any]:
    """§11.3.1: a tariff of ours without a party gets ours, as the tariffs module gives it."""
    party = _party(cpo) if cpo is not None and "party_id" not in doc else {}
    return {**party, **doc, "last_updated": doc.get("last_updated") or _utc(recorded_at)}


def _party(party: OcpiParty) -> dict[str, Any]:
    return {"country_code": party.country_code, "party_id": party.party_id}


def _utc(moment: datetime) -> str:
    """§16.2 DateTime: UTC with Z, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- re-priced sessions: credit CDRs (§10.1.1) ------------------------------------------------

_COST_FIELDS = (
    "total_cost",
    "total_fixed_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_reservation_cost",
)


@dataclass(frozen=True, slots=True)
class CdrEntry:
    """One CDR of an account as the CDRs sender lists it: its session's as charged
    (``version`` 0), or the ``version``-th re-pricing's credit CDR (``credit``) or new CDR;
    ``issued_at`` is its ``last_updated``."""

    session_id: uuid.UUID
    version: int
    credit: bool
    issued_at: datetime


def cdr_id(session_id: uuid.UUID, version: int) -> str:
    """§10.3.1 ``id``, CiString(39), of a session's CDR: the session's id as charged
    (``version`` 0), ``<id>-R<n>`` after its n-th re-pricing (a CDR sent is never changed,
    §10.1: a correction is a credit CDR and a new one); from the 10th on the session's id is
    written in its 26 base32 letters, so that every re-pricing a 32-bit sequence numbers
    still fits."""
    return _versioned(session_id, "R", version)


def credit_cdr_id(session_id: uuid.UUID, version: int) -> str:
    """The id of the credit CDR that the ``version``-th re-pricing issues for the CDR before it."""
    return _versioned(session_id, "C", version)


def _versioned(session_id: uuid.UUID, mark: str, version: int) -> str:
    if version == 0:
        return str(session_id)
    base = str(session_id) if version < 10 else _base32(session_id)
    return f"{base}-{mark}{version}"


def _base32(value: uuid.UUID) -> str:
    return base64.b32encode(value.bytes).decode("ascii").rstrip("=")


def credit_cdr(original: dict[str, Any], *, credit_id: str, issued_at: datetime) -> dict[str, Any]:
    """§10.1.1 Credit CDR of ``original`` (a CDR document as sent): all of its data, under its
    own ``id``, ``credit`` true and ``credit_reference_id`` the original's, and its cost
    amounts negative (so the sum of a CDR and its credit is nothing, for every total the
    eMSP may bill by)."""
    doc = dict(original)
    for name in _COST_FIELDS:
        price = doc.get(name)
        if isinstance(price, dict):
            doc[name] = {key: -Decimal(str(value)) for key, value in price.items()}
    doc |= {
        "id": credit_id,
        "credit": True,
        "credit_reference_id": original["id"],
        "last_updated": _utc(issued_at),
    }
    return doc
