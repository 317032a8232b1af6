"""The simulator's pure parts: power curves, exact energy, deterministic plans, fault picks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargeledger.sim import FaultKind, SimulationOptions, StationSpec, TokenSpec, make_plans
from chargeledger.sim.curves import (
    J_PER_WH,
    RAMP_S,
    VehicleProfile,
    build_trace,
    currents,
    phase_current,
)
from chargeledger.sim.faults import (
    ABOVE_MAX_FACTOR,
    fault_count,
    reported_sample,
    reported_start,
    reported_stop,
)
from chargeledger.sim.model import EvseSpec, OcppVersion, PowerType, parse_faults

CAR = VehicleProfile(battery_wh=60_000, start_soc=20, target_soc=100, max_power_w=11_000)


def test_ramp_flat_taper_then_nothing() -> None:
    trace = build_trace(CAR, 24 * 3600)
    assert trace.reached_target
    assert 0 < trace.power_w(0) < trace.power_w(RAMP_S // 2) < CAR.max_power_w
    assert trace.power_w(RAMP_S) == CAR.max_power_w
    # flat until 80 %: 60 kWh x 60 % at 11 kW is a little over three hours
    assert trace.power_w(3 * 3600) == CAR.max_power_w
    assert trace.soc_percent(3 * 3600) < 80
    last = trace.power_w(trace.full_at_s - 1)
    assert CAR.max_power_w // 10 <= last < CAR.max_power_w // 5  # tapered to ~10 %
    assert trace.power_w(trace.full_at_s) == 0
    assert trace.soc_percent(trace.full_at_s) == 100


def test_energy_is_exact_and_monotonic() -> None:
    trace = build_trace(CAR, 24 * 3600)
    needed_j = CAR.battery_wh * J_PER_WH * (CAR.target_soc - CAR.start_soc) // 100
    # the last second overshoots by at most one second of power
    assert needed_j <= trace.total_j < needed_j + trace.powers[-1]
    points = range(0, trace.full_at_s + 600, 37)
    energies = [trace.energy_j(t) for t in points]
    assert energies == sorted(energies)
    assert trace.energy_wh(trace.full_at_s) == trace.total_j // J_PER_WH
    # piecewise-constant power integrates exactly: joules = sum(power x seconds)
    total = sum(
        p * (end - start)
        for p, start, end in zip(
            trace.powers, trace.starts, [*trace.starts[1:], trace.full_at_s], strict=True
        )
    )
    assert total == trace.total_j


def test_limit_cuts_the_session_short() -> None:
    trace = build_trace(CAR, 1800)
    assert not trace.reached_target
    assert trace.full_at_s == 1800
    assert trace.energy_j(10_000) == trace.energy_j(1800)


@given(
    battery=st.integers(40, 100),
    start=st.integers(10, 60),
    target=st.integers(80, 100),
    power=st.integers(3_700, 250_000),
    limit=st.integers(60, 12 * 3600),
)
def test_register_increments_never_decrease(
    battery: int, start: int, target: int, power: int, limit: int
) -> None:
    trace = build_trace(VehicleProfile(battery * 1000, start, target, power), limit)
    steps = [trace.energy_wh(t) for t in range(0, limit + 1, max(1, limit // 50))]
    assert steps == sorted(steps)
    assert trace.full_at_s <= limit
    assert all(p > 0 for p in trace.powers)


def test_currents_per_phase() -> None:
    assert phase_current(22_080, 3) == Decimal("32.0")
    assert [p for p, _ in currents(PowerType.AC_3_PHASE, 11_000)] == ["L1", "L2", "L3"]
    assert currents(PowerType.DC, 100_000) == [(None, Decimal("250.0"))]


def _stations(n: int = 4) -> list[StationSpec]:
    evses = (
        EvseSpec(1, 1, Decimal("22"), PowerType.AC_3_PHASE),
        EvseSpec(2, 1, Decimal("150"), PowerType.DC),
    )
    version = (OcppVersion.V16, OcppVersion.V201)
    return [StationSpec(f"CP-{i}", "x" * 16, version[i % 2], evses) for i in range(n)]


TOKENS = [TokenSpec("T1")]


def test_plans_are_deterministic_and_sessions_do_not_overlap() -> None:
    options = SimulationOptions(seed=5, faults={FaultKind.DUPLICATE: 0.2})
    window, first = make_plans(_stations(), TOKENS, options)
    _, again = make_plans(list(reversed(_stations())), TOKENS, options)
    assert {p.spec.charge_point_id: p for p in first} == {p.spec.charge_point_id: p for p in again}
    _, other = make_plans(_stations(), TOKENS, SimulationOptions(seed=6))
    assert [p.sessions for p in other] != [p.sessions for p in first]
    for plan in first:
        for evse in plan.evses:
            assert 2 <= len(evse.sessions) <= 5
            assert 1_000_000 <= evse.initial_register_wh <= 9_000_000
            for before, after in zip(evse.sessions, evse.sessions[1:], strict=False):
                assert before.stop_s < after.start_s
            assert all(window.lead_s <= s.start_s < s.stop_s for s in evse.sessions)
            assert all(s.stop_s <= window.span_s - window.tail_s for s in evse.sessions)


def test_fault_assignment_one_per_session_with_requested_share() -> None:
    faults = {kind: 0.05 for kind in FaultKind if kind is not FaultKind.CLOCK_SKEW}
    _, plans = make_plans(_stations(8), TOKENS, SimulationOptions(seed=9, faults=faults))
    sessions = [s for p in plans for s in p.sessions]
    picked = [s.fault for s in sessions if s.fault is not None]
    for kind in faults:
        assert picked.count(kind) == fault_count(0.05, len(sessions))
    for plan in plans:
        for evse in plan.evses:
            no_stop = [s for s in evse.sessions if s.fault is FaultKind.NO_STOP_RECEIVED]
            assert no_stop in ([], [evse.sessions[-1]])
        assert all(w.start_s < w.end_s for w in plan.offline)
    assert any(p.offline for p in plans)


def test_clock_skew_takes_whole_stations() -> None:
    options = SimulationOptions(seed=1, faults={FaultKind.CLOCK_SKEW: 0.3})
    _, plans = make_plans(_stations(6), TOKENS, options)
    skewed = [p for p in plans if p.clock_skew_s]
    assert skewed
    for plan in plans:
        marked = {s.fault is FaultKind.CLOCK_SKEW for s in plan.sessions}
        assert marked == {bool(plan.clock_skew_s)}
        assert plan.clock_skew_s == 0 or 300 <= abs(plan.clock_skew_s) <= 1800


def test_data_faults_change_only_what_is_reported() -> None:
    _, plans = make_plans(
        _stations(8),
        TOKENS,
        SimulationOptions(
            seed=2,
            faults={
                FaultKind.ZERO_START_LIFETIME_STOP: 0.05,
                FaultKind.NEGATIVE_ENERGY: 0.05,
                FaultKind.ENERGY_ABOVE_MAX_POWER: 0.05,
                FaultKind.NON_MONOTONIC_REGISTER: 0.05,
            },
        ),
    )
    by_kind = {s.fault: s for p in plans for s in p.sessions if s.fault}
    zero = by_kind[FaultKind.ZERO_START_LIFETIME_STOP]
    assert reported_start(zero, 4_000_000) == 0
    assert reported_stop(zero, 4_000_000, 4_020_000, 3600) == 4_020_000
    negative = by_kind[FaultKind.NEGATIVE_ENERGY]
    assert reported_stop(negative, 4_000_000, 4_020_000, 3600) < 4_000_000
    above = by_kind[FaultKind.ENERGY_ABOVE_MAX_POWER]
    sent = reported_stop(above, 4_000_000, 4_020_000, 3600)
    assert sent - 4_000_000 > ABOVE_MAX_FACTOR * above.evse.max_power_w
    glitch = by_kind[FaultKind.NON_MONOTONIC_REGISTER]
    assert glitch.glitch_sample is not None
    assert reported_sample(glitch, glitch.glitch_sample, 4_010_000, 4_005_000) < 4_005_000
    assert reported_sample(glitch, glitch.glitch_sample + 1, 4_012_000, 4_010_000) == 4_012_000
    assert glitch.expected == "quarantine:non_monotonic_register"


def test_parse_faults() -> None:
    assert parse_faults("disconnect=0.1, duplicate=0.05") == {
        FaultKind.DISCONNECT: 0.1,
        FaultKind.DUPLICATE: 0.05,
    }
    assert parse_faults("") == {}
    for bad in ("teleport=0.1", "disconnect", "disconnect=2"):
        with pytest.raises(ValueError, match="fault"):
            parse_faults(bad)
