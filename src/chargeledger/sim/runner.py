"""``run_simulation``: plan, run every station as its own task, collect the truth and a report.

Bounded by construction: sessions are planned inside the simulated window and every network
wait has a safety timeout (``SimulationOptions.response_timeout_s`` per answer,
``connect_patience_s`` per reconnection). There is no deadline on the run itself: stations pace
themselves on the server (``Station.wait_until``), so a slow server or a busy machine makes the
run longer, never loses a session. A session counts as failed only when the server refused it
(a CALLERROR, a refused connection) or never answered it within the safety timeouts.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from chargeledger.sim.clock import SimClock, floor_minute
from chargeledger.sim.faults import SKEW_RANGE_S, assign_faults
from chargeledger.sim.link import LinkStats
from chargeledger.sim.live import Progress
from chargeledger.sim.model import (
    FaultKind,
    OcppVersion,
    SimulationOptions,
    SimulationReport,
    StationSpec,
    TokenSpec,
    TruthRecord,
)
from chargeledger.sim.plan import EvsePlan, StationPlan, Window, plan_station
from chargeledger.sim.station import Station
from chargeledger.sim.station16 import Station16
from chargeledger.sim.station201 import Station201

LEAD_S = 120
TAIL_S = 180


def check_loopback(url: str) -> None:
    """The simulator only talks to this machine: it is a load generator, not a client."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError("the OCPP url must start with ws:// or wss://")
    host = parts.hostname or ""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the simulator only connects to loopback addresses, not {host!r}")


def make_window(options: SimulationOptions) -> Window:
    """Leave room at the end for a skewed clock, so even a station that runs fast never
    sends a timestamp that is still in the future when the run ends."""
    span = int(options.hours * 3600)
    tail = TAIL_S + (SKEW_RANGE_S[1] if options.faults.get(FaultKind.CLOCK_SKEW) else 0)
    lead = LEAD_S
    if span - lead - tail < span // 2:
        lead, tail = min(lead, span // 10), min(tail, span // 4)
    return Window(
        span_s=span,
        lead_s=lead,
        tail_s=tail,
        interval_s=options.meter_interval_s,
        sessions_per_evse=options.sessions_per_evse,
    )


def make_plans(
    stations: Sequence[StationSpec], tokens: Sequence[TokenSpec], options: SimulationOptions
) -> tuple[Window, list[StationPlan]]:
    """The whole plan, before any socket opens: a pure function of seed, inputs and options."""
    window = make_window(options)
    plans = [plan_station(spec, tokens, options.seed, window) for spec in stations]
    return window, assign_faults(plans, options.faults, options.seed, window)


def _start_of(options: SimulationOptions) -> datetime:
    if options.start_at is not None:
        return options.start_at.astimezone(UTC)
    return floor_minute(datetime.now(UTC) - timedelta(hours=options.hours))


async def run_simulation(
    url: str,
    stations: Sequence[StationSpec],
    tokens: Sequence[TokenSpec],
    options: SimulationOptions,
) -> SimulationReport:
    """Run ``stations`` against the CSMS at ``url`` (``ws://host:port/ocpp``; the charge point
    id is appended) for ``options.duration_s`` real seconds and report what happened."""
    check_loopback(url)
    window, plans = make_plans(stations, tokens, options)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    clock = SimClock(_start_of(options), window.span_s, options.duration_s, t0)
    stats = LinkStats()
    progress = Progress(sum(len(p.sessions) for p in plans), options.progress)
    runners: list[Station] = []
    for plan in plans:
        kind = Station16 if plan.spec.ocpp_version is OcppVersion.V16 else Station201
        runners.append(kind(plan, url, clock, window, options, stats, progress))
    results = await asyncio.gather(*(s.run() for s in runners))
    report = SimulationReport(
        sessions_planned=progress.total,
        messages_sent=stats.messages_sent,
        call_errors=stats.call_errors,
        timeouts=stats.timeouts,
        reconnects=stats.reconnects,
        latencies_ms=stats.latencies_ms,
        wall_time_s=loop.time() - t0,
    )
    for station, ok in zip(runners, results, strict=True):
        if not ok:
            report.stations_failed.append(station.spec.charge_point_id)
            report.failures[station.spec.charge_point_id] = station.link.last_error or "unknown"
        report.truth.extend(truth_of(station))
        report.sessions_completed += sum(1 for live in station.finished if live.acknowledged)
    report.sessions_failed = report.sessions_planned - report.sessions_completed
    report.truth.sort(key=lambda r: (r.charge_point_id, r.evse_id, r.started_at))
    for record in report.truth:
        for fault in record.faults:
            report.faults[fault] = report.faults.get(fault, 0) + 1
    return report


@asynccontextmanager
async def open_station(
    url: str, spec: StationSpec, options: SimulationOptions | None = None
) -> AsyncIterator[Station]:
    """One booted station with no planned sessions, for server tests: ``send_raw`` malformed
    frames, ``call`` single messages, receive CSMS commands. Raises ``ConnectionError`` when
    the server refuses or cannot be reached (e.g. wrong credentials: HTTP 401)."""
    check_loopback(url)
    options = options or SimulationOptions()
    window = make_window(options)
    plan = StationPlan(spec=spec, evses=tuple(EvsePlan(e, 0, ()) for e in spec.evses))
    clock = SimClock(_start_of(options), window.span_s, options.duration_s, _loop_time())
    kind = Station16 if spec.ocpp_version is OcppVersion.V16 else Station201
    station = kind(plan, url, clock, window, options, LinkStats(), Progress(0, None))
    if not await station.link.connect():
        await station.link.close()
        raise ConnectionError(station.link.last_error or "station could not connect")
    sender = asyncio.ensure_future(station.link.run_sender())
    station.start_timeline()
    try:
        yield station
    finally:
        sender.cancel()
        await station.link.close()


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


def truth_of(station: Station) -> list[TruthRecord]:
    """The truth of every session whose script ran: true times (no clock skew) and true
    register values; the stop fields stay empty for a session that was never stopped."""
    records = []
    for live in station.finished:
        plan = live.plan
        stopped = None
        if live.meter_stop_wh is not None and live.stop_offset_s is not None:
            stopped = station.clock.stamp(plan.start_s + live.stop_offset_s)
        records.append(
            TruthRecord(
                charge_point_id=station.spec.charge_point_id,
                ocpp_version=station.spec.ocpp_version.value,
                evse_id=plan.evse.evse_id,
                connector_id=plan.evse.connector_id,
                transaction_ref=station.transaction_ref(live),
                id_tag=plan.token.uid,
                started_at=station.clock.stamp(plan.start_s),
                stopped_at=stopped,
                meter_start_wh=live.meter_start_wh,
                meter_stop_wh=live.meter_stop_wh,
                energy_wh=live.energy_wh,
                faults=plan.faults,
                expected=plan.expected,
            )
        )
    return records


def write_truth(path: Path, records: Sequence[TruthRecord]) -> None:
    """JSON Lines, one session per line, in a stable order (see ``run_simulation``)."""
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record.to_json_dict(), sort_keys=False) + "\n")
