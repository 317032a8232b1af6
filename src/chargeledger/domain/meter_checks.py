"""Meter data checks: which sessions must not be billed until an operator looks at them.

The checks are pure functions over what the station reported. A session that fails one is
quarantined with the reasons, never billed blindly and never dropped (DESIGN §2).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from chargeledger.domain.charging import (
    ChargingState,
    Measurand,
    MeterSample,
    QuarantineReason,
    StateChange,
)
from chargeledger.domain.ocmf import OcmfError
from chargeledger.domain.ocmf_energy import signed_energy, signed_records
from chargeledger.domain.station_link import SignedMeterValue

# Slack over the physical limit: meter class accuracy (MID class B: 1 %), clock jitter between
# station timestamps, and a fixed allowance for very short sessions.
POWER_TOLERANCE = Decimal("1.05")
ENERGY_ALLOWANCE_WH = Decimal("100")
# OCPP 1.6 meterStart/meterStop are whole Wh: the billed side is never finer than 1 Wh, so a
# signed record stated in 0.0001 kWh is compared at 1 Wh at least.
BILLED_RESOLUTION_KWH = Decimal("0.001")


def register_wh(sample: MeterSample) -> Decimal | None:
    """The energy register of a sample in Wh, or None if it is not an import register."""
    if sample.measurand is not Measurand.ENERGY_IMPORT_REGISTER:
        return None
    if sample.phase not in (None, ""):
        return None  # per-phase registers do not add up to the total we bill
    unit = (sample.unit or "Wh").strip()
    if unit == "kWh":
        return sample.value * 1000
    return sample.value


def registers_in_order(samples: Iterable[MeterSample]) -> list[tuple[datetime, Decimal]]:
    """The total import register readings ordered by station time (replays arrive late)."""
    readings = [(s.timestamp, wh) for s in samples if (wh := register_wh(s)) is not None]
    return sorted(readings, key=lambda reading: reading[0])


def max_plausible_wh(max_power_kw: Decimal, started_at: datetime, stopped_at: datetime) -> Decimal:
    """The most energy the connector could have delivered in the session's time."""
    hours = Decimal((stopped_at - started_at).total_seconds()) / Decimal(3600)
    return max(hours, Decimal(0)) * max_power_kw * 1000 * POWER_TOLERANCE + ENERGY_ALLOWANCE_WH


def reading_issues(
    *,
    meter_start_wh: Decimal,
    meter_stop_wh: Decimal,
    started_at: datetime,
    stopped_at: datetime,
    max_power_kw: Decimal,
) -> tuple[QuarantineReason, ...]:
    """Why a start and stop reading cannot be billed: an import register is never negative
    and never runs backwards, and no connector delivers more than its maximum power over the
    session's time (plus :data:`POWER_TOLERANCE` and :data:`ENERGY_ALLOWANCE_WH`). The one
    check for the station's readings and an operator's corrected ones alike."""
    reasons: list[QuarantineReason] = []
    if meter_start_wh < 0 or meter_stop_wh < 0:
        reasons.append(QuarantineReason.NEGATIVE_METER_READING)
    energy = meter_stop_wh - meter_start_wh
    ceiling = max_plausible_wh(max_power_kw, started_at, stopped_at)
    if energy < 0:
        reasons.append(QuarantineReason.NEGATIVE_ENERGY)
    elif meter_start_wh == 0 and energy > ceiling:
        # A zero start reading with a lifetime-sized stop reading: billing the difference
        # would charge the driver for every kWh the meter ever counted.
        reasons.append(QuarantineReason.ZERO_START_LIFETIME_STOP)
    elif energy > ceiling:
        reasons.append(QuarantineReason.ENERGY_ABOVE_MAX_POWER)
    return tuple(reasons)


def quality_issues(
    *,
    meter_start_wh: Decimal,
    meter_stop_wh: Decimal,
    started_at: datetime,
    stopped_at: datetime,
    max_power_kw: Decimal,
    samples: Sequence[MeterSample],
    signed_values: Sequence[SignedMeterValue] = (),
) -> tuple[QuarantineReason, ...]:
    """Every reason this closed session must not be billed as reported (empty if none)."""
    reasons: list[QuarantineReason] = []
    readings = registers_in_order(samples)
    if any(later < earlier for (_, earlier), (_, later) in pairwise(readings)):
        reasons.append(QuarantineReason.NON_MONOTONIC_REGISTER)
    reasons += reading_issues(
        meter_start_wh=meter_start_wh,
        meter_stop_wh=meter_stop_wh,
        started_at=started_at,
        stopped_at=stopped_at,
        max_power_kw=max_power_kw,
    )
    if signed_energy_contradicts(
        meter_start_wh=meter_start_wh, meter_stop_wh=meter_stop_wh, signed_values=signed_values
    ):
        reasons.append(QuarantineReason.SIGNED_ENERGY_MISMATCH)
    return tuple(reasons)


def signed_energy_contradicts(
    *,
    meter_start_wh: Decimal,
    meter_stop_wh: Decimal,
    signed_values: Sequence[SignedMeterValue],
) -> bool:
    """True when the meter's signed OCMF energy (end minus begin, ``domain.ocmf_energy``) is
    farther from the energy we would bill than the meter's resolution (at least
    :data:`BILLED_RESOLUTION_KWH`). The signed record is the calibrated figure (Eichrecht);
    OCPP's unsigned numbers may be another register (the OCA example bills the lifetime
    register beside a 0.636 kWh record). No signature is needed to see the contradiction;
    signed data without a begin/end pair proves nothing and contradicts nothing."""
    records = signed_records(signed_values)
    if not records:
        return False
    try:
        energy = signed_energy(records)
    except OcmfError:
        return False
    billed_kwh = (meter_stop_wh - meter_start_wh) / 1000
    tolerance = max(energy.resolution_kwh, BILLED_RESOLUTION_KWH)
    return abs(energy.kwh - billed_kwh) > tolerance


def charging_and_idle(
    started_at: datetime, stopped_at: datetime, changes: Sequence[StateChange]
) -> tuple[timedelta, timedelta]:
    """Split the session into time charging and time idle (OCPI: parking time).

    The session counts as charging from its start until the first change says otherwise;
    changes outside the session are clipped. Replayed changes may arrive out of order.
    """
    state = ChargingState.CHARGING
    cursor = started_at
    charging = idle = timedelta(0)
    for change in sorted(changes, key=lambda c: c.timestamp):
        at = min(max(change.timestamp, started_at), stopped_at)
        if state is ChargingState.CHARGING:
            charging += at - cursor
        else:
            idle += at - cursor
        cursor, state = at, change.state
    tail = max(stopped_at - cursor, timedelta(0))
    if state is ChargingState.CHARGING:
        charging += tail
    else:
        idle += tail
    return charging, idle
