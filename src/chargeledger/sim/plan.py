"""Deterministic session planning: who charges where, when, how much.

Everything random is drawn here from one ``random.Random`` per station, seeded from the run seed
and the charge point id, so the same seed, stations and options give the same plan whatever the
order or speed the stations run at (issue 3: "deterministic by seed"). Times are whole seconds
from the simulated start; sessions on one EVSE never overlap.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from chargeledger.sim.curves import ChargeTrace, VehicleProfile, build_trace
from chargeledger.sim.model import EvseSpec, FaultKind, PowerType, StationSpec, TokenSpec

GAP_AFTER_STOP_S = 120  # Finishing → Available before the next car plugs in
MIN_SESSION_S = 300
MAX_IDLE_S = 3600
LIFETIME_REGISTER_WH = (1_000_000, 9_000_000)


class StopReason(StrEnum):
    """OCPP 1.6J §7 Reason / 2.0.1 ReasonEnumType values the simulator uses."""

    EV_DISCONNECTED = "EVDisconnected"
    LOCAL = "Local"
    REMOTE = "Remote"


class DuplicateTarget(StrEnum):
    START = "start"
    METER = "meter"
    STOP = "stop"


def station_rng(seed: int, charge_point_id: str, purpose: str = "plan") -> random.Random:
    """A private stream per station and purpose; string seeds are hashed with SHA-512 by
    ``random.seed`` (version 2), so they do not depend on PYTHONHASHSEED."""
    return random.Random(f"{seed}:{charge_point_id}:{purpose}")


def draw_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """One planned session. ``fault`` and the fields after it are set by ``faults.assign``."""

    key: str
    evse: EvseSpec
    index: int
    start_s: int
    stop_s: int
    trace: ChargeTrace
    token: TokenSpec
    stop_reason: StopReason
    transaction_uid: str
    fault: FaultKind | None = None
    duplicate_target: DuplicateTarget | None = None
    glitch_sample: int | None = None
    glitch_wh: int = 0  # Wh a data fault moves a reading (tampered_meter: the signed end)
    remote_start_id: int | None = None

    def sample_offsets(self, interval_s: int) -> list[int]:
        """Seconds after start of the periodic samples (Sample.Periodic), before the stop."""
        return list(range(interval_s, self.stop_s - self.start_s, interval_s))

    @property
    def faults(self) -> tuple[str, ...]:
        return () if self.fault is None else (self.fault.value,)

    @property
    def expected(self) -> str:
        reason = None if self.fault is None else self.fault.quarantine_reason
        return "billable" if reason is None else f"quarantine:{reason.value}"


@dataclass(frozen=True, slots=True)
class OfflineWindow:
    """The station is disconnected from ``start_s`` to ``end_s``; the queued transaction
    messages of ``reorder_keys`` sessions are replayed out of order."""

    start_s: int
    end_s: int
    reorder_keys: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class EvsePlan:
    evse: EvseSpec
    initial_register_wh: int
    sessions: tuple[SessionPlan, ...]


@dataclass(frozen=True, slots=True)
class StationPlan:
    spec: StationSpec
    evses: tuple[EvsePlan, ...]
    clock_skew_s: int = 0
    offline: tuple[OfflineWindow, ...] = ()

    @property
    def sessions(self) -> list[SessionPlan]:
        return [s for e in self.evses for s in e.sessions]


@dataclass(frozen=True, slots=True)
class Window:
    """The simulated period: sessions start after ``lead_s`` and end before ``span - tail``."""

    span_s: int
    lead_s: int = 120
    tail_s: int = 180
    interval_s: int = 300
    sessions_per_evse: tuple[int, int] = (2, 5)

    @property
    def usable_s(self) -> int:
        return max(0, self.span_s - self.lead_s - self.tail_s)


def draw_vehicle(rng: random.Random, evse: EvseSpec) -> VehicleProfile:
    """Battery 40-100 kWh, SoC 10-60 % → 80-100 %; AC cars take 11 or 22 kW (single phase
    3.7/7.4 kW), DC cars 50-250 kW; the EVSE caps what the car may draw."""
    battery_wh = rng.randint(40, 100) * 1000
    start_soc = rng.randint(10, 60)
    target_soc = rng.randint(80, 100)
    if evse.power_type is PowerType.DC:
        car_w = rng.randrange(50, 251, 10) * 1000
    elif evse.power_type is PowerType.AC_1_PHASE:
        car_w = rng.choice((3700, 7400))
    else:
        car_w = rng.choice((11000, 22000))
    return VehicleProfile(battery_wh, start_soc, target_soc, min(car_w, evse.max_power_w))


def draw_session(
    rng: random.Random,
    key: str,
    evse: EvseSpec,
    index: int,
    start_s: int,
    available_s: int,
    tokens: Sequence[TokenSpec],
) -> SessionPlan:
    """One car from plug-in to unplug within ``available_s`` seconds: full + idle (0-60 min)
    if it fits, otherwise the driver stops it early (reason Local)."""
    vehicle = draw_vehicle(rng, evse)
    token = tokens[rng.randrange(len(tokens))]
    idle = rng.randint(0, MAX_IDLE_S)
    unplugged = rng.random() < 0.75
    uid = draw_uuid(rng)
    trace = build_trace(vehicle, available_s)
    if trace.reached_target:
        duration = min(trace.full_at_s + idle, available_s)
        reason = StopReason.EV_DISCONNECTED if unplugged else StopReason.LOCAL
    else:
        duration, reason = available_s, StopReason.LOCAL
    return SessionPlan(
        key=key,
        evse=evse,
        index=index,
        start_s=start_s,
        stop_s=start_s + max(duration, 1),
        trace=trace,
        token=token,
        stop_reason=reason,
        transaction_uid=uid,
    )


def plan_station(
    spec: StationSpec, tokens: Sequence[TokenSpec], seed: int, window: Window
) -> StationPlan:
    """2-5 (configurable) sessions per EVSE, one per equal slot of the usable window."""
    if not tokens:
        raise ValueError("the simulator needs at least one token")
    rng = station_rng(seed, spec.charge_point_id)
    low, high = window.sessions_per_evse
    evse_plans: list[EvsePlan] = []
    for evse in spec.evses:
        register = rng.randint(*LIFETIME_REGISTER_WH)
        count = rng.randint(low, high)
        sessions: list[SessionPlan] = []
        slot = window.usable_s // count if count else 0
        for i in range(count):
            slot_start = window.lead_s + i * slot
            start = slot_start + rng.randint(0, slot // 4)
            available = slot_start + slot - GAP_AFTER_STOP_S - start
            if available < MIN_SESSION_S:
                continue
            key = f"{spec.charge_point_id}/{evse.evse_id}/{len(sessions)}"
            sessions.append(draw_session(rng, key, evse, len(sessions), start, available, tokens))
        evse_plans.append(EvsePlan(evse, register, tuple(sessions)))
    return StationPlan(spec=spec, evses=tuple(evse_plans))
