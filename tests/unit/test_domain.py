"""Validation of the pure domain, table-driven, asserting the stable error codes.

The codes are part of the public contract (DESIGN §2 "nothing silent": the REST API returns
them as ``error.code``), so every rule is pinned by the code it raises, not by the message.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from chargeledger.domain.accounts import (
    MAX_PAYMENT_TERMS_DAYS,
    Account,
    AccountKind,
    Token,
    TokenStatus,
    TokenType,
)
from chargeledger.domain.catalog import (
    MAX_CONNECTOR_POWER_KW,
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    PowerType,
    Site,
    Station,
    station_password,
)
from chargeledger.domain.geo import Address
from chargeledger.domain.identity import Principal, Role, User
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency

BERLIN = Address("Hauptstr. 1", "10115", "Berlin", "DE")


@contextmanager
def raises_code(code: str, field: str | None = None) -> Iterator[None]:
    """Expect an InvalidInputError with this stable code (and field, when given)."""
    with pytest.raises(InvalidInputError) as info:
        yield
    assert info.value.code == code, info.value.as_dict()
    if field is not None:
        assert info.value.field == field, info.value.as_dict()


# --- builders ----------------------------------------------------------------------------


def make_site(**changes: Any) -> Site:
    fields: dict[str, Any] = {
        "name": "Depot Mitte",
        "address": BERLIN,
        "latitude": Decimal("52.520008"),
        "longitude": Decimal("13.404954"),
        "time_zone": "Europe/Berlin",
    }
    fields.update(changes)
    return Site(**fields)


def make_station(**changes: Any) -> Station:
    fields: dict[str, Any] = {
        "site_id": uuid.uuid4(),
        "charge_point_id": "CP-0001",
        "vendor": "ABB",
        "model": "Terra AC",
        "security_profile": 2,
        "password_hash": "$argon2id$fake",
    }
    fields.update(changes)
    return Station(**fields)


def make_connector(connector_id: int = 1, max_power_kw: Any = Decimal("22")) -> Connector:
    return Connector(
        connector_id=connector_id,
        standard=ConnectorStandard.IEC_62196_T2,
        format=ConnectorFormat.SOCKET,
        power_type=PowerType.AC_3_PHASE,
        max_power_kw=max_power_kw,
    )


def make_account(**changes: Any) -> Account:
    fields: dict[str, Any] = {
        "kind": AccountKind.BUSINESS,
        "name": "Fleet GmbH",
        "email": "billing@fleet.example",
        "billing_address": BERLIN,
        "currency": Currency.of("EUR"),
    }
    fields.update(changes)
    return Account(**fields)


def make_token(**changes: Any) -> Token:
    fields: dict[str, Any] = {
        "uid": "04a2b3c4d5e6f7",
        "type": TokenType.RFID,
        "account_id": uuid.uuid4(),
    }
    fields.update(changes)
    return Token(**fields)


def address_in(country: str) -> Address:
    return Address("Main Street 1", "12345", "Capital", country)


# --- sites -------------------------------------------------------------------------------


def test_a_valid_site_is_normalised() -> None:
    """Names are trimmed, countries upper-cased, coordinates kept to 6 places (~0.1 m)."""
    site = make_site(
        name="  Depot  ",
        address=Address("Hauptstr. 1", "10115", "Berlin", "de"),
        latitude=Decimal("52.52"),
        longitude=Decimal("-0.1278"),
    )
    assert site.name == "Depot"
    assert site.address.country == "DE"
    assert str(site.latitude) == "52.520000"
    assert str(site.longitude) == "-0.127800"


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"name": ""}, "missing_field", "name"),
        ({"name": "   "}, "missing_field", "name"),
        ({"name": "x" * 201}, "too_long", "name"),
        ({"latitude": Decimal("90.000001")}, "invalid_coordinates", "latitude"),
        ({"latitude": Decimal("-90.5")}, "invalid_coordinates", "latitude"),
        ({"longitude": Decimal("180.000001")}, "invalid_coordinates", "longitude"),
        ({"longitude": Decimal("-181")}, "invalid_coordinates", "longitude"),
        ({"latitude": 52.52}, "invalid_coordinates", "latitude"),
        ({"latitude": "52.52"}, "invalid_coordinates", "latitude"),
        ({"latitude": Decimal("NaN")}, "invalid_coordinates", "latitude"),
        ({"longitude": Decimal("Infinity")}, "invalid_coordinates", "longitude"),
        ({"time_zone": "Mars/Olympus_Mons"}, "unknown_time_zone", "time_zone"),
        ({"time_zone": "europe/berlin"}, "unknown_time_zone", "time_zone"),
        ({"time_zone": "CEST"}, "unknown_time_zone", "time_zone"),
        ({"time_zone": ""}, "unknown_time_zone", "time_zone"),
        ({"time_zone": None}, "unknown_time_zone", "time_zone"),
        ({"operator_name": "y" * 201}, "too_long", "operator_name"),
    ],
)
def test_site_rules(changes: dict[str, Any], code: str, field: str) -> None:
    """Coordinates must be exact and on earth; the time zone must be an IANA name because
    tariff restrictions and billing periods are computed in it (DESIGN §2)."""
    with raises_code(code, field):
        make_site(**changes)


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(Decimal(90), Decimal(180)), (Decimal(-90), Decimal(-180)), (Decimal(0), Decimal(0))],
)
def test_site_coordinate_bounds_are_inclusive(latitude: Decimal, longitude: Decimal) -> None:
    site = make_site(latitude=latitude, longitude=longitude)
    assert site.latitude == latitude
    assert site.longitude == longitude


@pytest.mark.parametrize("country", ["XX", "DEU", "", "D", "uk", None])
def test_address_country_must_be_iso_3166(country: Any) -> None:
    """The country drives VAT; a made-up one would produce a wrong invoice later."""
    with raises_code("invalid_country", "country"):
        Address("Hauptstr. 1", "10115", "Berlin", country)


@pytest.mark.parametrize("missing", ["street", "postal_code", "city"])
def test_address_parts_must_not_be_empty(missing: str) -> None:
    parts = {"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin"}
    parts[missing] = "  "
    with raises_code("invalid_address", missing):
        Address(country="DE", **parts)


# --- stations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "charge_point_id",
    ["CP1", "CP-0001", "de.station_7~*", "a" * 48, "0", "ABB-TACW22-2045-0007"],
)
def test_valid_charge_point_ids(charge_point_id: str) -> None:
    assert make_station(charge_point_id=charge_point_id).charge_point_id == charge_point_id


@pytest.mark.parametrize(
    "charge_point_id",
    [
        pytest.param("", id="empty"),
        pytest.param("a" * 49, id="49-chars"),
        pytest.param("CP:1", id="colon-breaks-basic-auth"),
        pytest.param("CP 1", id="space"),
        pytest.param("CP/1", id="slash-breaks-url"),
        pytest.param("CP%201", id="percent"),
        pytest.param("Ladesäule", id="non-ascii"),
        pytest.param(" CP1", id="leading-space"),
        pytest.param(None, id="none"),
        pytest.param(17, id="int"),
    ],
)
def test_invalid_charge_point_ids(charge_point_id: Any) -> None:
    """OCPP 2.0.1 §A00: the identity is part of the URL and the Basic-auth user name, so only
    unreserved characters, no ':' and at most 48 of them."""
    with raises_code("invalid_charge_point_id", "charge_point_id"):
        make_station(charge_point_id=charge_point_id)


def test_charge_point_id_with_trailing_newline_is_refused() -> None:
    """A newline is not one of the allowed characters; it would end up in the URL path and
    in the Basic-auth user name."""
    with raises_code("invalid_charge_point_id", "charge_point_id"):
        make_station(charge_point_id="CP1\n")


@pytest.mark.parametrize("profile", [0, 4, -1, "1", None])
def test_security_profile_must_be_1_2_or_3(profile: Any) -> None:
    with raises_code("invalid_security_profile", "security_profile"):
        make_station(security_profile=profile)


@pytest.mark.parametrize("profile", [1, 2])
@pytest.mark.parametrize("password_hash", [None, ""])
def test_profiles_1_and_2_need_a_password_hash(profile: int, password_hash: str | None) -> None:
    """Profiles 1 and 2 authenticate with HTTP Basic; without a hash nobody could connect,
    or worse, anybody could."""
    with raises_code("missing_station_password", "password"):
        make_station(security_profile=profile, password_hash=password_hash)


def test_profile_3_uses_client_certificates_and_needs_no_password() -> None:
    station = make_station(security_profile=3, password_hash=None)
    assert station.password_hash is None


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"vendor": ""}, "missing_field", "vendor"),
        ({"vendor": "v" * 51}, "too_long", "vendor"),
        ({"model": " "}, "missing_field", "model"),
        ({"serial_number": "s" * 51}, "too_long", "serial_number"),
    ],
)
def test_station_text_fields(changes: dict[str, Any], code: str, field: str) -> None:
    """The limits follow BootNotification's CiString50 fields."""
    with raises_code(code, field):
        make_station(**changes)


