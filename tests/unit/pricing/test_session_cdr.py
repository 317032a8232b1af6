"""Building a CDR from a captured session (issue 4): periods cut where the price can change,
energy from the register, power and current bands from the power and current samples."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chargeledger.domain.cdrs import session_cdr
from chargeledger.domain.charging import (
    ChargingState,
    Measurand,
    MeterSample,
    Session,
    SessionStatus,
    StateChange,
)
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.tariffs import DimensionType, Tariff, parse_tariff, price

T = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 10:00 in Europe/Berlin


def at(minutes: int) -> datetime:
    return T + timedelta(minutes=minutes)


def sample(
    minutes: int, measurand: Measurand, value: str, unit: str, phase: str | None = None
) -> MeterSample:
    return MeterSample(at(minutes), measurand, Decimal(value), unit, phase=phase)


def session(stop_minutes: int, start_wh: str = "0", stop_wh: str = "20000") -> Session:
    return Session(
        station_id=uuid.uuid4(),
        evse_id=1,
        transaction_ref="1",
        ocpp_version="1.6",
        started_at=at(0),
        meter_start_wh=Decimal(start_wh),
        stopped_at=at(stop_minutes),
        meter_stop_wh=Decimal(stop_wh),
        status=SessionStatus.COMPLETED,
        payment_route=PaymentRoute.WALK_IN,
    )


def energy_tariff(**restrictions: object) -> Tariff:
    return parse_tariff(
        {
            "id": "P",
            "currency": "EUR",
            "elements": [
                {
                    "price_components": [{"type": "ENERGY", "price": "0.20", "step_size": 1}],
                    "restrictions": restrictions,
                },
                {
                    "price_components": [
                        {"type": "ENERGY", "price": "0.40", "step_size": 1},
                        {"type": "PARKING_TIME", "price": "6.00", "step_size": 60},
                    ]
                },
            ],
        }
    )


def test_power_bands_cut_periods_and_choose_the_price() -> None:
    """OCPI 2.2.1 §11.4.6 max_power: below 11 kW the cheap element applies."""
    tariff = energy_tariff(max_power=Decimal(11))
    samples = [
        sample(0, Measurand.POWER_IMPORT, "30000", "W"),
        sample(30, Measurand.ENERGY_IMPORT_REGISTER, "15000", "Wh"),
        sample(30, Measurand.POWER_IMPORT, "10000", "W"),
    ]
    cdr = session_cdr(session(60), samples, [], tariff, "Europe/Berlin")
    assert [p.start_date_time for p in cdr.charging_periods] == [at(0), at(30)]
    assert cdr.charging_periods[0].volume(DimensionType.MAX_POWER) == Decimal(30)
    assert cdr.charging_periods[1].volume(DimensionType.MAX_POWER) == Decimal(10)
    result = price(cdr, tariff, "Europe/Berlin")
    assert result.total_energy_cost.excl_vat == Decimal("7.00")  # 15 × 0.40 + 5 × 0.20


def test_current_bands_sum_the_phases_cut_periods_and_choose_the_price() -> None:
    """OCPI 2.2.1 §11.4.6 min_current is the sum over all phases: 3 × 16 A = 48 A reaches a
    32 A minimum, 3 × 8 A = 24 A does not; the period is cut where the sum crosses 32 A and
    carries MIN_/MAX_CURRENT (§10.4.7)."""
    tariff = energy_tariff(min_current=Decimal(32))
    samples = [
        *(sample(0, Measurand.CURRENT_IMPORT, "16", "A", phase) for phase in ("L1", "L2", "L3")),
        sample(0, Measurand.CURRENT_IMPORT, "1", "A", "N"),  # the neutral is not a phase
        sample(40, Measurand.ENERGY_IMPORT_REGISTER, "16000", "Wh"),
        *(sample(40, Measurand.CURRENT_IMPORT, "8", "A", phase) for phase in ("L1", "L2", "L3")),
    ]
    cdr = session_cdr(session(60), samples, [], tariff, "Europe/Berlin")
    assert [p.start_date_time for p in cdr.charging_periods] == [at(0), at(40)]
    assert cdr.charging_periods[0].volume(DimensionType.MIN_CURRENT) == Decimal(48)
    assert cdr.charging_periods[1].volume(DimensionType.MAX_CURRENT) == Decimal(24)
    result = price(cdr, tariff, "Europe/Berlin")
    assert result.total_energy_cost.excl_vat == Decimal("4.80")  # 16 × 0.20 + 4 × 0.40


def test_a_total_current_reading_wins_over_its_phases() -> None:
    tariff = energy_tariff(max_current=Decimal(20))
    samples = [
        sample(0, Measurand.CURRENT_IMPORT, "10", "A", "L1"),
        sample(0, Measurand.CURRENT_IMPORT, "10", "A", "L2"),
        sample(0, Measurand.CURRENT_IMPORT, "19", "A"),
    ]
    cdr = session_cdr(session(60), samples, [], tariff, "Europe/Berlin")
    assert cdr.charging_periods[0].volume(DimensionType.MAX_CURRENT) == Decimal(19)
    assert price(cdr, tariff, "Europe/Berlin").total_energy_cost.excl_vat == Decimal("4.00")


def test_energy_adds_up_exactly_and_idle_time_is_parking() -> None:
    tariff = energy_tariff(start_time="12:00", end_time="13:00")  # never matches here
    samples = [sample(20, Measurand.ENERGY_IMPORT_REGISTER, "7333", "Wh")]
    changes = [StateChange(at(45), ChargingState.IDLE)]
    cdr = session_cdr(session(60, "1000", "9000"), samples, changes, tariff, "Europe/Berlin")
    energy = sum(p.volume(DimensionType.ENERGY) or 0 for p in cdr.charging_periods)
    assert energy == Decimal(8)
    assert cdr.charging_periods[-1].volume(DimensionType.PARKING_TIME) == Decimal(15) / 60
    result = price(cdr, tariff, "Europe/Berlin")
    assert result.total_parking_cost.excl_vat == Decimal("1.50")
