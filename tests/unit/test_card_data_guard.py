"""The card-data guard on stored free text (issue 11 item 6; DESIGN §2 "No card data"): names,
labels, reasons, notes, addresses, e-mails and references refuse a card number; identifiers a
protocol or a device defines (RFID uids, EVSE ids and uids, serial numbers, charge point ids)
do not, even when they are long digit strings that pass the Luhn check."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest

from chargeledger.domain.accounts import Account, AccountKind, Token, TokenType, email_address
from chargeledger.domain.card_data import looks_like_card_number
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    PowerType,
    Site,
    Station,
)
from chargeledger.domain.credit_notes import credit_note
from chargeledger.domain.geo import Address
from chargeledger.domain.identity import ApiKey, Role, Scope, User
from chargeledger.domain.text import optional_text, required_identifier, required_text
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency
from tests.unit.documents.invoices import driver_invoice

CARD = "4242 4242 4242 4242"
LUHN_DIGITS = "4000056655665556"  # passes Luhn: what a long RFID uid or serial may look like
HOME = Address("Hauptstr. 1", "10115", "Berlin", "DE")


@pytest.mark.parametrize(
    ("text", "looks"),
    [
        ("4242424242424242 12 30", True),  # a card followed by its expiry
        ("4242-4242-4242-4242-1", True),  # and by another group
        ("ref 12 4242 4242 4242 4242", True),  # preceded by a group
        ("3782 822463 10005", True),  # Amex grouping
        ("DE89 3704 0044 0532 0130 00", False),  # an IBAN's digit groups fail Luhn here
        ("424242424242424242424", False),  # 21 unbroken digits: not taken apart
        ("order 2026-03-01", False),
        ("tok_4242424242424242", True),  # a card sent as a token
        ("4242424242424242@example.org", True),
        ("x4242424242424242", True),  # glued to a letter that is no hex digit
        ("c318165c4767484981592c00cfc64925", False),  # a hex id with a Luhn digit run
        ("tok_f2331620748258d0", False),
        ("35327a22-8994-4cbf-9747-734812313bef", False),  # a UUID idempotency key
        ("12345678-1234-4123-8123-123456789012", False),  # a UUID of digits only
    ],
)
def test_card_numbers_are_found_in_groups(text: str, looks: bool) -> None:
    assert looks_like_card_number(text) is looks


def test_random_ids_and_keys_are_never_taken_for_cards() -> None:
    """One UUID in about 360 holds a Luhn-passing digit run across its groups; an Idempotency-Key
    or a PSP token must not be refused for that (the CI failure of ``tok_f2331620748258d0``)."""
    ids = [str(uuid.UUID(int=n * 0x9E3779B97F4A7C15F39CC0605CEDC835 % 2**128)) for n in range(5000)]
    ids += [value.replace("-", "") for value in ids]
    assert not [value for value in ids if looks_like_card_number(value)]


def test_free_text_refuses_card_numbers_and_never_repeats_them() -> None:
    assert required_text("  Depot North ", "name") == "Depot North"
    assert optional_text(None, "label") is None
    with pytest.raises(InvalidInputError) as refused:
        required_text(f"card {CARD}", "note")
    assert (refused.value.code, refused.value.field) == ("card_data_refused", "note")
    assert "4242" not in refused.value.message
    assert required_identifier(LUHN_DIGITS, "serial_number") == LUHN_DIGITS


def _account(**overrides: object) -> Account:
    fields: dict[str, object] = {
        "kind": AccountKind.BUSINESS,
        "name": "Fleet GmbH",
        "email": "billing@fleet.example",
        "billing_address": HOME,
        "currency": Currency.of("EUR"),
        **overrides,
    }
    return Account(**fields)  # type: ignore[arg-type]


FREE_TEXT: dict[str, Callable[[str], object]] = {
    "account name": lambda v: _account(name=v),
    "account reference": lambda v: _account(reference=v),
    "account e-mail": lambda v: email_address(f"{v.replace(' ', '')}@example.org"),
    "street": lambda v: Address(v, "10115", "Berlin", "DE"),
    "postal code": lambda v: Address("Ring 1", v, "Berlin", "DE"),
    "city": lambda v: Address("Ring 1", "10115", v, "DE"),
    "token label": lambda v: Token(
        uid="04AABBCC", type=TokenType.RFID, account_id=uuid.uuid4(), label=v
    ),
    "site name": lambda v: Site(v, HOME, Decimal("52.5"), Decimal("13.4"), "Europe/Berlin"),
    "user name": lambda v: User(
        email="ana@example.org", password_hash="x", role=Role.FINANCE, name=v
    ),
    "credit note reason": lambda v: credit_note(driver_invoice(), v, ()),
    "API key name": lambda v: ApiKey(
        name=v, prefix="abc", secret_hash="x", scopes=frozenset({Scope.CATALOG_READ})
    ),
}


@pytest.mark.parametrize("where", sorted(FREE_TEXT))
def test_every_free_text_field_refuses_a_card_number(where: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        FREE_TEXT[where](f"x {CARD}")
    assert refused.value.code == "card_data_refused"


def test_protocol_and_device_identifiers_may_be_luhn_digits() -> None:
    token = Token(uid=LUHN_DIGITS, type=TokenType.RFID, account_id=uuid.uuid4())
    station = Station(
        site_id=uuid.uuid4(),
        charge_point_id=LUHN_DIGITS,
        vendor="ABB",
        model=LUHN_DIGITS,
        security_profile=3,
        serial_number=LUHN_DIGITS,
        meter_serial=LUHN_DIGITS,
    )
    evse = Evse(
        station_id=station.id,
        evse_id=1,
        evse_uid=LUHN_DIGITS,
        connectors=(
            Connector(
                1,
                ConnectorStandard.IEC_62196_T2,
                ConnectorFormat.SOCKET,
                PowerType.AC_3_PHASE,
                Decimal("22"),
            ),
        ),
    )
    assert (token.uid, station.serial_number, station.meter_serial, evse.evse_uid) == (
        LUHN_DIGITS,
        LUHN_DIGITS,
        LUHN_DIGITS,
        LUHN_DIGITS,
    )
