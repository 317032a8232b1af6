"""Power curves of a charging car and the exact energy they deliver.

Power is piecewise constant (whole watts over whole seconds), so the delivered energy is an exact
integer number of joules: no float drift between the register samples a station sends and the
truth file. Registers are whole Wh (OCPP 1.6J §7.31 Energy.Active.Import.Register, unit Wh),
floored from the joules: ``register(t) = meter_start + joules(t) // 3600``. The truth energy is
``joules(stop) // 3600``, which is exactly the register delta the server sees.

Shape (issue 3 "realistic power curves"): a linear ramp over the first two minutes, flat at the
vehicle maximum (capped by the EVSE) up to 80 % SoC, then a linear taper to 10 % of the maximum
at 100 % SoC; after the target SoC the car draws nothing (SuspendedEV).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from chargeledger.sim.model import PowerType

J_PER_WH = 3600
RAMP_S = 120
RAMP_STEP_S = 10
TAPER_STEP_S = 60
TAPER_FROM_PERCENT = 80
AC_PHASE_VOLTAGE = 230
DC_PACK_VOLTAGE = 400
_TENTH = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class VehicleProfile:
    """A car as the station meets it: battery size, state of charge, power it accepts."""

    battery_wh: int
    start_soc: int
    target_soc: int
    max_power_w: int

    def __post_init__(self) -> None:
        if self.battery_wh <= 0 or self.max_power_w <= 0:
            raise ValueError("battery and power must be positive")
        if not 0 <= self.start_soc <= self.target_soc <= 100:
            raise ValueError("need 0 <= start_soc <= target_soc <= 100")


@dataclass(frozen=True, slots=True)
class ChargeTrace:
    """Power over time since plug-in: segment ``i`` starts at ``starts[i]`` seconds with
    ``powers[i]`` watts; ``cum_j[i]`` is the energy delivered before it."""

    vehicle: VehicleProfile
    starts: tuple[int, ...]
    powers: tuple[int, ...]
    cum_j: tuple[int, ...]
    full_at_s: int
    total_j: int
    reached_target: bool

    def energy_j(self, t: int) -> int:
        if t <= 0 or not self.starts:
            return 0
        if t >= self.full_at_s:
            return self.total_j
        i = bisect_right(self.starts, t) - 1
        return self.cum_j[i] + self.powers[i] * (t - self.starts[i])

    def energy_wh(self, t: int) -> int:
        """Whole Wh delivered by second ``t`` (the register increment a meter shows)."""
        return self.energy_j(t) // J_PER_WH

    def power_w(self, t: int) -> int:
        if t < 0 or t >= self.full_at_s or not self.starts:
            return 0
        return self.powers[bisect_right(self.starts, t) - 1]

    def soc_percent(self, t: int) -> int:
        capacity_j = self.vehicle.battery_wh * J_PER_WH
        gained = self.energy_j(t) * 100 // capacity_j
        return min(100, self.vehicle.start_soc + gained)


def _segment_power(max_w: int, t: int, stored_j: int, capacity_j: int) -> int:
    power = max_w
    if t < RAMP_S:
        power = power * min(t + RAMP_STEP_S, RAMP_S) // RAMP_S
    if stored_j * 100 >= capacity_j * TAPER_FROM_PERCENT:
        # 1 - 0.9 * (soc - 0.8) / 0.2 = (46 C - 45 E) / (10 C): 100 % at 80 % SoC, 10 % at 100 %.
        power = power * (46 * capacity_j - 45 * stored_j) // (10 * capacity_j)
        power = max(power, max_w // 10)
    return max(power, 1)


def _segment_length(t: int, stored_j: int, capacity_j: int, power: int) -> int:
    if t < RAMP_S:
        return min(RAMP_STEP_S, RAMP_S - t)
    taper_j = capacity_j * TAPER_FROM_PERCENT // 100
    if stored_j < taper_j:
        return max(1, -(-(taper_j - stored_j) // power))
    return TAPER_STEP_S


def build_trace(vehicle: VehicleProfile, limit_s: int) -> ChargeTrace:
    """Integrate the curve until the target SoC or ``limit_s`` seconds, whichever comes first.

    The last segment is cut to the whole second at which the target is reached, so the energy
    is exact and the car never overshoots by more than one second of power.
    """
    capacity_j = vehicle.battery_wh * J_PER_WH
    stored0 = capacity_j * vehicle.start_soc // 100
    need = capacity_j * vehicle.target_soc // 100 - stored0
    starts: list[int] = []
    powers: list[int] = []
    cums: list[int] = []
    t = cum = 0
    while cum < need and t < limit_s:
        power = _segment_power(vehicle.max_power_w, t, stored0 + cum, capacity_j)
        seg = min(_segment_length(t, stored0 + cum, capacity_j, power), limit_s - t)
        remaining = need - cum
        if power * seg >= remaining:
            seg = -(-remaining // power)
        starts.append(t)
        powers.append(power)
        cums.append(cum)
        cum += power * seg
        t += seg
    return ChargeTrace(
        vehicle=vehicle,
        starts=tuple(starts),
        powers=tuple(powers),
        cum_j=tuple(cums),
        full_at_s=t,
        total_j=cum,
        reached_target=cum >= need,
    )


def phase_current(power_w: int, phases: int) -> Decimal:
    """Current per phase in A, one decimal (AC at 230 V phase voltage)."""
    amps = Decimal(power_w) / (AC_PHASE_VOLTAGE * phases)
    return amps.quantize(_TENTH, rounding=ROUND_HALF_UP)


def dc_current(power_w: int) -> Decimal:
    """DC current in A, one decimal, at a nominal 400 V pack."""
    return (Decimal(power_w) / DC_PACK_VOLTAGE).quantize(_TENTH, rounding=ROUND_HALF_UP)


def currents(power_type: PowerType, power_w: int) -> list[tuple[str | None, Decimal]]:
    """Current.Import per phase (L1-L3 on 3-phase AC), or one DC value without a phase."""
    if power_type is PowerType.DC:
        return [(None, dc_current(power_w))]
    phases = {PowerType.AC_1_PHASE: 1, PowerType.AC_2_PHASE: 2}.get(power_type, 3)
    amps = phase_current(power_w, phases)
    return [(f"L{n}", amps) for n in range(1, phases + 1)]
