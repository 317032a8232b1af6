"""OCPP ingest benchmark: N stations on loopback send meter data for a fixed time.

Prints messages/s, p50/p99 round-trip latency and server RSS for chargeledger (``chargeledger
serve`` on a fresh SQLite database, every message stored exactly once) and, measured in the
same run with the same load, for a bare ``ocpp``-library server that only answers
(``bare_ocpp_server.py``), and the ratio between the two.

Usage: python bench/ocpp_ingest.py [--stations 2000] [--duration 30] [--think 1.0]
                                   [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
                                   [--py-spy PREFIX] [--message meter_values|status|authorize]

``--message status`` sends StatusNotifications instead (what a connector's status change
costs, the roaming partners' location news included), ``--message authorize`` Authorizes of
the bench's idTag (one the registry does not know: Invalid).

Closed loop (each station sends its next message as soon as it has the answer): ``--think 0``.

With ``--postgres`` chargeledger is measured a second time on a scratch PostgreSQL database
created (and dropped) through that server.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backends import scratch_database

from chargeledger.adapters.security import Argon2PasswordHasher
from chargeledger.bootstrap import build_runtime
from chargeledger.config import Settings
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    OcppVersion,
    PowerType,
    Site,
)
from chargeledger.domain.geo import Address
from chargeledger.services import catalog

PASSWORD = "bench-station-password"
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class LoadResult:
    messages: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    connected: int = 0
    window_s: float = 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Station:
    """One simulated station: raw OCPP-J frames over one websocket, one CALL at a time."""

    def __init__(self, number: int, base_url: str, version: str) -> None:
        self.cpid = f"BENCH-{number:05d}"
        self.url = f"{base_url}/{self.cpid}"
        self.version = version
        self.register = Decimal(random.randint(1_000_000, 9_000_000))
        self.seq_no = 0
        self.ws: Any = None

    async def connect(self) -> None:
        token = base64.b64encode(f"{self.cpid}:{PASSWORD}".encode()).decode()
        self.ws = await websockets.connect(
            self.url,
            subprotocols=[f"ocpp{self.version}"],
            additional_headers={"Authorization": f"Basic {token}"},
            open_timeout=120,
            ping_interval=None,
            max_queue=None,
        )

    async def call(self, action: str, payload: dict[str, Any]) -> Any:
        message_id = uuid.uuid4().hex
        await self.ws.send(json.dumps([2, message_id, action, payload]))
        while True:
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), 120))
            if reply[0] == 2:  # the central system's own request (its boot key read)
                await self.ws.send(json.dumps([3, reply[1], _answer_request(reply)]))
                continue
            if reply[0] != 3 or reply[1] != message_id:
                raise RuntimeError(f"unexpected answer {reply!r}")
            return reply[2]

    async def begin(self) -> None:
        if self.version == "1.6":
            await self.call(
                "BootNotification", {"chargePointVendor": "Bench", "chargePointModel": "B1"}
            )
            answer = await self.call(
                "StartTransaction",
                {
                    "connectorId": 1,
                    "idTag": "BENCH",
                    "meterStart": int(self.register),
                    "timestamp": now_text(),
                },
            )
            self.transaction = answer["transactionId"]
        else:
            await self.call(
                "BootNotification",
                {"chargingStation": {"model": "B1", "vendorName": "Bench"}, "reason": "PowerUp"},
            )
            self.transaction = uuid.uuid4().hex
            await self.call("TransactionEvent", self._event("Started", "CablePluggedIn"))

    def _event(self, kind: str, trigger: str) -> dict[str, Any]:
        self.seq_no += 1
        return {
            "eventType": kind,
            "timestamp": now_text(),
            "triggerReason": trigger,
            "seqNo": self.seq_no,
            "transactionInfo": {"transactionId": self.transaction, "chargingState": "Charging"},
            "evse": {"id": 1, "connectorId": 1},
            "meterValue": [
                {
                    "timestamp": now_text(),
                    "sampledValue": [
                        {
                            "value": float(self.register),
                            "measurand": "Energy.Active.Import.Register",
                        },
                        {"value": 11000.0, "measurand": "Power.Active.Import"},
                    ],
                }
            ],
        }

    async def meter_values(self) -> None:
        self.register += 183
        if self.version == "1.6":
            await self.call(
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": self.transaction,
                    "meterValue": [
                        {
                            "timestamp": now_text(),
                            "sampledValue": [
                                {
                                    "value": str(self.register),
                                    "measurand": "Energy.Active.Import.Register",
                                    "unit": "Wh",
                                },
                                {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
                            ],
                        }
                    ],
                },
            )
        else:
            await self.call("TransactionEvent", self._event("Updated", "MeterValuePeriodic"))

    async def status(self) -> None:
        """A StatusNotification of connector 1, Charging and SuspendedEV by turns."""
        self.seq_no += 1
        if self.version == "1.6":
            status = "Charging" if self.seq_no % 2 else "SuspendedEV"
            payload = {"connectorId": 1, "errorCode": "NoError", "status": status}
            await self.call("StatusNotification", payload | {"timestamp": now_text()})
        else:
            status = "Occupied" if self.seq_no % 2 else "Available"
            payload = {"evseId": 1, "connectorId": 1, "connectorStatus": status}
            await self.call("StatusNotification", payload | {"timestamp": now_text()})

    async def authorize(self) -> None:
        """An Authorize of the bench's idTag (unknown to the registry: answered Invalid)."""
        if self.version == "1.6":
            await self.call("Authorize", {"idTag": "BENCH"})
        else:
            await self.call("Authorize", {"idToken": {"idToken": "BENCH", "type": "ISO14443"}})

    async def send(self, message: str) -> None:
        """One message of the kind ``--message`` names."""
        if message == "status":
            await self.status()
        elif message == "authorize":
            await self.authorize()
        else:
            await self.meter_values()


