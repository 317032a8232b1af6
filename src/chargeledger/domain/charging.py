"""Charging sessions and their meter data: the input every cent is computed from.

Vocabulary follows OCPP 1.6J §7.31-7.33 (SampledValue, Measurand, ReadingContext) and OCPP 2.0.1
Part 2 §2.49-2.50 (MeterValueType, SampledValueType). Energy is kept in Wh as ``Decimal``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from chargeledger.domain.ids import new_id
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.errors import InvalidInputError

# The largest energy register reading we store (12 integer digits of Wh, 1 TWh): no meter
# counts that far, and the columns hold no more.
MAX_METER_WH = Decimal("999999999999.999")


class Measurand(StrEnum):
    """The measurands we keep (OCPP 1.6J §7.31; same names in 2.0.1 MeasurandEnumType)."""

    ENERGY_IMPORT_REGISTER = "Energy.Active.Import.Register"
    POWER_IMPORT = "Power.Active.Import"
    CURRENT_IMPORT = "Current.Import"
    SOC = "SoC"


class ReadingContext(StrEnum):
    """When a sample was taken (OCPP 1.6J §7.33, 2.0.1 ReadingContextEnumType)."""

    SAMPLE_PERIODIC = "Sample.Periodic"
    SAMPLE_CLOCK = "Sample.Clock"
    TRANSACTION_BEGIN = "Transaction.Begin"
    TRANSACTION_END = "Transaction.End"
    INTERRUPTION_BEGIN = "Interruption.Begin"
    INTERRUPTION_END = "Interruption.End"
    TRIGGER = "Trigger"
    OTHER = "Other"


class SessionStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    QUARANTINED = "quarantined"


class QuarantineReason(StrEnum):
    """Why a session is held back from billing until an operator releases or corrects it.

    Each is a failure our anchors' users lose money on (issue 3): a zero start reading billed
    as a lifetime total, registers running backwards, energy no connector could deliver, stops
    that never come.
    """

    NON_MONOTONIC_REGISTER = "non_monotonic_register"
    ZERO_START_LIFETIME_STOP = "zero_start_lifetime_stop"
    NEGATIVE_ENERGY = "negative_energy"
    NEGATIVE_METER_READING = "negative_meter_reading"
    ENERGY_ABOVE_MAX_POWER = "energy_above_max_power"
    NO_STOP_RECEIVED = "no_stop_received"
    UNKNOWN_TRANSACTION = "unknown_transaction"
    # The meter's signed (OCMF) energy contradicts the energy we would bill (issue 15).
    SIGNED_ENERGY_MISMATCH = "signed_energy_mismatch"


class ChargingState(StrEnum):
    """Whether energy could flow: derived from 1.6 StatusNotification (Charging vs
    SuspendedEV/SuspendedEVSE/Finishing) or 2.0.1 chargingState."""

    CHARGING = "charging"
    IDLE = "idle"


@dataclass(frozen=True, slots=True)
class MeterSample:
    """One sampled value as a station reported it, converted to Decimal at the edge."""

    timestamp: datetime
    measurand: Measurand
    value: Decimal
    unit: str
    context: ReadingContext = ReadingContext.SAMPLE_PERIODIC
    phase: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class StateChange:
    """The connector moved to charging or idle at ``timestamp`` (station time)."""

    timestamp: datetime
    state: ChargingState


@dataclass(frozen=True, slots=True)
class Resolution:
    """How an operator dealt with a quarantined session: released as reported, or corrected."""

    by: str
    at: datetime
    note: str
    corrected_meter_start_wh: Decimal | None = None
    corrected_meter_stop_wh: Decimal | None = None

    def __post_init__(self) -> None:
        """A correction is a number a meter can show. Whether it is plausible (never below
        zero, never backwards, within the EVSE's power) is the station readings' own check
        (``meter_checks.reading_issues``), which a release runs on what it would bill."""
        for name in ("corrected_meter_start_wh", "corrected_meter_stop_wh"):
            reading = getattr(self, name)
            if reading is None:
                continue
            if not (
                isinstance(reading, Decimal)
                and reading.is_finite()
                and abs(reading) <= MAX_METER_WH
            ):
                raise InvalidInputError(
                    f"a corrected reading is 0 to {MAX_METER_WH} Wh",
                    code="invalid_meter_reading",
                    field=name,
                )


@dataclass(frozen=True, slots=True)
class Session:
    """One charging transaction of one EVSE, as captured from the station.

    ``transaction_ref`` is the OCPP transaction identity: the integer we assigned in the 1.6
    StartTransaction.conf (as text), or the station's own 2.0.1 transactionId. Meter readings
    are the station's figures; a correction keeps them and records the corrected ones.
    ``payment_route`` is how it pays, decided when its driver was identified and never
    re-derived from the account's later state (``domain.payment_routes``). Its status moves
    only through ``domain.session_lifecycle``.
    """

    station_id: uuid.UUID
    evse_id: int
    transaction_ref: str
    ocpp_version: str
    started_at: datetime
    meter_start_wh: Decimal
    connector_id: int = 1
    id_tag: str | None = None
    account_id: uuid.UUID | None = None
    status: SessionStatus = SessionStatus.ACTIVE
    stopped_at: datetime | None = None
    meter_stop_wh: Decimal | None = None
    # True when no stop reading came and the stop figure was taken from the samples (the
    # sweep, or a 2.0.1 Ended without a meter value): later samples may still correct it.
    meter_stop_inferred: bool = False
    stop_reason: str | None = None
    last_sample_at: datetime | None = None
    charging_seconds: int | None = None
    idle_seconds: int | None = None
    quarantine_reasons: tuple[QuarantineReason, ...] = ()
    resolution: Resolution | None = None
    tariff_id: uuid.UUID | None = None
    # The contract version whose terms price it (issue 14), frozen at its start like the
    # tariff: an amendment never re-prices a session that started before it.
    contract_version_id: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    payment_route: PaymentRoute = field(kw_only=True)
    # The stored row's version when this was read: a write conditional on it finds out that
    # another writer (an operator's stop, a second node) changed the session since.
    version: int = field(default=0, kw_only=True)

    @property
    def billed_meter_start_wh(self) -> Decimal:
        if self.resolution and self.resolution.corrected_meter_start_wh is not None:
            return self.resolution.corrected_meter_start_wh
        return self.meter_start_wh

    @property
    def billed_meter_stop_wh(self) -> Decimal | None:
        if self.resolution and self.resolution.corrected_meter_stop_wh is not None:
            return self.resolution.corrected_meter_stop_wh
        return self.meter_stop_wh

    @property
    def energy_wh(self) -> Decimal | None:
        """Energy delivered as it will be billed (after any operator correction)."""
        stop = self.billed_meter_stop_wh
        return None if stop is None else stop - self.billed_meter_start_wh

    @property
    def is_open(self) -> bool:
        return self.status is SessionStatus.ACTIVE
