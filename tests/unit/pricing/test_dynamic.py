"""A tariff that follows the day-ahead wholesale price (issue 4), priced by price()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chargeledger.domain.tariffs import parse_tariff, price, tariff_to_json
from chargeledger.domain.tariffs.dynamic import (
    dynamic_tariff,
    parse_wholesale_csv,
    retail_price,
)
from chargeledger.domain.tariffs.periods import planned_cdr
from chargeledger.errors import InvalidInputError

CSV = """start,end,price_per_mwh,currency
2026-11-20T22:00:00+00:00,2026-11-20T23:00:00+00:00,60.00,EUR
2026-11-20T23:00:00+00:00,2026-11-21T00:00:00+00:00,-12.50,EUR
2026-11-21T00:00:00+00:00,2026-11-21T01:00:00+00:00,250.00,EUR
2026-11-21T01:00:00+00:00,2026-11-21T02:00:00+00:00,900.00,EUR
"""


def test_the_retail_price_follows_the_wholesale_price_between_floor_and_cap() -> None:
    bounds = {
        "factor": Decimal("1.1"),
        "margin": Decimal("0.15"),
        "floor": Decimal("0.20"),
        "cap": Decimal("0.80"),
    }
    assert retail_price(Decimal("60"), **bounds) == Decimal("0.2160")
    assert retail_price(Decimal("-12.5"), **bounds) == Decimal("0.2000")  # negative: floor
    assert retail_price(Decimal("250"), **bounds) == Decimal("0.4250")
    assert retail_price(Decimal("900"), **bounds) == Decimal("0.8000")  # cap


def test_each_local_hour_is_priced_at_its_slot() -> None:
    """Europe/Berlin is UTC+1 in November: the 22:00Z slot is 23:00-00:00 local, across
    midnight; the next slot is on the next local date."""
    tariff = dynamic_tariff(
        parse_wholesale_csv(CSV),
        tariff_id="DYN-1",
        factor=Decimal("1.1"),
        margin=Decimal("0.15"),
        floor=Decimal("0.20"),
        cap=Decimal("0.80"),
        time_zone="Europe/Berlin",
    )
    assert parse_tariff(tariff_to_json(tariff)) == tariff  # publishable as OCPI JSON
    for hour, expected in ((22, "0.2160"), (23, "0.2000"), (0, "0.4250"), (1, "0.8000")):
        start = datetime(2026, 11, 20 if hour >= 22 else 21, hour, 10, tzinfo=UTC)
        cdr = planned_cdr(
            tariff,
            start,
            kwh=Decimal(10),
            charging=timedelta(minutes=30),
            idle=timedelta(0),
            time_zone="Europe/Berlin",
        )
        result = price(cdr, tariff, "Europe/Berlin")
        assert result.total_energy_cost.excl_vat == Decimal(expected) * 10, hour


def test_a_session_across_two_slots_pays_each_slot_for_its_share() -> None:
    tariff = dynamic_tariff(
        parse_wholesale_csv(CSV),
        tariff_id="DYN-1",
        factor=Decimal(1),
        margin=Decimal(0),
        floor=Decimal(0),
        cap=Decimal(1),
        time_zone="Europe/Berlin",
    )
    start = datetime(2026, 11, 21, 0, 30, tzinfo=UTC)  # 01:30 local, half in the 250 slot
    cdr = planned_cdr(
        tariff,
        start,
        kwh=Decimal(10),
        charging=timedelta(hours=1),
        idle=timedelta(0),
        time_zone="Europe/Berlin",
    )
    result = price(cdr, tariff, "Europe/Berlin")
    assert result.total_energy_cost.excl_vat == Decimal("0.25") * 5 + Decimal("0.9") * 5


@pytest.mark.parametrize(
    "text",
    [
        "begin,end,price\n",
        "start,end,price_per_mwh,currency\n2026-11-20T22:00,2026-11-20T23:00:00Z,1,EUR\n",
        "start,end,price_per_mwh,currency\n2026-11-20T22:00Z,2026-11-20T23:00Z,lots,EUR\n",
        "start,end,price_per_mwh,currency\n2026-11-20T22:00Z,2026-11-20T23:00Z,1,EURO\n",
        "start,end,price_per_mwh,currency\n2026-11-20T23:00Z,2026-11-20T22:00Z,1,EUR\n",
        "start,end,price_per_mwh,currency\n",
    ],
)
def test_a_bad_series_is_refused_with_its_line(text: str) -> None:
    with pytest.raises(InvalidInputError) as error:
        parse_wholesale_csv(text)
    assert error.value.code == "invalid_price_series"
