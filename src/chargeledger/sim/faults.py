"""Faults on demand: which sessions get which fault, and what a data fault makes a meter say.

Each session gets at most one fault (issue 3), recorded in the truth file. Transport faults
(disconnect, duplicate, reorder, clock skew) change only how messages travel, never the billable
energy; data faults change the register values the station *reports* so the server must
quarantine the session with the ``QuarantineReason`` of the same name. ``tampered_meter`` leaves
the OCPP numbers alone and edits the signed OCMF record instead (``sim/ocmf_meter.py``), so the
server sees a signed energy that contradicts them. The true readings stay in the truth file
either way.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import replace

from chargeledger.sim.curves import J_PER_WH
from chargeledger.sim.model import FaultKind
from chargeledger.sim.plan import (
    DuplicateTarget,
    EvsePlan,
    OfflineWindow,
    SessionPlan,
    StationPlan,
    Window,
)

SKEW_RANGE_S = (300, 1800)
ABOVE_MAX_FACTOR = 4  # the server flags above 3 × max power × duration; stay clear of the edge
TAMPER_RANGE_WH = (1000, 10_000)  # what an edit adds to a signed end reading
_OFFLINE_KINDS = (FaultKind.DISCONNECT, FaultKind.REORDER)


def fault_count(fraction: float, total: int) -> int:
    """A fraction of sessions, at least one when asked for at all (so small demos show it)."""
    if fraction <= 0 or total == 0:
        return 0
    return min(total, max(1, round(fraction * total)))


def _eligible(kind: FaultKind, session: SessionPlan, last_on_evse: bool, interval: int) -> bool:
    samples = len(session.sample_offsets(interval))
    if kind is FaultKind.NO_STOP_RECEIVED:
        return last_on_evse  # the EVSE is unusable afterwards (issue 3)
    if kind is FaultKind.NON_MONOTONIC_REGISTER:
        return samples >= 2  # one sample lower than the previous one needs a previous one
    if kind is FaultKind.REORDER:
        return samples >= 3  # at least two samples queued while offline
    return True


def assign_faults(
    plans: Sequence[StationPlan],
    fractions: Mapping[FaultKind, float],
    seed: int,
    window: Window,
) -> list[StationPlan]:
    """Pick sessions for each requested fault with a seeded generator of its own.

    Clock skew is a property of a station, so whole stations are skewed until the requested
    fraction of sessions is covered; the other faults pick single sessions.
    """
    rng = random.Random(f"{seed}:faults")
    # A canonical order (by charge point id), so the picks do not depend on the input order.
    order = sorted(range(len(plans)), key=lambda p: plans[p].spec.charge_point_id)
    everything = [(p, e, s) for p in order for e in plans[p].evses for s in e.sessions]
    total = len(everything)
    chosen: dict[str, FaultKind] = {}
    skews: dict[int, int] = {}
    skew_target = fault_count(fractions.get(FaultKind.CLOCK_SKEW, 0.0), total)
    rng.shuffle(order)
    covered = 0
    for p in order:
        if covered >= skew_target:
            break
        sessions = plans[p].sessions
        if not sessions:
            continue
        skews[p] = rng.choice((-1, 1)) * rng.randint(*SKEW_RANGE_S)
        chosen.update((s.key, FaultKind.CLOCK_SKEW) for s in sessions)
        covered += len(sessions)
    for kind in FaultKind:
        count = fault_count(fractions.get(kind, 0.0), total)
        if kind is FaultKind.CLOCK_SKEW or count == 0:
            continue
        eligible = [
            s.key
            for _, e, s in everything
            if s.key not in chosen and _eligible(kind, s, s is e.sessions[-1], window.interval_s)
        ]
        for key in rng.sample(eligible, min(count, len(eligible))):
            chosen[key] = kind
    return [_apply(plan, chosen, skews.get(p, 0), seed, window) for p, plan in enumerate(plans)]


def _apply(
    plan: StationPlan, chosen: Mapping[str, FaultKind], skew: int, seed: int, window: Window
) -> StationPlan:
    evses: list[EvsePlan] = []
    windows: list[OfflineWindow] = []
    for evse in plan.evses:
        sessions: list[SessionPlan] = []
        for session in evse.sessions:
            kind = chosen.get(session.key)
            if kind is None:
                sessions.append(session)
                continue
            rng = random.Random(f"{seed}:{session.key}:{kind.value}")
            session = _with_params(replace(session, fault=kind), rng, window.interval_s)
            if kind in _OFFLINE_KINDS:
                windows.append(_offline_window(session, rng, window))
            sessions.append(session)
        evses.append(replace(evse, sessions=tuple(sessions)))
    return replace(plan, evses=tuple(evses), clock_skew_s=skew, offline=_merge(windows))


def _with_params(session: SessionPlan, rng: random.Random, interval: int) -> SessionPlan:
    kind = session.fault
    if kind is FaultKind.DUPLICATE:
        targets = list(DuplicateTarget)
        if not session.sample_offsets(interval):
            targets.remove(DuplicateTarget.METER)
        return replace(session, duplicate_target=rng.choice(targets))
    if kind is FaultKind.NON_MONOTONIC_REGISTER:
        samples = len(session.sample_offsets(interval))
        return replace(
            session, glitch_sample=rng.randint(1, samples - 1), glitch_wh=rng.randint(20, 500)
        )
    if kind is FaultKind.NEGATIVE_ENERGY:
        return replace(session, glitch_wh=rng.randint(100, 5000))
    if kind is FaultKind.TAMPERED_METER:
        return replace(session, glitch_wh=rng.randint(*TAMPER_RANGE_WH))
    return session


def _offline_window(session: SessionPlan, rng: random.Random, window: Window) -> OfflineWindow:
    """Disconnect: anywhere from just before the start (so the 1.6 StartTransaction is queued
    too) to mid-session, for 10-30 min. Reorder: right after the start, long enough that at
    least two periodic samples are queued."""
    interval = window.interval_s
    latest_end = window.span_s - 60
    if session.fault is FaultKind.REORDER:
        start = session.start_s + interval // 2
        end = start + 2 * interval + rng.randint(interval // 2, interval)
        return OfflineWindow(start, min(end, latest_end), frozenset({session.key}))
    half = max(1, (session.stop_s - session.start_s) // 2)
    start = max(window.lead_s // 2, session.start_s + rng.randint(-interval // 2, half))
    end = start + rng.randint(2 * interval, 6 * interval)
    return OfflineWindow(start, max(start + 1, min(end, latest_end)))


def _merge(windows: list[OfflineWindow]) -> tuple[OfflineWindow, ...]:
    merged: list[OfflineWindow] = []
    for w in sorted(windows, key=lambda w: w.start_s):
        if merged and w.start_s <= merged[-1].end_s + 60:
            last = merged[-1]
            merged[-1] = OfflineWindow(
                last.start_s, max(last.end_s, w.end_s), last.reorder_keys | w.reorder_keys
            )
        else:
            merged.append(w)
    return tuple(merged)


def reported_start(session: SessionPlan, true_start_wh: int) -> int:
    """meterStart / Transaction.Begin as sent: 0 for a meter that lost its lifetime offset."""
    if session.fault is FaultKind.ZERO_START_LIFETIME_STOP:
        return 0
    return true_start_wh


def reported_sample(session: SessionPlan, index: int, true_wh: int, previous_true_wh: int) -> int:
    """A periodic register sample as sent: one glitch below the previous sample (1.6J §7.31
    Energy.Active.Import.Register must never decrease)."""
    if session.fault is FaultKind.NON_MONOTONIC_REGISTER and index == session.glitch_sample:
        return max(0, previous_true_wh - session.glitch_wh)
    return true_wh


def reported_stop(
    session: SessionPlan, true_start_wh: int, true_stop_wh: int, duration_s: int
) -> int:
    """meterStop / Transaction.End as sent: below the start (negative energy) or more than
    ``ABOVE_MAX_FACTOR`` × EVSE max power × duration above it (physically impossible)."""
    if session.fault is FaultKind.NEGATIVE_ENERGY:
        return max(0, true_start_wh - session.glitch_wh)
    if session.fault is FaultKind.ENERGY_ABOVE_MAX_POWER:
        ceiling_wh = session.evse.max_power_w * max(duration_s, 1) // J_PER_WH
        return true_start_wh + ABOVE_MAX_FACTOR * ceiling_wh + 1000
    return true_stop_wh


def tampered_by(session: SessionPlan) -> int:
    """Wh that an edit adds to the end reading of the session's signed record (0: honest)."""
    return session.glitch_wh if session.fault is FaultKind.TAMPERED_METER else 0