@pytest.mark.parametrize(
    ("password", "valid"),
    [
        ("x" * 15, False),
        ("x" * 16, True),
        ("x" * 40, True),
        ("x" * 41, False),
        ("", False),
        (None, False),
    ],
)
def test_station_password_length(password: Any, valid: bool) -> None:
    """OCPP 2.0.1 §A00.FR.509: the Basic-auth password is 16 to 40 characters."""
    if valid:
        assert station_password(password) == password
    else:
        with raises_code("invalid_station_password", "password"):
            station_password(password)


# --- connectors and EVSEs ----------------------------------------------------------------


@pytest.mark.parametrize(
    "power",
    [
        pytest.param(Decimal(0), id="zero"),
        pytest.param(Decimal("-11"), id="negative"),
        pytest.param(MAX_CONNECTOR_POWER_KW + Decimal("0.001"), id="above-mcs"),
        pytest.param(Decimal("NaN"), id="nan"),
        pytest.param(Decimal("Infinity"), id="infinity"),
        pytest.param(22.0, id="float"),
        pytest.param(22, id="int"),
        pytest.param("22", id="str"),
    ],
)
def test_invalid_max_power(power: Any) -> None:
    """Max power bounds plausible energy in meter-data checks, so it must be a positive exact
    number no larger than MCS can deliver."""
    with raises_code("invalid_max_power", "max_power_kw"):
        make_connector(max_power_kw=power)


