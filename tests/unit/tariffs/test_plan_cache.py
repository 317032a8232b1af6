"""A tariff version keeps its compiled pricing plan (``plan.plan_for``): compiled once, never
shared with another tariff object, invisible in equality and repr, and safe to fill from
several threads at once."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chargeledger.domain.tariffs import Cdr, ChargingPeriod, DimensionType, Tariff, price
from chargeledger.domain.tariffs.ocpi_json import parse_tariff
from chargeledger.domain.tariffs.plan import plan_for

START = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def _tariff() -> Tariff:
    return parse_tariff(
        {
            "id": "CACHE",
            "currency": "EUR",
            "elements": [
                {
                    "price_components": [{"type": "ENERGY", "price": "0.59", "step_size": 100}],
                    "restrictions": {"start_time": "17:00", "end_time": "21:00"},
                },
                {"price_components": [{"type": "ENERGY", "price": "0.39", "step_size": 1}]},
            ],
        }
    )


def _cdr() -> Cdr:
    periods = tuple(
        ChargingPeriod(
            start_date_time=START + timedelta(hours=hour),
            dimensions=((DimensionType.ENERGY, Decimal("3.333")),),
            durations=((DimensionType.TIME, 3_600_000),),
        )
        for hour in range(4)
    )
    return Cdr(START, START + timedelta(hours=4), "EUR", periods)


def test_a_tariff_compiles_its_plan_once_and_keeps_it() -> None:
    tariff = _tariff()
    assert tariff.compiled_plan is None
    plan = plan_for(tariff)
    assert plan_for(tariff) is plan
    assert tariff.compiled_plan is plan


def test_the_plan_is_not_part_of_the_tariff_value() -> None:
    tariff, twin = _tariff(), _tariff()
    price(_cdr(), tariff, "Europe/Berlin")
    assert tariff == twin
    assert hash(tariff) == hash(twin)
    assert repr(tariff) == repr(twin)
    assert "compiled_plan" not in repr(tariff)


def test_a_changed_copy_compiles_its_own_plan() -> None:
    tariff = _tariff()
    plan = plan_for(tariff)
    copy = dataclasses.replace(tariff, id="OTHER")
    assert copy.compiled_plan is None
    assert plan_for(copy) is not plan


def test_threads_pricing_a_fresh_tariff_agree() -> None:
    tariff, cdr = _tariff(), _cdr()
    expected = price(cdr, _tariff(), "Europe/Berlin")
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: price(cdr, tariff, "Europe/Berlin"), range(64)))
    assert all(result == expected for result in results)
    assert plan_for(tariff) is tariff.compiled_plan