def _answer_request(request: list[Any]) -> dict[str, Any]:
    """What a station without signed meters answers the central system's key reads after its
    boot (1.6 GetConfiguration, 2.0.1 GetVariables): nothing known."""
    action, payload = request[2], request[3]
    if action == "GetConfiguration":
        return {"unknownKey": payload.get("key", [])}
    if action == "GetVariables":
        return {
            "getVariableResult": [
                {
                    "attributeStatus": "UnknownVariable",
                    "component": item["component"],
                    "variable": item["variable"],
                }
                for item in payload.get("getVariableData", [])
            ]
        }
    return {}


async def run_load(
    base_url: str,
    stations: int,
    duration: float,
    think: float,
    on_ready: Callable[[], Awaitable[object]] | None = None,
    message: str = "meter_values",
) -> LoadResult:
    """Connect every station, then each sends a ``message`` (meter values by default) every
    ``think`` seconds (plus the answer's latency) until the window closes. Only messages
    inside the window count. ``on_ready`` runs once every station is up, as the window
    opens."""
    result = LoadResult()
    fleet = [Station(n, base_url, "2.0.1" if n % 2 else "1.6") for n in range(stations)]
    connect_gate = asyncio.Semaphore(200)

    async def prepare(station: Station) -> bool:
        async with connect_gate:
            try:
                await station.connect()
                await station.begin()
            except Exception as exc:
                print(f"  {station.cpid}: could not start: {exc}", file=sys.stderr)
                return False
        return True

    ready = [
        s for s, ok in zip(fleet, await asyncio.gather(*map(prepare, fleet)), strict=True) if ok
    ]
    result.connected = len(ready)
    if on_ready is not None:
        await on_ready()
    start = time.perf_counter()
    stop_at = start + duration

    async def drive(station: Station) -> None:
        await asyncio.sleep(random.random() * think)  # spread the first messages
        while time.perf_counter() < stop_at:
            sent = time.perf_counter()
            try:
                await station.send(message)
            except Exception:
                result.errors += 1
                return
            done = time.perf_counter()
            if done <= stop_at:
                result.messages += 1
                result.latencies_ms.append((done - sent) * 1000)
            await asyncio.sleep(think)

    await asyncio.gather(*(drive(s) for s in ready))
    result.window_s = duration
    await asyncio.gather(*(s.ws.close() for s in ready), return_exceptions=True)
    return result