def test_max_power_is_kept_to_watts() -> None:
    assert str(make_connector(max_power_kw=Decimal("22.08")).max_power_kw) == "22.080"
    assert make_connector(max_power_kw=MAX_CONNECTOR_POWER_KW).max_power_kw == Decimal(3750)


def test_max_power_that_rounds_to_zero_is_refused() -> None:
    """After quantising to watts the power must still be above zero."""
    with raises_code("invalid_max_power", "max_power_kw"):
        make_connector(max_power_kw=Decimal("0.0004"))


@pytest.mark.parametrize("connector_id", [0, -1, "1", None])
def test_connector_id_must_be_a_positive_integer(connector_id: Any) -> None:
    with raises_code("invalid_connector_id", "connector_id"):
        make_connector(connector_id=connector_id)


def test_evse_needs_connectors() -> None:
    with raises_code("missing_connectors", "connectors"):
        Evse(station_id=uuid.uuid4(), evse_id=1, connectors=())


def test_evse_connector_ids_are_unique() -> None:
    with raises_code("duplicate_connector_id", "connectors"):
        Evse(
            station_id=uuid.uuid4(),
            evse_id=1,
            connectors=(make_connector(1), make_connector(2), make_connector(1)),
        )


@pytest.mark.parametrize("evse_id", [0, -3, None])
def test_evse_id_must_be_a_positive_integer(evse_id: Any) -> None:
    with raises_code("invalid_evse_id", "evse_id"):
        Evse(station_id=uuid.uuid4(), evse_id=evse_id, connectors=(make_connector(),))


def test_evse_sorts_connectors_and_reports_the_largest_power() -> None:
    """Connectors are an unordered set to the operator; a stable order makes two EVSEs with
    the same plugs equal. Only one plug charges at a time, so the EVSE limit is the max."""
    ccs = Connector(
        3, ConnectorStandard.IEC_62196_T2_COMBO, ConnectorFormat.CABLE, PowerType.DC, Decimal("150")
    )
    chademo = Connector(
        2, ConnectorStandard.CHADEMO, ConnectorFormat.CABLE, PowerType.DC, Decimal("50")
    )
    type2 = make_connector(1, Decimal("43"))
    # A list, as JSON decoding produces it, is accepted and frozen into a sorted tuple.
    evse = Evse(
        station_id=uuid.uuid4(),
        evse_id=1,
        connectors=[ccs, type2, chademo],  # type: ignore[arg-type]
    )
    assert [c.connector_id for c in evse.connectors] == [1, 2, 3]
    assert isinstance(evse.connectors, tuple)
    assert evse.max_power_kw == Decimal("150.000")


