"""What the simulator is told (stations, tokens, options) and what it hands back (truth, report).

The truth records are the yardstick of issue 3: "captured energy equals the simulator's truth to
the Wh for every non-quarantined session". They carry the *true* meter readings, not what a data
fault made the station send, so a quarantined session can be compared with what really happened.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

from chargeledger.domain.accounts import TokenType
from chargeledger.domain.catalog import OcppVersion, PowerType
from chargeledger.domain.charging import QuarantineReason

__all__ = [
    "EvseSpec",
    "FaultKind",
    "MeterKeyAnswer",
    "OcppVersion",
    "PowerType",
    "SimulationOptions",
    "SimulationReport",
    "StationSpec",
    "TokenSpec",
    "TokenType",
    "TruthRecord",
    "load_stations",
    "load_tokens",
    "parse_faults",
]


class FaultKind(StrEnum):
    """Faults on demand (issue 3). Transport faults must not change the billable energy; data
    faults must be quarantined by the server with the ``QuarantineReason`` of the same name,
    or the one named in ``_QUARANTINED_AS`` (a tampered signed record, issue 15: its energy
    contradicts the station's OCPP numbers)."""

    DISCONNECT = "disconnect"
    DUPLICATE = "duplicate"
    REORDER = "reorder"
    CLOCK_SKEW = "clock_skew"
    ZERO_START_LIFETIME_STOP = QuarantineReason.ZERO_START_LIFETIME_STOP.value
    NON_MONOTONIC_REGISTER = QuarantineReason.NON_MONOTONIC_REGISTER.value
    NEGATIVE_ENERGY = QuarantineReason.NEGATIVE_ENERGY.value
    ENERGY_ABOVE_MAX_POWER = QuarantineReason.ENERGY_ABOVE_MAX_POWER.value
    NO_STOP_RECEIVED = QuarantineReason.NO_STOP_RECEIVED.value
    TAMPERED_METER = "tampered_meter"
    # The meter's record is honest but its signature is not the meter's (a replaced or
    # faulty signing module): nothing to quarantine, the session is billed, and only the
    # verdict (``invalid_signature``) shows it — the case a dispute cannot be answered by.
    BAD_METER_SIGNATURE = "bad_meter_signature"

    @property
    def quarantine_reason(self) -> QuarantineReason | None:
        """The reason the server must quarantine with; ``None`` for transport faults."""
        if self.value in _QUARANTINED_AS:
            return _QUARANTINED_AS[self.value]
        try:
            return QuarantineReason(self.value)
        except ValueError:
            return None


# Faults whose quarantine reason has another name than the fault.
_QUARANTINED_AS = {"tampered_meter": QuarantineReason.SIGNED_ENERGY_MISMATCH}


class MeterKeyAnswer(StrEnum):
    """How a station answers the CSMS's question for its meter's public key (OCPP 1.6
    GetConfiguration ``MeterPublicKey<n>``, 2.0.1 GetVariables ``FiscalMetering.PublicKey``,
    OCA application note "Signed Meter Values in OCPP" §3.3.1 / §4.3.2): with the key, as a
    station that has no such key (unknownKey / UnknownVariable), or with a CALLERROR."""

    KEY = "key"
    UNKNOWN = "unknown"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class EvseSpec:
    """One EVSE with one connector. OCPP 1.6 has no EVSE level and addresses it by
    ``connectorId``, so the 1.6 client sends ``evse_id`` as connectorId."""

    evse_id: int
    connector_id: int
    max_power_kw: Decimal
    power_type: PowerType = PowerType.AC_3_PHASE

    @property
    def max_power_w(self) -> int:
        return int(self.max_power_kw * 1000)

    @property
    def is_dc(self) -> bool:
        return self.power_type is PowerType.DC


@dataclass(frozen=True, slots=True)
class StationSpec:
    charge_point_id: str
    password: str
    ocpp_version: OcppVersion
    evses: tuple[EvseSpec, ...]


@dataclass(frozen=True, slots=True)
class TokenSpec:
    uid: str
    type: TokenType = TokenType.RFID


@dataclass(frozen=True, slots=True)
class SimulationOptions:
    """How to run. ``start_at`` pins the simulated start (tests, reproducible truth); by default
    it is ``now - hours`` rounded down to the minute so every timestamp ends up in the past."""

    seed: int = 0
    duration_s: float = 60.0
    hours: float = 24.0
    sessions_per_evse: tuple[int, int] = (2, 5)
    faults: Mapping[FaultKind, float] = field(default_factory=dict)
    start_at: datetime | None = None
    meter_interval_s: int = 300
    heartbeat_interval_s: int | None = None
    # Safety timeouts, not a schedule: how long an answer may take before the connection is
    # renewed and the CALL sent again, and how long a lost server is waited for.
    response_timeout_s: float = 120.0
    connect_timeout_s: float = 30.0
    connect_patience_s: float = 300.0
    validate_messages: bool = True
    progress: Callable[[int, int], None] | None = None
    # Issue 15: every station's meter signs each transaction (OCMF, ``sim/ocmf_meter.py``) and
    # sends the record with the stop; off, the stations send OCPP's unsigned numbers only.
    signed_meter_data: bool = True
    # What the stations answer when asked for their meter's key (without signed data: unknown).
    meter_key_answer: MeterKeyAnswer = MeterKeyAnswer.KEY

    def __post_init__(self) -> None:
        low, high = self.sessions_per_evse
        if not 0 <= low <= high:
            raise ValueError("sessions_per_evse must be (min, max) with 0 <= min <= max")
        if self.duration_s <= 0 or self.hours <= 0:
            raise ValueError("duration and hours must be positive")
        for kind, fraction in self.faults.items():
            FaultKind(kind)
            if not 0 <= fraction <= 1:
                raise ValueError(f"fault fraction for {kind} must be within 0..1")
        signing = (FaultKind.TAMPERED_METER, FaultKind.BAD_METER_SIGNATURE)
        if any(self.faults.get(kind) for kind in signing) and not self.signed_meter_data:
            raise ValueError("the tampered_meter and bad_meter_signature faults need signed data")


@dataclass(frozen=True, slots=True)
class TruthRecord:
    """One session as it really happened (JSON Lines, one per session)."""

    charge_point_id: str
    ocpp_version: str
    evse_id: int
    connector_id: int
    transaction_ref: str | None
    id_tag: str
    started_at: str
    stopped_at: str | None
    meter_start_wh: int
    meter_stop_wh: int | None
    energy_wh: int
    faults: tuple[str, ...]
    expected: str

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "charge_point_id": self.charge_point_id,
            "ocpp_version": self.ocpp_version,
            "evse_id": self.evse_id,
            "connector_id": self.connector_id,
            "transaction_ref": self.transaction_ref,
            "id_tag": self.id_tag,
            "started_at": self.started_at,
            "stopped_at": self.stopped_at,
            "meter_start_wh": str(self.meter_start_wh),
            "meter_stop_wh": None if self.meter_stop_wh is None else str(self.meter_stop_wh),
            "energy_wh": str(self.energy_wh),
            "faults": list(self.faults),
            "expected": self.expected,
        }


