"""What a CDR says about how a session started and where (``domain.ocpi_cdrs``): OCPI 2.2.1
§10.4.1 auth_method, §10.4.5 cdr_token and the §10.4.4 eMI3 evse_id, table-driven."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chargeledger.domain.accounts import Token, TokenType
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    PowerType,
    Station,
)
from chargeledger.domain.charging import Session
from chargeledger.domain.ocpi_cdrs import (
    AuthMethod,
    OcpiParty,
    auth_method,
    cdr_id,
    cdr_token,
    credit_cdr,
    credit_cdr_id,
    emi3_evse_id,
    evse_uid,
)
from chargeledger.domain.payment_routes import PaymentRoute

ACCOUNT = uuid.uuid4()
OURS = OcpiParty("DE", "CLG")
THEIRS = OcpiParty("NL", "EMS")


def session(route: PaymentRoute, id_tag: str | None) -> Session:
    return Session(
        station_id=uuid.uuid4(),
        evse_id=1,
        transaction_ref="1",
        ocpp_version="1.6",
        started_at=datetime(2024, 3, 4, 8, tzinfo=UTC),
        meter_start_wh=Decimal(0),
        id_tag=id_tag,
        account_id=None if route in (PaymentRoute.WALK_IN, PaymentRoute.CHECKOUT_CARD) else ACCOUNT,
        payment_route=route,
    )


def token(kind: TokenType, uid: str = "04aabbccdd") -> Token:
    return Token(uid=uid, type=kind, account_id=ACCOUNT)


@pytest.mark.parametrize(
    ("route", "kind", "method"),
    [
        (PaymentRoute.INVOICE, TokenType.RFID, AuthMethod.WHITELIST),  # a card at the station
        (PaymentRoute.WALLET, TokenType.RFID, AuthMethod.WHITELIST),
        (PaymentRoute.APP_CARD, TokenType.APP, AuthMethod.COMMAND),  # the app's remote start
        (PaymentRoute.INVOICE, TokenType.APP, AuthMethod.COMMAND),
        (PaymentRoute.CHECKOUT_CARD, None, AuthMethod.COMMAND),  # a QR checkout's start
        (PaymentRoute.WALK_IN, None, AuthMethod.WHITELIST),
    ],
)
def test_auth_method(route: PaymentRoute, kind: TokenType | None, method: AuthMethod) -> None:
    held = None if kind is None else token(kind)
    assert auth_method(session(route, "04AABBCCDD"), held) is method


@pytest.mark.parametrize(
    ("route", "id_tag", "kind", "issuer", "expected"),
    [
        (
            PaymentRoute.INVOICE,
            "04aabbccdd",
            TokenType.RFID,
            THEIRS,
            {"country_code": "NL", "party_id": "EMS", "uid": "04AABBCCDD", "type": "RFID"},
        ),
        (
            PaymentRoute.APP_CARD,
            "APP-1",
            TokenType.APP,
            OURS,
            {"country_code": "DE", "party_id": "CLG", "uid": "APP-1", "type": "APP_USER"},
        ),
        (
            PaymentRoute.CHECKOUT_CARD,
            "QR0011223344556677",
            None,
            OURS,
            {
                "country_code": "DE",
                "party_id": "CLG",
                "uid": "QR0011223344556677",
                "type": "AD_HOC_USER",
            },
        ),
        (PaymentRoute.WALK_IN, None, None, None, {"uid": "UNKNOWN", "type": "OTHER"}),
    ],
)
def test_cdr_token(
    route: PaymentRoute,
    id_tag: str | None,
    kind: TokenType | None,
    issuer: OcpiParty | None,
    expected: dict[str, str],
) -> None:
    held = None if kind is None or id_tag is None else token(kind, id_tag)
    written = cdr_token(session(route, id_tag), held, issuer)
    assert written == {**expected, "contract_id": expected["uid"]}


def _evse(uid: str | None = None, number: int = 2) -> Evse:
    plug = Connector(
        1, ConnectorStandard.IEC_62196_T2, ConnectorFormat.SOCKET, PowerType.AC_3_PHASE, Decimal(11)
    )
    return Evse(station_id=uuid.uuid4(), evse_id=number, connectors=(plug,), evse_uid=uid)


def _station(charge_point_id: str) -> Station:
    return Station(
        site_id=uuid.uuid4(),
        charge_point_id=charge_point_id,
        vendor="Test",
        model="T1",
        password_hash="x",
    )


@pytest.mark.parametrize(
    ("own_uid", "charge_point_id", "cpo", "expected"),
    [
        ("DE*ABC*E000123*1", "CP-1", OURS, "DE*ABC*E000123*1"),  # its own, already eMI3
        ("deabce0001", "CP-1", OURS, "DEABCE0001"),  # eMI3 without separators
        ("evse-7", "cp16-ac.north", OURS, "DE*CLG*ECP16ACNORTH*2"),
        (None, "~~~", OURS, "DE*CLG*E2"),  # nothing of the name fits
        (None, "X" * 48, OURS, "DE*CLG*E" + "X" * 28 + "*2"),  # 30 characters after "E"
        ("evse-7", "CP-1", None, "evse-7"),  # no party of ours: its uid stands in
    ],
)
def test_emi3_evse_id(
    own_uid: str | None, charge_point_id: str, cpo: OcpiParty | None, expected: str
) -> None:
    assert emi3_evse_id(_evse(own_uid), _station(charge_point_id), cpo) == expected


def test_an_evse_without_its_own_uid_is_named_by_its_id() -> None:
    evse = _evse()
    assert evse_uid(evse) == str(evse.id)
    assert evse_uid(_evse("EVSE-9")) == "EVSE-9"


@pytest.mark.parametrize("version", [1, 9, 10, 99, 2**31 - 1])
def test_a_repriced_cdr_s_ids_fit_the_spec_and_differ(version: int) -> None:
    """§10.3.1 ``id`` is CiString(39): a session's re-priced and credit CDR ids fit at any
    re-pricing, and never equal each other or the id as charged."""
    session_id = uuid.UUID("01a24e53-9c72-7663-8124-ff5adcb8b1b2")
    ids = {cdr_id(session_id, 0), cdr_id(session_id, version), credit_cdr_id(session_id, version)}
    assert len(ids) == 3
    assert all(len(value) <= 39 for value in ids)


def test_a_credit_cdr_keeps_the_data_and_negates_every_cost() -> None:
    """§10.1.1: the credit CDR holds the original's data under its own id, points at it, and
    its costs are the original's negated, so a CDR and its credit sum to nothing."""
    original = {
        "id": "S",
        "total_energy": Decimal("5"),
        "total_cost": {"excl_vat": Decimal("2.40"), "incl_vat": Decimal("2.86")},
        "total_energy_cost": {"excl_vat": Decimal("1.90"), "incl_vat": Decimal("2.26")},
        "last_updated": "2026-01-01T00:00:00Z",
    }
    at = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
    credit = credit_cdr(original, credit_id="S-C1", issued_at=at)
    assert credit["id"] == "S-C1"
    assert credit["credit"] is True
    assert credit["credit_reference_id"] == "S"
    assert credit["total_energy"] == Decimal("5")
    assert credit["total_cost"] == {"excl_vat": Decimal("-2.40"), "incl_vat": Decimal("-2.86")}
    assert credit["total_energy_cost"]["excl_vat"] == Decimal("-1.90")
    assert credit["last_updated"] == "2026-02-01T12:00:00Z"
    assert original["id"] == "S"  # the original is left as it was
