"""The demo's simulated day: the real server in this process, the simulator as a separate
process of real OCPP clients, then the captured sessions held against the simulator's truth."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import uvicorn

from chargeledger.asgi import create_app
from chargeledger.bootstrap import Runtime
from chargeledger.cli.demo_payments import qr_checkouts
from chargeledger.domain.accounts import TokenStatus, TokenType
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.tariffs.priced import NOTHING, Amount
from chargeledger.domain.text import quantity_text
from chargeledger.services import catalog, customers
from chargeledger.services.charging import session_pricing
from chargeledger.services.charging.session_review import sweep_stale_sessions
from chargeledger.services.charging.station_messages import session_of_transaction
from chargeledger.services.demo_seed import demo_station_password
from chargeledger.services.transactions import in_transaction, reading

ADMIN = Principal(subject="demo", role=Role.ADMIN)
DEMO_FAULTS = (
    "disconnect=0.06,duplicate=0.06,reorder=0.04,clock_skew=0.05,"
    "zero_start_lifetime_stop=0.02,non_monotonic_register=0.02,negative_energy=0.02,"
    "energy_above_max_power=0.02,no_stop_received=0.02,"
    # Signed meter data (issue 15): a record edited after signing (quarantined), and honest
    # records under a signature that is not the meter's (billed; a dispute finds it).
    "tampered_meter=0.02,bad_meter_signature=0.05"
)
# After the run every session that still has no stop has been silent for minutes of station
# time: close it as the server's periodic sweep would after its (longer) threshold.
DEMO_STALE_AFTER = timedelta(minutes=1)


@dataclass
class DayReport:
    truth: list[dict[str, Any]] = field(default_factory=list)
    by_status: Counter[str] = field(default_factory=Counter)
    expected_quarantine: Counter[str] = field(default_factory=Counter)
    caught_quarantine: Counter[str] = field(default_factory=Counter)
    unexpected_quarantine: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    billable: int = 0
    billable_exact: int = 0
    mismatches: list[str] = field(default_factory=list)
    truth_wh: Decimal = Decimal(0)
    captured_wh: Decimal = Decimal(0)
    transport_faults: Counter[str] = field(default_factory=Counter)
    revenue: dict[str, Amount] = field(default_factory=dict)
    sessions_by_tariff: Counter[str] = field(default_factory=Counter)
    sim_report: dict[str, Any] = field(default_factory=dict)
    checkouts: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def write_sim_inputs(runtime: Runtime, folder: Path) -> tuple[Path, Path]:
    """The seeded stations and active tokens, in the simulator's JSON input format."""
    stations, tokens = [], []
    async with runtime.uow() as uow:
        for station in (await catalog.list_stations(uow, limit=1000)).items:
            evses = (await catalog.list_evses(uow, station_id=station.id, limit=100)).items
            stations.append(
                {
                    "charge_point_id": station.charge_point_id,
                    "password": demo_station_password(station.charge_point_id),
                    "ocpp_version": station.ocpp_version.value,
                    "evses": [
                        {
                            "evse_id": e.evse_id,
                            "connector_id": c.connector_id,
                            "max_power_kw": str(c.max_power_kw),
                            "power_type": c.power_type.value,
                        }
                        for e in evses
                        for c in e.connectors[:1]
                    ],
                }
            )
        now = runtime.clock.now()
        for token in (await customers.list_tokens(uow, ADMIN, limit=1000)).items:
            if token.status_at(now) is TokenStatus.ACTIVE:
                kind = "app" if token.type is TokenType.APP else "rfid"
                tokens.append({"uid": token.uid, "type": kind})
    stations_path, tokens_path = folder / "sim-stations.json", folder / "sim-tokens.json"
    stations_path.write_text(json.dumps(stations, indent=1))
    tokens_path.write_text(json.dumps(tokens, indent=1))
    return stations_path, tokens_path


async def run_day(
    runtime: Runtime,
    output_dir: Path,
    seed: int,
    duration_s: int,
    on_progress: Callable[[int, int], None],
) -> DayReport:
    stations_path, tokens_path = await write_sim_inputs(runtime, output_dir)
    truth_path = output_dir / "sim-truth.jsonl"
    port = _free_port()
    # The server shares the demo's runtime: one database, one sandbox PSP, one command bus.
    config = uvicorn.Config(
        create_app(runtime, migrate=False, jobs=False),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        log_level="warning",
        ws_max_size=runtime.settings.ocpp.read_limit_bytes,
        ws_per_message_deflate=runtime.settings.ocpp.per_message_deflate,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    report = DayReport()
    try:
        await _started(server, serving)
        stations = json.loads(stations_path.read_text())
        qr_evses = [(s["charge_point_id"], s["evses"][0]["evse_id"]) for s in stations[:4]]
        checkouts = asyncio.create_task(
            qr_checkouts(f"http://127.0.0.1:{port}", qr_evses, duration_s * 0.3)
        )
        report.sim_report = await _simulate(
            port, stations_path, tokens_path, truth_path, seed, duration_s, on_progress
        )
        report.checkouts = await checkouts
        await runtime.quiesce()
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)
    await in_transaction(runtime.uow, sweep_stale_sessions, runtime.clock, DEMO_STALE_AFTER)
    report.truth = [json.loads(line) for line in truth_path.read_text().splitlines() if line]
    await _compare(runtime, report)
    await _revenue(runtime, report)
    return report


