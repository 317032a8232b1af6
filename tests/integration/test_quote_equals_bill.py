"""Issue 11 item 16 (DESIGN §2, one pricing function): the quote a driver is shown before the
start equals the bill of a session that does what the quote assumed, to the last digit, under
time-of-use and step tariffs.

The quote goes through the quotes service (``quote_station``: the station's tariff, the site's
zone, ``planned_cdr``); the bill through the session CDR path (``price_captured_session``: the
stored session, its register samples and charging/idle changes, ``session_cdr``), on SQLite and
PostgreSQL. Sessions start and change state on arbitrary milliseconds, so periods of 64 or 38
minutes (repeating decimals in hours) and kWh thresholds crossed mid-second all occur.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chargeledger.bootstrap import Runtime
from chargeledger.domain.catalog import Station
from chargeledger.domain.charging import (
    ChargingState,
    Measurand,
    MeterSample,
    Session,
    SessionStatus,
    StateChange,
)
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.services import quotes, tariffs
from chargeledger.services.charging import session_pricing
from tests.integration.ocpp_server import seed_network

ADMIN = Principal(subject="test", role=Role.ADMIN)
TOTALS = (
    "total_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_fixed_cost",
    "total_reservation_cost",
    "total_energy",
    "total_time",
    "total_parking_time",
)


def _component(kind: str, price: str, step: int, vat: str | None = "19") -> dict[str, Any]:
    doc: dict[str, Any] = {"type": kind, "price": Decimal(price), "step_size": step}
    if vat is not None:
        doc["vat"] = Decimal(vat)
    return doc


# Time of use in Berlin: a weekday evening peak with an idle fee per started minute, a cheaper
# night, parking free during the first 30 min of a session, a session fee, 100 Wh energy steps
# and a kWh band.
TIME_OF_USE = {
    "id": "TOU-STEPS",
    "currency": "EUR",
    "elements": [
        {
            "price_components": [_component("PARKING_TIME", "0.00", 60)],
            "restrictions": {"max_duration": 1800},
        },
        {
            "price_components": [
                _component("ENERGY", "0.69", 100),
                _component("TIME", "1.20", 300),
                _component("PARKING_TIME", "9.00", 60),
            ],
            "restrictions": {
                "start_time": "17:00",
                "end_time": "21:00",
                "day_of_week": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
            },
        },
        {
            "price_components": [_component("ENERGY", "0.39", 100)],
            "restrictions": {"start_time": "22:00", "end_time": "06:00"},
        },
        {
            "price_components": [_component("ENERGY", "0.44", 100)],
            "restrictions": {"min_kwh": Decimal("25.5")},
        },
        {
            "price_components": [
                _component("ENERGY", "0.59", 100),
                _component("TIME", "0.60", 60),
                _component("PARKING_TIME", "6.00", 60),
                _component("FLAT", "0.35", 0),
            ]
        },
    ],
}


@st.composite
def planned_sessions(draw: st.DrawFn) -> dict[str, Any]:
    """Start on any millisecond of a week in November 2026 (weekdays, a weekend, nights);
    charging and idle of any length on the millisecond, including whole minutes."""
    start = datetime(2026, 11, 16, tzinfo=UTC) + timedelta(
        milliseconds=draw(st.integers(0, 7 * 24 * 3_600_000))
    )
    minutes_or_ms = st.one_of(
        st.integers(1, 480).map(lambda m: m * 60_000), st.integers(1, 8 * 3_600_000)
    )
    return {
        "start": start,
        "kwh": draw(st.decimals(min_value=0, max_value=90, places=3)),
        "charging": timedelta(milliseconds=draw(minutes_or_ms)),
        "idle": timedelta(milliseconds=draw(st.one_of(st.just(0), minutes_or_ms))),
    }


async def _captured(
    runtime: Runtime, station: Station, tariff_id: uuid.UUID, plan: dict[str, Any]
) -> Session:
    """A completed session that charged ``kwh`` evenly over ``charging`` and then idled: its
    register at the start, where charging ended and at the stop, and the change to idle."""
    start, kwh = plan["start"], plan["kwh"]
    charge_end = start + plan["charging"]
    stop = charge_end + plan["idle"]
    meter_start = Decimal(1_234_567)
    session = Session(
        station_id=station.id,
        evse_id=1,
        transaction_ref=uuid.uuid4().hex[:20],
        ocpp_version="1.6",
        started_at=start,
        meter_start_wh=meter_start,
        status=SessionStatus.COMPLETED,
        stopped_at=stop,
        meter_stop_wh=meter_start + kwh * 1000,
        tariff_id=tariff_id,
        payment_route=PaymentRoute.WALK_IN,
        created_at=stop,
        updated_at=stop,
    )
    async with runtime.uow() as uow:
        await uow.sessions.add(session)
        register = Measurand.ENERGY_IMPORT_REGISTER
        await uow.sessions.add_samples(
            session.id,
            [
                MeterSample(start, register, meter_start, "Wh"),
                MeterSample(charge_end, register, meter_start + kwh * 1000, "Wh"),
            ],
        )
        await uow.sessions.add_state_change(session.id, StateChange(start, ChargingState.CHARGING))
        if plan["idle"]:
            await uow.sessions.add_state_change(
                session.id, StateChange(charge_end, ChargingState.IDLE)
            )
        await uow.commit()
    return session


@pytest.fixture
async def tou_station(runtime: Runtime) -> tuple[Runtime, Station, uuid.UUID]:
    """The seeded network's CP16-AC (site in Europe/Berlin) under TIME_OF_USE."""
    network = await seed_network(runtime)
    async with runtime.uow() as uow:
        stored = await tariffs.import_tariff(uow, runtime.clock, TIME_OF_USE)
        await tariffs.assign_tariff(
            uow, runtime.clock, stored.id, TariffScope.OPERATOR, None, runtime.settings.vat_rates
        )
        await uow.commit()
    return runtime, network.stations["CP16-AC"], stored.id