# --- accounts: VAT ids -------------------------------------------------------------------


@pytest.mark.parametrize("vat_id", [None, "", "   "])
def test_absent_vat_id_is_none(vat_id: str | None) -> None:
    assert make_account(vat_id=vat_id).vat_id is None


def test_a_vat_id_is_text() -> None:
    """Its check digits are the ``VatIdChecker``'s (tests/unit/test_vat_ids.py)."""
    with raises_code("invalid_vat_id", "vat_id"):
        make_account(vat_id=136695976)


# --- accounts: other rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "",
        "not-an-email",
        "a@b",
        "a b@example.org",
        "a@@example.org",
        "@example.org",
        "a@example.org " + "x",
        "x" * 250 + "@example.org",
        None,
    ],
)
def test_invalid_account_email(email: Any) -> None:
    with raises_code("invalid_email", "email"):
        make_account(email=email)


def test_account_email_is_trimmed_and_lower_cased() -> None:
    """E-mail addresses identify logins; one spelling per address."""
    assert make_account(email="  Billing@Fleet.Example ").email == "billing@fleet.example"


@pytest.mark.parametrize(
    ("terms", "valid"),
    [
        (0, True),
        (14, True),
        (MAX_PAYMENT_TERMS_DAYS, True),
        (-1, False),
        (MAX_PAYMENT_TERMS_DAYS + 1, False),
        ("14", False),
        (14.0, False),
        (None, False),
    ],
)
def test_payment_terms_bounds(terms: Any, valid: bool) -> None:
    """Directive 2011/7/EU bounds B2B payment terms; the invoice due date derives from them."""
    if valid:
        assert make_account(payment_terms_days=terms).payment_terms_days == terms
    else:
        with raises_code("invalid_payment_terms", "payment_terms_days"):
            make_account(payment_terms_days=terms)


def test_account_reference_length() -> None:
    with raises_code("too_long", "reference"):
        make_account(reference="r" * 65)
    assert make_account(reference="  ").reference is None


# --- tokens ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uid", "stored"),
    [
        ("04a2b3c4d5e6f7", "04A2B3C4D5E6F7"),
        ("app-user-42", "APP-USER-42"),
        ("x" * 36, "X" * 36),
        ("!~", "!~"),
    ],
)
def test_token_uid_is_upper_cased(uid: str, stored: str) -> None:
    """OCPI 2.2.1 §12.3.2: uid is a CiString, compared case-insensitively; storing one case
    makes the unique key work."""
    assert make_token(uid=uid).uid == stored


@pytest.mark.parametrize("uid", ["", "x" * 37, "04 A2 B3", "tab\there", "äöü", None, 1234])
def test_invalid_token_uid(uid: Any) -> None:
    with raises_code("invalid_token_uid", "uid"):
        make_token(uid=uid)


def test_token_uid_with_trailing_newline_is_refused() -> None:
    with raises_code("invalid_token_uid", "uid"):
        make_token(uid="ABC\n")


def test_token_refuses_a_naive_expiry() -> None:
    """DESIGN §2: time is UTC in storage; a naive datetime has no instant to store."""
    with raises_code("naive_datetime", "expires_at"):
        make_token(expires_at=datetime(2030, 1, 1, 12, 0))