_COMPONENTS = (("energy", "Energy"), ("time", "Time"), ("parking", "Parking"), ("fixed", "Fixed"))


async def _started(server: uvicorn.Server, serving: asyncio.Task[None]) -> None:
    """Wait until the server listens, however long a busy machine takes; a server that
    stopped (e.g. the port was taken) ends the demo with its error instead."""
    while not server.started:
        if serving.done():
            serving.result()
            raise RuntimeError("the demo's server stopped before it started listening")
        await asyncio.sleep(0.05)


async def _revenue(runtime: Runtime, report: DayReport) -> None:
    """Every completed session priced from its tariff snapshot, summed by component."""
    totals = {name: NOTHING for name in ("energy", "time", "parking", "fixed", "total")}
    rates = runtime.settings.vat_rates
    for priced in await reading(runtime.uow, session_pricing.price_completed_sessions, rates):
        billed = priced.billed  # the figures the session is charged and booked with
        report.sessions_by_tariff[priced.result.tariff_id] += 1
        for key, component in _COMPONENTS:
            totals[key] += Amount(*billed.component(component))
        totals["total"] += Amount(billed.net, billed.gross)
    report.revenue = totals


async def _simulate(
    port: int,
    stations: Path,
    tokens: Path,
    truth: Path,
    seed: int,
    duration_s: int,
    on_progress: Callable[[int, int], None],
) -> dict[str, Any]:
    """The simulator runs as its own process, on the other core, talking only OCPP."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chargeledger.sim",
        "run",
        "--url",
        f"ws://127.0.0.1:{port}/ocpp",
        "--stations",
        str(stations),
        "--tokens",
        str(tokens),
        "--seed",
        str(seed),
        "--duration",
        str(duration_s),
        "--hours",
        "24",
        "--faults",
        DEMO_FAULTS,
        "--truth",
        str(truth),
        "--progress",
        "json",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    final: dict[str, Any] = {}
    assert process.stdout is not None
    async for line in process.stdout:
        event = json.loads(line)
        if event.get("event") == "progress":
            on_progress(int(event["done"]), int(event["total"]))
        elif event.get("event") == "report":
            final = event
    stderr = await process.stderr.read() if process.stderr else b""
    if await process.wait() not in (0, 1) or not await asyncio.to_thread(truth.exists):
        raise RuntimeError(f"the simulator failed: {stderr.decode()[-2000:]}")
    return final


async def _compare(runtime: Runtime, report: DayReport) -> None:
    async with runtime.uow() as uow:
        station_ids = {
            s.charge_point_id: s.id for s in (await catalog.list_stations(uow, limit=1000)).items
        }
        for record in report.truth:
            expected = str(record["expected"])
            label = f"{record['charge_point_id']} tx {record.get('transaction_ref')}"
            for fault in record.get("faults", []):
                if not expected.startswith("quarantine:"):
                    report.transport_faults[fault] += 1
            session = None
            if record.get("transaction_ref") is not None:
                session = await session_of_transaction(
                    uow, station_ids[record["charge_point_id"]], str(record["transaction_ref"])
                )
            if session is None:
                report.missing.append(label)
                continue
            report.by_status[session.status.value] += 1
            _judge(report, record, session, expected, label)


def _judge(
    report: DayReport, record: dict[str, Any], session: Session, expected: str, label: str
) -> None:
    reasons = {r.value for r in session.quarantine_reasons}
    if expected.startswith("quarantine:"):
        reason = expected.split(":", 1)[1]
        report.expected_quarantine[reason] += 1
        if session.status is SessionStatus.QUARANTINED and reason in reasons:
            report.caught_quarantine[reason] += 1
        return
    report.billable += 1
    truth_wh = Decimal(str(record["energy_wh"]))
    report.truth_wh += truth_wh
    if session.status is SessionStatus.QUARANTINED:
        report.unexpected_quarantine.append(f"{label}: {', '.join(sorted(reasons))}")
        return
    captured = session.energy_wh or Decimal(0)
    report.captured_wh += captured
    if captured == truth_wh:
        report.billable_exact += 1
    else:
        report.mismatches.append(
            f"{label}: captured {quantity_text(captured, 'Wh')}, "
            f"truth {quantity_text(truth_wh, 'Wh')}"
        )