def _percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile: good enough for a latency figure, no interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(slots=True)
class SimulationReport:
    """What a run did. Latencies are wall-clock round trips (send CALL → CALLRESULT/CALLERROR)
    in milliseconds; floats are fine here because they are timings, not money or energy."""

    sessions_planned: int = 0
    sessions_completed: int = 0
    sessions_failed: int = 0
    messages_sent: int = 0
    call_errors: int = 0
    timeouts: int = 0
    reconnects: int = 0
    stations_failed: list[str] = field(default_factory=list)
    # Why each failed station failed (the server's refusal, or what the link last saw).
    failures: dict[str, str] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    wall_time_s: float = 0.0
    faults: dict[str, int] = field(default_factory=dict)
    truth: list[TruthRecord] = field(default_factory=list)

    @property
    def p50_ms(self) -> float | None:
        return _percentile(self.latencies_ms, 0.50)

    @property
    def p99_ms(self) -> float | None:
        return _percentile(self.latencies_ms, 0.99)

    def summary(self) -> dict[str, Any]:
        """The report without the per-call and per-session lists (for the JSON progress line)."""
        return {
            "sessions_planned": self.sessions_planned,
            "sessions_completed": self.sessions_completed,
            "sessions_failed": self.sessions_failed,
            "messages_sent": self.messages_sent,
            "call_errors": self.call_errors,
            "timeouts": self.timeouts,
            "reconnects": self.reconnects,
            "stations_failed": list(self.stations_failed),
            "failures": dict(self.failures),
            "calls_timed": len(self.latencies_ms),
            "latency_p50_ms": _rounded(self.p50_ms),
            "latency_p99_ms": _rounded(self.p99_ms),
            "wall_time_s": round(self.wall_time_s, 3),
            "faults": dict(self.faults),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name} must be a number")
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{name} must be a number") from exc
    if not result.is_finite() or result <= 0:
        raise ValueError(f"{name} must be above 0")
    return result


def parse_station(raw: Mapping[str, Any]) -> StationSpec:
    evses = tuple(
        EvseSpec(
            evse_id=int(e["evse_id"]),
            connector_id=int(e.get("connector_id", 1)),
            max_power_kw=_decimal(e["max_power_kw"], "max_power_kw"),
            power_type=PowerType(e.get("power_type", PowerType.AC_3_PHASE)),
        )
        for e in raw["evses"]
    )
    if not evses or len({e.evse_id for e in evses}) != len(evses):
        raise ValueError(f"station {raw.get('charge_point_id')}: evse ids must be unique")
    return StationSpec(
        charge_point_id=str(raw["charge_point_id"]),
        password=str(raw["password"]),
        ocpp_version=OcppVersion(str(raw["ocpp_version"])),
        evses=evses,
    )


def load_stations(path: Path) -> list[StationSpec]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError("stations file must hold a JSON list")
    stations = [parse_station(item) for item in data]
    ids = [s.charge_point_id for s in stations]
    if len(set(ids)) != len(ids):
        raise ValueError("charge point ids must be unique")
    return stations


def load_tokens(path: Path) -> list[TokenSpec]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError("tokens file must hold a JSON list")
    return [TokenSpec(uid=str(t["uid"]), type=TokenType(t.get("type", "rfid"))) for t in data]


def parse_faults(text: str) -> dict[FaultKind, float]:
    """``disconnect=0.1,duplicate=0.05`` → {FaultKind.DISCONNECT: 0.1, ...}."""
    faults: dict[FaultKind, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, fraction = part.partition("=")
        if not sep:
            raise ValueError(f"fault {part!r} must be name=fraction")
        try:
            kind = FaultKind(name.strip())
        except ValueError as exc:
            known = ", ".join(k.value for k in FaultKind)
            raise ValueError(f"unknown fault {name!r}; known: {known}") from exc
        value = float(fraction)
        if not 0 <= value <= 1:
            raise ValueError(f"fault fraction for {name} must be within 0..1")
        faults[kind] = value
    return faults
