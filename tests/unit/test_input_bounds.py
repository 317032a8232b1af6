"""The domain's own fences behind the API's bounds (issue 11 item 17): numbers beyond what a
station, a meter, a wallet or a credit note can mean are refused with the domain's error code,
and never reach ``quantize`` where they would raise ``InvalidOperation`` instead."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chargeledger.domain.catalog import (
    MAX_EVSE_ID,
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    PowerType,
)
from chargeledger.domain.charging import MAX_METER_WH, Resolution
from chargeledger.domain.credit_notes import credit_note
from chargeledger.domain.payments import WalletSettings
from chargeledger.errors import InvalidInputError
from chargeledger.money import MAX_AMOUNT, Currency, within_minor_units
from chargeledger.services.common import MAX_OFFSET, page_bounds
from tests.unit.documents.invoices import driver_invoice

D = Decimal
EUR, JPY, KWD = Currency.of("EUR"), Currency.of("JPY"), Currency.of("KWD")


@pytest.mark.parametrize(
    ("amount", "eur", "jpy", "kwd"),
    [
        ("1.10", True, False, True),
        ("1.100", True, False, True),
        ("1.101", False, False, True),
        ("1.1015", False, False, False),
        ("12300E-2", True, True, True),
        ("1E+30", True, True, True),
        ("1E-30", False, False, False),
        ("0E-30", True, True, True),
        ("-0.50", True, False, True),
        ("NaN", False, False, False),
        ("Infinity", False, False, False),
    ],
)
def test_within_minor_units_never_raises(amount: str, eur: bool, jpy: bool, kwd: bool) -> None:
    value = D(amount)
    assert [within_minor_units(value, c) for c in (EUR, JPY, KWD)] == [eur, jpy, kwd]


def plug(power: str, connector_id: int = 1) -> Connector:
    return Connector(
        connector_id,
        ConnectorStandard.IEC_62196_T2,
        ConnectorFormat.SOCKET,
        PowerType.AC_3_PHASE,
        D(power),
    )


@pytest.mark.parametrize("power", ["1E+30", "3750.001", "0.0001", "-1", "NaN"])
def test_a_connector_power_beyond_reason_is_refused(power: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        plug(power)
    assert (refused.value.code, refused.value.field) == ("invalid_max_power", "max_power_kw")


def test_connector_and_evse_numbers_are_bounded() -> None:
    assert plug("22", connector_id=99).connector_id == 99
    with pytest.raises(InvalidInputError, match="1 to 99") as refused:
        plug("22", connector_id=100)
    assert refused.value.code == "invalid_connector_id"
    station = uuid.uuid4()
    assert Evse(station, MAX_EVSE_ID, (plug("22"),)).evse_id == MAX_EVSE_ID
    for number in (0, MAX_EVSE_ID + 1, 2**63):
        with pytest.raises(InvalidInputError) as refused:
            Evse(station, number, (plug("22"),))
        assert refused.value.code == "invalid_evse_id"


@pytest.mark.parametrize("reading", ["1E+30", "NaN", "1000000000000"])
def test_a_corrected_reading_beyond_any_meter_is_refused(reading: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        Resolution("ops", datetime(2026, 3, 1, tzinfo=UTC), "fixed", None, D(reading))
    assert (refused.value.code, refused.value.field) == (
        "invalid_meter_reading",
        "corrected_meter_stop_wh",
    )
    kept = Resolution("ops", datetime(2026, 3, 1, tzinfo=UTC), "fixed", D(0), MAX_METER_WH)
    assert kept.corrected_meter_stop_wh == MAX_METER_WH


@pytest.mark.parametrize(
    ("field", "amount"),
    [
        ("minimum_balance", "1E+308"),
        ("minimum_balance", "-0.01"),
        ("minimum_balance", "NaN"),
        ("top_up_below", "0.001"),
        ("top_up_amount", "0"),
        ("top_up_amount", str(MAX_AMOUNT + 1)),
    ],
)
def test_wallet_limits_are_money_of_the_wallets_currency(field: str, amount: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        WalletSettings(uuid.uuid4(), "EUR", **{field: D(amount)})
    assert (refused.value.code, refused.value.field) == ("invalid_wallet_settings", field)
    stored = WalletSettings(uuid.uuid4(), "EUR", minimum_balance=D("5.0000"))  # as read back
    assert stored.minimum_balance == D(5)


@pytest.mark.parametrize("amount", ["1E+30", "0.001", "NaN", str(MAX_AMOUNT + 1)])
def test_a_credit_amount_beyond_reason_is_refused(amount: str) -> None:
    original = driver_invoice()
    with pytest.raises(InvalidInputError) as refused:
        credit_note(original, "goodwill", [], net_amount=D(amount))
    assert (refused.value.code, refused.value.field) == ("invalid_amount", "net_amount")


def test_paging_is_bounded_in_the_use_cases() -> None:
    assert page_bounds(1000, MAX_OFFSET) == (1000, MAX_OFFSET)
    for limit, offset in ((1000, MAX_OFFSET + 1), (1000, 2**63), (0, 0), (1001, 0)):
        with pytest.raises(InvalidInputError) as refused:
            page_bounds(limit, offset)
        assert refused.value.code == "invalid_paging"