async def _quote_and_bill(world: tuple[Runtime, Station, uuid.UUID], plan: dict[str, Any]) -> None:
    runtime, station, tariff_id = world
    session = await _captured(runtime, station, tariff_id, plan)
    async with runtime.uow() as uow:
        bill = await session_pricing.price_captured_session(
            uow, session, runtime.settings.vat_rates
        )
        quote = await quotes.quote_station(
            uow,
            runtime.clock,
            ADMIN,
            station.id,
            runtime.settings.vat_rates,
            kwh=plan["kwh"],
            charging=plan["charging"],
            idle=plan["idle"],
            starts_at=plan["start"],
        )
    for name in TOTALS:
        assert getattr(quote.result, name) == getattr(bill.result, name), (name, plan)
    assert [line.amount for line in quote.result.lines] == [
        line.amount for line in bill.result.lines
    ]
    assert quote.billed == bill.billed, plan  # the gross shown is the gross booked


async def test_the_issue_quote_is_the_bill(tou_station: tuple[Runtime, Station, uuid.UUID]) -> None:
    """The issue's quote, a Friday 10:00 in Berlin: 60 min charging, then 64 min idle at
    6.00/h per started minute: 6.40 (it was 6.50: 64 min became 1.0666…67 h)."""
    plan = {
        "start": datetime(2026, 11, 20, 9, tzinfo=UTC),
        "kwh": Decimal(10),
        "charging": timedelta(minutes=60),
        "idle": timedelta(minutes=64),
    }
    await _quote_and_bill(tou_station, plan)
    runtime, station, _ = tou_station
    async with runtime.uow() as uow:
        quote = await quotes.quote_station(
            uow,
            runtime.clock,
            ADMIN,
            station.id,
            runtime.settings.vat_rates,
            kwh=Decimal(10),
            charging=timedelta(minutes=60),
            idle=timedelta(minutes=64),
            starts_at=plan["start"],
        )
    assert quote.result.total_parking_cost.excl_vat == Decimal("6.40")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(plan=planned_sessions())
async def test_the_quote_is_the_bill_of_the_same_session(
    tou_station: tuple[Runtime, Station, uuid.UUID], plan: dict[str, Any]
) -> None:
    await _quote_and_bill(tou_station, plan)
