"""Whether energy could flow, read from the words each OCPP version uses for it: the edge
turns them into the domain's ``ChargingState`` (charging or idle, the split OCPI bills as
parking time), so no OCPP status name reaches the services (DESIGN §3: thin edges)."""

from __future__ import annotations

from chargeledger.domain.charging import ChargingState

# OCPP 1.6 §7.7 ChargePointStatus: Charging, and the statuses during which no energy flows
# although the car is plugged in; the others (Available, Preparing, ...) say nothing of it.
_STATUSES_16 = {
    "Charging": ChargingState.CHARGING,
    "SuspendedEV": ChargingState.IDLE,
    "SuspendedEVSE": ChargingState.IDLE,
    "Finishing": ChargingState.IDLE,
}

# OCPP 2.0.1 ChargingStateEnumType (EVConnected: plugged in, no energy requested).
_STATES_201 = {
    "Charging": ChargingState.CHARGING,
    "SuspendedEV": ChargingState.IDLE,
    "SuspendedEVSE": ChargingState.IDLE,
    "EVConnected": ChargingState.IDLE,
    "Idle": ChargingState.IDLE,
}


def charging_state_16(status: str) -> ChargingState | None:
    """A 1.6 connector status as charging or idle; None when it says nothing about it."""
    return _STATUSES_16.get(status)


def charging_state_201(charging_state: str | None) -> ChargingState | None:
    """A 2.0.1 transaction's chargingState as charging or idle; None when absent or unknown."""
    return _STATES_201.get(charging_state or "")