EXPIRY = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "expires_at", "now", "effective"),
    [
        (TokenStatus.ACTIVE, None, EXPIRY + timedelta(days=9999), TokenStatus.ACTIVE),
        (TokenStatus.ACTIVE, EXPIRY, EXPIRY - timedelta(microseconds=1), TokenStatus.ACTIVE),
        (TokenStatus.ACTIVE, EXPIRY, EXPIRY, TokenStatus.EXPIRED),
        (TokenStatus.ACTIVE, EXPIRY, EXPIRY + timedelta(seconds=1), TokenStatus.EXPIRED),
        # The same instant written in another zone is still the same instant.
        (
            TokenStatus.ACTIVE,
            EXPIRY.astimezone(timezone(timedelta(hours=2))),
            EXPIRY,
            TokenStatus.EXPIRED,
        ),
        (TokenStatus.BLOCKED, EXPIRY, EXPIRY + timedelta(days=1), TokenStatus.BLOCKED),
        (TokenStatus.BLOCKED, EXPIRY, EXPIRY - timedelta(days=1), TokenStatus.BLOCKED),
        (TokenStatus.EXPIRED, None, EXPIRY, TokenStatus.EXPIRED),
    ],
)
def test_token_status_at(
    status: TokenStatus, expires_at: datetime | None, now: datetime, effective: TokenStatus
) -> None:
    """An active token past its expiry is refused at the station as expired; a blocked token
    stays blocked (the stronger reason) whatever its expiry."""
    token = make_token(status=status, expires_at=expires_at)
    assert token.status_at(now) is effective


def test_token_enums_accept_their_values() -> None:
    token = make_token(type="app", status="blocked")
    assert token.type is TokenType.APP
    assert token.status is TokenStatus.BLOCKED


# --- users and principals ----------------------------------------------------------------

ACCOUNT_ID = uuid.uuid4()


@pytest.mark.parametrize(
    ("role", "account_id", "code"),
    [
        (Role.DRIVER, None, "missing_account"),
        (Role.FLEET_MANAGER, None, "missing_account"),
        (Role.ADMIN, ACCOUNT_ID, "unexpected_account"),
        (Role.FINANCE, ACCOUNT_ID, "unexpected_account"),
        (Role.OPERATOR, ACCOUNT_ID, "unexpected_account"),
        (Role.INTEGRATION, None, "invalid_role"),
        ("integration", None, "invalid_role"),
    ],
)
def test_user_role_and_account_rules(role: Any, account_id: uuid.UUID | None, code: str) -> None:
    """DESIGN §6: drivers and fleet managers see one account and so must have one; staff are
    not bound to one; ``integration`` is for API keys only."""
    with raises_code(code):
        User(email="someone@example.org", password_hash="h", role=role, account_id=account_id)


@pytest.mark.parametrize(
    ("role", "account_id"),
    [
        (Role.DRIVER, ACCOUNT_ID),
        (Role.FLEET_MANAGER, ACCOUNT_ID),
        (Role.ADMIN, None),
        (Role.FINANCE, None),
        (Role.OPERATOR, None),
        ("driver", ACCOUNT_ID),
    ],
)
def test_valid_users(role: Any, account_id: uuid.UUID | None) -> None:
    user = User(email="Someone@Example.org", password_hash="h", role=role, account_id=account_id)
    assert user.role is Role(role)
    assert user.email == "someone@example.org"


def test_user_email_is_checked() -> None:
    with raises_code("invalid_email", "email"):
        User(email="nobody", password_hash="h", role=Role.ADMIN)


OTHER_ACCOUNT = uuid.uuid4()


@pytest.mark.parametrize(
    ("role", "own_account", "asked", "allowed"),
    [
        (Role.DRIVER, ACCOUNT_ID, ACCOUNT_ID, True),
        (Role.DRIVER, ACCOUNT_ID, OTHER_ACCOUNT, False),
        (Role.FLEET_MANAGER, ACCOUNT_ID, ACCOUNT_ID, True),
        (Role.FLEET_MANAGER, ACCOUNT_ID, OTHER_ACCOUNT, False),
        # An account-bound principal that somehow lacks an account sees nothing.
        (Role.DRIVER, None, OTHER_ACCOUNT, False),
        (Role.ADMIN, None, OTHER_ACCOUNT, True),
        (Role.FINANCE, None, OTHER_ACCOUNT, True),
        (Role.OPERATOR, None, OTHER_ACCOUNT, True),
        (Role.INTEGRATION, None, OTHER_ACCOUNT, True),
    ],
)
def test_principal_may_see_account(
    role: Role, own_account: uuid.UUID | None, asked: uuid.UUID, allowed: bool
) -> None:
    """DESIGN §6, deny by default: account-bound principals see only their own account."""
    principal = Principal(subject="someone", role=role, account_id=own_account)
    assert principal.may_see_account(asked) is allowed