def rss_mib(pid: int) -> tuple[float, float]:
    """Current and peak resident memory of a process (Linux /proc)."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


async def wait_for_http(url: str, process: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(600):
            if process.returncode is not None:
                raise RuntimeError("server exited during start-up")
            try:
                if (await http.get(url, timeout=1)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


async def wait_for_port(port: int, process: asyncio.subprocess.Process) -> None:
    for _ in range(600):
        if process.returncode is not None:
            raise RuntimeError("server exited during start-up")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"port {port} did not open")


async def seed(data_dir: Path, stations: int, database_url: str | None = None) -> None:
    """Stations with passwords in the station scheme (``runtime.station_secrets``, as the
    server checks them); the people's hasher is a cheap argon2, for less set-up."""
    env = {"CHARGELEDGER_DATA_DIR": str(data_dir)}
    if database_url:
        env["CHARGELEDGER_DATABASE_URL"] = database_url
    runtime = build_runtime(
        Settings.from_env(env),
        hasher=Argon2PasswordHasher(time_cost=1, memory_cost=1024),
    )
    await runtime.migrate()
    async with runtime.uow() as uow:
        site = await catalog.create_site(
            uow,
            runtime.clock,
            Site(
                name="Bench",
                address=Address("Bench 1", "10115", "Berlin", "DE"),
                latitude=Decimal("52.5"),
                longitude=Decimal("13.4"),
                time_zone="Europe/Berlin",
            ),
        )
        for n in range(stations):
            station = await catalog.create_station(
                uow,
                runtime.clock,
                runtime.station_secrets,
                {
                    "site_id": site.id,
                    "charge_point_id": f"BENCH-{n:05d}",
                    "vendor": "Bench",
                    "model": "B1",
                    "ocpp_version": OcppVersion.V201 if n % 2 else OcppVersion.V16,
                },
                PASSWORD,
            )
            await catalog.create_evse(
                uow,
                runtime.clock,
                Evse(
                    station_id=station.id,
                    evse_id=1,
                    connectors=(
                        Connector(
                            1,
                            ConnectorStandard.IEC_62196_T2,
                            ConnectorFormat.SOCKET,
                            PowerType.AC_3_PHASE,
                            Decimal("22"),
                        ),
                    ),
                ),
            )
        await uow.commit()
    await runtime.aclose()


async def start_profile(
    name: str, pid: int, args: argparse.Namespace
) -> asyncio.subprocess.Process | None:
    """With ``--py-spy PREFIX``: sample the server during the load window (the stations are
    up and send meter values) into ``PREFIX-<name>.txt``, collapsed stacks (``py-spy record
    --format raw``: one line per stack with its sample count)."""
    if not args.py_spy:
        return None
    label = "".join(c if c.isalnum() else "-" for c in name).strip("-")
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return await asyncio.create_subprocess_exec(
        py_spy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, int(args.duration) - 1)),
        "--rate",
        "200",
        "--format",
        "raw",
        "--output",
        f"{args.py_spy}-{label}.txt",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def measure(
    name: str,
    command: list[str],
    env: dict[str, str],
    port: int,
    health: str | None,
    args: argparse.Namespace,
) -> dict[str, float]:
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        if health:
            await wait_for_http(health, process)
        else:
            await wait_for_port(port, process)
        idle_rss, _ = rss_mib(process.pid)
        print(f"{name}: connecting {args.stations} stations ...", flush=True)
        profilers: list[asyncio.subprocess.Process] = []

        async def profile() -> None:
            if health and (profiler := await start_profile(name, process.pid, args)):
                profilers.append(profiler)

        result = await run_load(
            f"ws://127.0.0.1:{port}/ocpp",
            args.stations,
            args.duration,
            args.think,
            profile,
            args.message,
        )
        rss, peak = rss_mib(process.pid)
        for profiler in profilers:
            await profiler.wait()
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
    return {
        "connected": result.connected,
        "messages": result.messages,
        "errors": result.errors,
        "msg_per_s": result.messages / result.window_s,
        "p50_ms": result.percentile(0.50),
        "p99_ms": result.percentile(0.99),
        "mean_ms": statistics.fmean(result.latencies_ms) if result.latencies_ms else 0.0,
        "rss_idle_mib": idle_rss,
        "rss_mib": rss,
        "rss_peak_mib": peak,
    }


