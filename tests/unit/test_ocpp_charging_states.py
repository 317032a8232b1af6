"""The OCPP edge reads whether energy could flow from each version's own words."""

from __future__ import annotations

import pytest

from chargeledger.domain.charging import ChargingState
from chargeledger.stations.charging_states import charging_state_16, charging_state_201

CHARGING, IDLE = ChargingState.CHARGING, ChargingState.IDLE


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("Charging", CHARGING),
        ("SuspendedEV", IDLE),
        ("SuspendedEVSE", IDLE),
        ("Finishing", IDLE),
        ("Available", None),
        ("Preparing", None),
        ("Faulted", None),
    ],
)
def test_a_16_connector_status(status: str, state: ChargingState | None) -> None:
    assert charging_state_16(status) is state


@pytest.mark.parametrize(
    ("charging_state", "state"),
    [
        ("Charging", CHARGING),
        ("SuspendedEV", IDLE),
        ("SuspendedEVSE", IDLE),
        ("EVConnected", IDLE),
        ("Idle", IDLE),
        ("Unknown", None),
        (None, None),
    ],
)
def test_a_201_charging_state(charging_state: str | None, state: ChargingState | None) -> None:
    assert charging_state_201(charging_state) is state
