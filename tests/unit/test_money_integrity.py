"""The pure rules of issue 11 items 8-10: one VAT figure (``Billed``), a tariff's stated VAT
against the VAT due, one currency per invoice, never a negative price, one check for station
and corrected readings, and a CDR for a session that stopped the instant it started."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chargeledger.domain.cdrs import session_cdr
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.tariffs import parse_cdr, parse_tariff, price
from chargeledger.errors import ChargeledgerError, InvalidInputError

D = Decimal
T = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def tariff(price_: str = "0.45", vat: str | None = "19", currency: str = "GBP") -> Any:
    component: dict[str, Any] = {"type": "ENERGY", "price": price_, "step_size": 1}
    if vat is not None:
        component["vat"] = vat
    return {"id": "T", "currency": currency, "elements": [{"price_components": [component]}]}


def cdr(kwh: str, hours: str = "0.5") -> Any:
    return parse_cdr(
        {
            "start_date_time": "2026-03-10T09:00:00Z",
            "end_date_time": "2026-03-10T09:30:00Z",
            "currency": "GBP",
            "charging_periods": [
                {
                    "start_date_time": "2026-03-10T09:00:00Z",
                    "dimensions": [
                        {"type": "ENERGY", "volume": kwh},
                        {"type": "TIME", "volume": hours},
                    ],
                }
            ],
        }
    )


# --- never negative -----------------------------------------------------------------------


def test_a_price_is_never_negative() -> None:
    with pytest.raises(InvalidInputError) as refused:
        price(cdr("-10"), parse_tariff(tariff()))
    assert refused.value.code == "invalid_cdr"
    for bad in (tariff(price_="-0.45"), tariff(vat="-19")):
        with pytest.raises(InvalidInputError) as refused:
            parse_tariff(bad)
        assert refused.value.code == "invalid_tariff"
    with pytest.raises(InvalidInputError) as refused:
        parse_tariff({**tariff(), "min_price": {"excl_vat": "-1"}})
    assert refused.value.code == "invalid_tariff"


def session(start_wh: str, stop_wh: str, minutes: int = 30) -> Session:
    return Session(
        station_id=uuid.uuid4(),
        evse_id=1,
        transaction_ref="1",
        ocpp_version="1.6",
        started_at=T,
        meter_start_wh=D(start_wh),
        stopped_at=T + timedelta(minutes=minutes),
        meter_stop_wh=D(stop_wh),
        status=SessionStatus.COMPLETED,
    )


def test_a_cdr_is_never_built_from_negative_energy() -> None:
    """The −1.29 € of the issue: a register that ran backwards priced as a negative amount."""
    with pytest.raises(ChargeledgerError) as refused:
        session_cdr(session("2000000", "1990000"), [], [], parse_tariff(tariff()), "UTC")
    assert refused.value.code == "negative_energy"