async def main(args: argparse.Namespace) -> None:
    random.seed(args.seed)
    env = {**os.environ, "CHARGELEDGER_LOG_LEVEL": "WARNING"}
    env.pop("CHARGELEDGER_DATABASE_URL", None)
    # Every bench station connects from 127.0.0.1, up to 200 at once: the per-address cap of
    # password checks (which would answer most of them 429) is lifted to measure ingestion.
    env["CHARGELEDGER_STATION_CONCURRENCY_PER_ADDRESS"] = "256"
    env["CHARGELEDGER_PASSWORD_HASH_BACKLOG"] = "512"
    port = free_port()
    bare = await measure(
        "bare ocpp server",
        [sys.executable, str(HERE / "bare_ocpp_server.py"), "--port", str(port)],
        env,
        port,
        None,
        args,
    )
    results = {"bare ocpp": bare}
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        print(f"seeding {args.stations} stations ...", flush=True)
        await seed(data_dir, args.stations)
        port = free_port()
        results["chargeledger/SQLite"] = await measure(
            "chargeledger",
            [sys.executable, "-m", "chargeledger", "serve", "--port", str(port)],
            {**env, "CHARGELEDGER_DATA_DIR": str(data_dir)},
            port,
            f"http://127.0.0.1:{port}/healthz",
            args,
        )
    if args.postgres:
        results["chargeledger/PG"] = await measure_postgres(env, args)
    print_table(args, results)


async def measure_postgres(env: dict[str, str], args: argparse.Namespace) -> dict[str, float]:
    async with scratch_database(args.postgres, "chargeledger_bench") as url:
        with tempfile.TemporaryDirectory() as folder:
            print(f"seeding {args.stations} stations on PostgreSQL ...", flush=True)
            await seed(Path(folder), args.stations, url)
            port = free_port()
            return await measure(
                "chargeledger (PostgreSQL)",
                [sys.executable, "-m", "chargeledger", "serve", "--port", str(port)],
                {**env, "CHARGELEDGER_DATA_DIR": folder, "CHARGELEDGER_DATABASE_URL": url},
                port,
                f"http://127.0.0.1:{port}/healthz",
                args,
            )


def print_table(args: argparse.Namespace, results: dict[str, dict[str, float]]) -> None:
    bare = results["bare ocpp"]
    print()
    print(
        f"OCPP ingest, {args.stations} stations, {args.duration:g} s window, "
        f"one message per station every {args.think:g} s + answer time, "
        f"{os.cpu_count()} cores"
    )
    ours = [name for name in results if name != "bare ocpp"]
    header = (
        f"{'':16}"
        + "".join(f"{name:>21}" for name in results)
        + "".join(f"{'ratio ' + name.split('/')[-1]:>14}" for name in ours)
    )
    print(header)
    print("-" * len(header))
    for key, label in (
        ("connected", "stations up"),
        ("msg_per_s", "messages/s"),
        ("p50_ms", "p50 latency ms"),
        ("p99_ms", "p99 latency ms"),
        ("rss_mib", "server RSS MiB"),
        ("rss_peak_mib", "peak RSS MiB"),
        ("errors", "errors"),
    ):
        row = f"{label:16}" + "".join(f"{r[key]:21.1f}" for r in results.values())
        for name in ours:
            ratio = results[name][key] / bare[key] if bare[key] else float("nan")
            row += f"{ratio:14.2f}"
        print(row)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stations", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--message",
        choices=("meter_values", "status", "authorize"),
        default="meter_values",
        help="what each station sends in the window (default: meter values)",
    )
    parser.add_argument("--postgres", help="also measure on PostgreSQL (a server URL)")
    parser.add_argument(
        "--py-spy", metavar="PREFIX", help="profile chargeledger under load into PREFIX-*.txt"
    )
    asyncio.run(main(parser.parse_args()))
