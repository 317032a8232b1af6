"""OCPP connection scale benchmark: N idle-ish stations on one node, and a restart.

Issue 17's target: 10,000 connected stations (Heartbeat every 60 s, MeterValues every 60 s),
all connected within 30 s of a restart, p99 < 100 ms, server RSS < 1 GiB.

For each server (the bare ``ocpp``-library server of ``bare_ocpp_server.py`` first, as the
same-run reference, then ``chargeledger serve`` on a fresh SQLite database, and with
``--postgres URL`` on a scratch PostgreSQL database) the run is:

1. start the server and take its RSS; then the stations connect (HTTP Basic, security
   profile 1) and send a BootNotification: "all booted" is the time from their start until
   the last station's boot was answered;
2. memory: server RSS with every station connected and idle, minus the RSS before: KiB
   per connection;
3. ``--window`` seconds of steady load: every station sends a Heartbeat every 60 s and a
   MeterValues every 60 s, each at its own uniformly spread offset: p50/p99 of the answers;
4. restart: the server is stopped (SIGTERM) and started again on the same database; the
   stations reconnect (each tries again after 1-2 s, as a station's retry back-off would)
   and boot: "all again" is the time from the new start until the last boot was answered,
   split into the server's own start (until it answers ``/healthz``, or its port for the
   bare one) and the storm after it.

The stations run in ``--clients`` processes of their own (multiprocessing, one asyncio loop
each), never in the server's. The machine has few cores (2 on the project's machines): the
clients compete with the server for them, so the output prints the CPU seconds the server
and the clients used; when the clients used about as much as the server, the figures are a
lower bound of what the server does on a machine of its own. ``ulimit -n`` is raised to the
hard limit (each connection is one descriptor on each side).

With ``--py-spy PREFIX`` the chargeledger server is sampled (collapsed stacks, ``py-spy record
--format raw``) during the steady window into ``PREFIX-<server>-window.txt`` and from its restart
until every station booted again into ``PREFIX-<server>-restart.txt``. ``--skip-bare`` leaves
out the reference server (for iterating; report figures with it).

Usage: python bench/ocpp_scale.py [--stations 10000] [--window 120] [--clients 2]
                                  [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
                                  [--py-spy PREFIX] [--skip-bare]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import random
import resource
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
import profiles
from backends import scratch_database
from ocpp_ingest import free_port, rss_mib, seed, wait_for_http, wait_for_port

PASSWORD = "bench-station-password"  # ocpp_ingest's seed gives every station this one
HERE = Path(__file__).resolve().parent
PERIOD_S = 60.0
COMPRESSION = "deflate"  # what the stations offer; set from --client-compression
RETRY_S = 1.0
STOP_WAIT_S = 20.0  # how long a client process lets its stations close at the end


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def raise_file_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# --- the stations (run in the client processes) -----------------------------------------------


@dataclass
class ClientReport:
    boots: list[float] = field(default_factory=list)  # first answered boot of each phase
    answers: list[tuple[float, float]] = field(default_factory=list)  # (sent at, ms)
    errors: int = 0
    refused: int = 0  # connections refused, failed or lost (each retried)
    kinds: dict[str, int] = field(default_factory=dict)  # what went wrong, by exception
    cpu_s: float = 0.0


class SimulatedStation:
    def __init__(self, number: int, url: str, report: ClientReport, phases: Any) -> None:
        self.phases = phases  # [current phase, stations booted in phase 1, in phase 2]
        self.booted_in = 0
        self.pending: dict[str, asyncio.Future[Any]] = {}
        self.cpid = f"BENCH-{number:05d}"
        self.version = "2.0.1" if number % 2 else "1.6"
        self.url = f"{url}/{self.cpid}"
        self.report = report
        token = base64.b64encode(f"{self.cpid}:{PASSWORD}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}
        self.beat_offset = random.random() * PERIOD_S
        self.meter_offset = random.random() * PERIOD_S
        self.register = random.randint(1_000_000, 9_000_000)

    async def live(self, go: asyncio.Event) -> None:
        """Connect, boot, then (once the load starts) beat and send meter values until
        cancelled; on any loss of the connection try again after 1-2 s."""
        while True:
            try:
                async with websockets.connect(
                    self.url,
                    subprotocols=[f"ocpp{self.version}"],  # type: ignore[list-item]
                    additional_headers=self.headers,
                    open_timeout=60,
                    ping_interval=None,
                    compression=COMPRESSION or None,
                    max_queue=4,
                ) as ws:
                    reader = asyncio.ensure_future(self.read(ws))
                    try:
                        await self.call(ws, "BootNotification", self.boot(), timed=False)
                        self.booted()
                        await go.wait()  # idle until the load starts
                        await self.until_closed(ws, reader)
                    finally:
                        reader.cancel()
            except (TimeoutError, OSError, websockets.WebSocketException) as failure:
                self.report.refused += 1
                self.count(failure)
            except Exception as failure:
                self.report.errors += 1
                self.count(failure)
            await asyncio.sleep(RETRY_S + random.random())

    async def read(self, ws: Any) -> None:
        """Every frame the server sends: answers go to the waiting call; the server's own
        CALLs (e.g. asking for configuration after the boot) are answered NotImplemented, as
        a station without that feature would."""
        try:
            async for text in ws:
                frame = json.loads(text)
                if frame[0] == 2:
                    await ws.send(json.dumps([4, frame[1], "NotImplemented", "", {}]))
                elif (waiting := self.pending.pop(frame[1], None)) is not None:
                    waiting.set_result(frame)
        finally:
            for waiting in self.pending.values():
                waiting.cancel()
            self.pending.clear()

    async def until_closed(self, ws: Any, reader: asyncio.Future[None]) -> None:
        """The steady load until the server closes the connection (noticed at once, as a
        station's TCP stack would, not at its next message)."""
        load = asyncio.ensure_future(self.steady(ws))
        try:
            await asyncio.wait([load, reader], return_when=asyncio.FIRST_COMPLETED)
        finally:
            load.cancel()
        if load.done() and not load.cancelled():
            load.result()  # its failure, if it failed
        self.report.refused += 1
        self.report.kinds["closed by the server"] = (
            self.report.kinds.get("closed by the server", 0) + 1
        )

    def booted(self) -> None:
        """Count the first boot of each phase (the start, the restart)."""
        phase = self.phases[0]
        if self.booted_in == phase:
            return
        self.booted_in = phase
        self.report.boots.append(time.time())
        with self.phases.get_lock():
            self.phases[phase] += 1

    def count(self, failure: BaseException) -> None:
        kind = type(failure).__name__
        self.report.kinds[kind] = self.report.kinds.get(kind, 0) + 1

    async def steady(self, ws: Any) -> None:
        started = time.monotonic()
        beat_next = started + self.beat_offset
        meter_next = started + self.meter_offset
        while True:
            due = min(beat_next, meter_next)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if due == beat_next:
                await self.call(ws, "Heartbeat", {})
                beat_next += PERIOD_S
            else:
                await self.call(ws, "MeterValues", self.meter_values())
                meter_next += PERIOD_S

    async def call(self, ws: Any, action: str, payload: dict[str, Any], timed: bool = True) -> None:
        message_id = uuid.uuid4().hex
        sent_wall, sent = time.time(), time.perf_counter()
        answer = self.pending[message_id] = asyncio.get_running_loop().create_future()
        await ws.send(json.dumps([2, message_id, action, payload]))
        reply = await asyncio.wait_for(answer, 120)
        if reply[0] != 3 or reply[1] != message_id:
            self.report.errors += 1
            kind = f"{action}: {reply[2] if reply[0] == 4 else 'unexpected answer'}"
            self.report.kinds[kind] = self.report.kinds.get(kind, 0) + 1
        elif timed:
            self.report.answers.append((sent_wall, (time.perf_counter() - sent) * 1000))

    def boot(self) -> dict[str, Any]:
        if self.version == "1.6":
            return {"chargePointVendor": "Bench", "chargePointModel": "B1"}
        return {"chargingStation": {"model": "B1", "vendorName": "Bench"}, "reason": "PowerUp"}

    def meter_values(self) -> dict[str, Any]:
        self.register += 25
        if self.version == "1.6":
            sample = {"value": str(self.register), "measurand": "Energy.Active.Import.Register"}
            return {
                "connectorId": 1,
                "meterValue": [{"timestamp": now_text(), "sampledValue": [sample]}],
            }
        value = {"value": float(self.register), "measurand": "Energy.Active.Import.Register"}
        return {"evseId": 1, "meterValue": [{"timestamp": now_text(), "sampledValue": [value]}]}


def client_process(
    numbers: list[int],
    url: str,
    stop: Event,
    go: Event,
    results: Any,
    seed_value: int,
    compression: str,
    phases: Any,
    begin: Event,
) -> None:
    global COMPRESSION
    COMPRESSION = compression
    raise_file_limit()
    random.seed(seed_value)
    report = ClientReport()

    async def until_stopped() -> None:
        await asyncio.to_thread(begin.wait)  # the server is up and its idle RSS taken
        going = asyncio.Event()
        fleet = [SimulatedStation(n, url, report, phases) for n in numbers]
        tasks = [asyncio.ensure_future(s.live(going)) for s in fleet]
        await asyncio.to_thread(go.wait)
        going.set()
        await asyncio.to_thread(stop.wait)
        for task in tasks:
            task.cancel()
        # A station stuck closing its socket must not hold the report back (a 10,000-station
        # run once waited past the coordinator's timeout here).
        await asyncio.wait(tasks, timeout=STOP_WAIT_S)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        report.cpu_s = usage.ru_utime + usage.ru_stime
        results.put(report)
        results.close()
        results.join_thread()  # the report is in the pipe
        os._exit(0)  # whatever is still closing: leave without waiting for it

    asyncio.run(until_stopped())


# --- the coordinator ----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def start(command: list[str], env: dict[str, str], port: int, health: str | None) -> Any:
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    if health:
        await wait_for_http(health, process)
    else:
        await wait_for_port(port, process)
    return process


async def stop_server(process: Any) -> float:
    cpu = cpu_seconds(process.pid)
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()
    return cpu


def start_profile(name: str, phase: str, pid: int, args: argparse.Namespace) -> Any:
    """With ``--py-spy PREFIX``: sample the server into ``PREFIX-<name>-<phase>.txt`` until
    :func:`profiles.stop_profile` (collapsed stacks, one line per stack with its sample
    count)."""
    return profiles.start_profile(args.py_spy, f"{name}-{phase}", pid)


async def all_booted(phases: Any, phase: int, args: argparse.Namespace) -> None:
    """Until every station booted in ``phase``, or ``--settle`` seconds went by."""
    deadline = time.monotonic() + args.settle
    while phases[phase] < args.stations and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)  # a counter in shared memory: nothing to wait on but it


async def measure(
    name: str, command: list[str], env: dict[str, str], port: int, health: str | None, args: Any
) -> dict[str, Any]:
    print(f"{name}: {args.stations} stations in {args.clients} client processes ...", flush=True)
    context = multiprocessing.get_context("spawn")
    stop, go, begin, results = context.Event(), context.Event(), context.Event(), context.Queue()
    phases = context.Array("i", [1, 0, 0])
    numbers = list(range(args.stations))
    url = f"ws://127.0.0.1:{port}/ocpp"
    clients = [
        context.Process(
            target=client_process,
            args=(
                numbers[k :: args.clients],
                url,
                stop,
                go,
                results,
                args.seed + k,
                "" if args.client_compression == "none" else args.client_compression,
                phases,
                begin,
            ),
        )
        for k in range(args.clients)
    ]
    for client in clients:
        client.start()
    started = time.time()
    process = await start(command, env, port, health)
    up_s = time.time() - started
    rss_before, _ = rss_mib(process.pid)
    first_start = time.time()
    begin.set()
    await all_booted(phases, 1, args)
    rss_connected, _ = rss_mib(process.pid)
    go.set()
    window_start = time.time()
    profiler = start_profile(name, "window", process.pid, args) if health else None
    await asyncio.sleep(args.window)
    window_end = time.time()
    profiles.stop_profile(profiler)
    rss_loaded, rss_peak = rss_mib(process.pid)
    cpu = await stop_server(process)
    restart = time.time()
    phases[0] = 2
    process = await start(command, env, port, health)
    restarted_up = time.time()
    profiler = start_profile(name, "restart", process.pid, args) if health else None
    await all_booted(phases, 2, args)
    profiles.stop_profile(profiler)
    rss_after_restart, _ = rss_mib(process.pid)
    stop.set()
    reports = [results.get(timeout=300) for _ in clients]
    for client in clients:
        client.join(60)
    cpu += await stop_server(process)
    boots = sorted(t for r in reports for t in r.boots)
    first = [t for t in boots if t < restart]
    again = [t for t in boots if t >= restart]
    answers = [ms for r in reports for sent, ms in r.answers if window_start <= sent < window_end]
    middle = (window_start + window_end) / 2
    later = [ms for r in reports for sent, ms in r.answers if middle <= sent < window_end]
    return {
        "up_s": up_s,
        "booted": len(first),
        "connect_s": (first[-1] - first_start) if len(first) >= args.stations else float("nan"),
        "rebooted": len(again),
        "reconnect_s": (again[-1] - restart) if len(again) >= args.stations else float("nan"),
        "restart_up_s": restarted_up - restart,
        "reconnect_up_s": (again[-1] - restarted_up)
        if len(again) >= args.stations
        else float("nan"),
        "answers": len(answers),
        "p50_ms": percentile(answers, 0.50),
        "p99_ms": percentile(answers, 0.99),
        "max_ms": max(answers, default=float("nan")),
        "p99_later_ms": percentile(later, 0.99),
        "errors": sum(r.errors for r in reports),
        "refused": sum(r.refused for r in reports),
        "rss_idle_mib": rss_before,
        "rss_connected_mib": rss_connected,
        "kib_per_connection": (rss_connected - rss_before) * 1024 / max(1, len(first)),
        "rss_loaded_mib": rss_loaded,
        "rss_peak_mib": rss_peak,
        "rss_restarted_mib": rss_after_restart,
        "server_cpu_s": cpu,
        "clients_cpu_s": sum(r.cpu_s for r in reports),
        "kinds": {k: sum(r.kinds.get(k, 0) for r in reports) for r in reports for k in r.kinds},
    }


async def main(args: argparse.Namespace) -> None:
    limit = raise_file_limit()
    random.seed(args.seed)
    env = {**os.environ, "CHARGELEDGER_LOG_LEVEL": "WARNING"}
    env.pop("CHARGELEDGER_DATABASE_URL", None)
    port = free_port()
    bare = [sys.executable, str(HERE / "bare_ocpp_server.py"), "--port", str(port)]
    results: dict[str, dict[str, Any]] = {}
    if not args.skip_bare:
        results["bare ocpp"] = await measure("bare ocpp server", bare, env, port, None, args)
    serve = [sys.executable, "-m", "chargeledger", "serve", "--port"]
    with tempfile.TemporaryDirectory() as folder:
        print(f"seeding {args.stations} stations on SQLite ...", flush=True)
        await seed(Path(folder), args.stations)
        port = free_port()
        results["chargeledger/SQLite"] = await measure(
            "chargeledger (SQLite)",
            [*serve, str(port)],
            {**env, "CHARGELEDGER_DATA_DIR": folder},
            port,
            f"http://127.0.0.1:{port}/healthz",
            args,
        )
    if args.postgres:
        results["chargeledger/PG"] = await measure_postgres(env, serve, args)
    print_table(args, results, limit)


async def measure_postgres(
    env: dict[str, str], serve: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    async with scratch_database(args.postgres, "chargeledger_scale") as url:
        with tempfile.TemporaryDirectory() as folder:
            print(f"seeding {args.stations} stations on PostgreSQL ...", flush=True)
            await seed(Path(folder), args.stations, url)
            port = free_port()
            return await measure(
                "chargeledger (PostgreSQL)",
                [*serve, str(port)],
                {**env, "CHARGELEDGER_DATA_DIR": folder, "CHARGELEDGER_DATABASE_URL": url},
                port,
                f"http://127.0.0.1:{port}/healthz",
                args,
            )


ROWS = (
    ("up_s", "server up, s", ".1f"),  # until /healthz answers (the bare one: its port)
    ("booted", "stations booted", ".0f"),
    ("connect_s", "all booted, s", ".1f"),
    ("rebooted", "after restart", ".0f"),
    ("reconnect_s", "all again, s", ".1f"),
    ("restart_up_s", "  of which start, s", ".1f"),  # the restarted server until it answers
    ("reconnect_up_s", "  then all again, s", ".1f"),
    ("answers", "answers timed", ".0f"),
    ("p50_ms", "p50 ms", ".1f"),
    ("p99_ms", "p99 ms", ".1f"),
    ("max_ms", "max ms", ".1f"),
    ("p99_later_ms", "p99 2nd half ms", ".1f"),  # of the window's second half only
    ("errors", "errors", ".0f"),
    ("refused", "handshakes retried", ".0f"),
    ("rss_idle_mib", "RSS no stations", ".1f"),
    ("rss_connected_mib", "RSS connected", ".1f"),
    ("kib_per_connection", "KiB/connection", ".1f"),
    ("rss_loaded_mib", "RSS after load", ".1f"),
    ("rss_peak_mib", "peak RSS MiB", ".1f"),
    ("server_cpu_s", "server CPU s", ".1f"),
    ("clients_cpu_s", "clients CPU s", ".1f"),
)


def print_table(args: argparse.Namespace, results: dict[str, dict[str, Any]], limit: int) -> None:
    bare = results.get("bare ocpp", {})
    ours = [name for name in results if name != "bare ocpp"]
    print()
    print(
        f"OCPP scale, {args.stations} stations (half 1.6, half 2.0.1), Heartbeat and MeterValues "
        f"every {PERIOD_S:g} s each, {args.window:g} s window, "
        f"at most {args.settle:g} s to connect, "
        f"{args.clients} client processes offering compression: {args.client_compression}, "
        f"{os.cpu_count()} cores, open files {limit}"
    )
    header = (
        f"{'':20}"
        + "".join(f"{name:>21}" for name in results)
        + "".join(f"{'ratio ' + name.split('/')[-1]:>14}" for name in ours)
    )
    print(header)
    print("-" * len(header))
    for key, label, shape in ROWS:
        row = f"{label:20}" + "".join(f"{r[key]:21{shape}}" for r in results.values())
        for name in ours:
            ratio = results[name][key] / bare[key] if bare.get(key) else float("nan")
            row += f"{ratio:14.2f}"
        print(row)
    for name, r in results.items():
        if r["kinds"]:
            print(f"{name}: failures by kind {r['kinds']}")
        if r["clients_cpu_s"] > 0.5 * r["server_cpu_s"]:
            print(
                f"note: the clients of {name} used {r['clients_cpu_s']:.0f} CPU s against the "
                f"server's {r['server_cpu_s']:.0f} on {os.cpu_count()} cores: they competed "
                "for the CPU, the server's figures are a lower bound"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=120.0, help="seconds of steady load")
    parser.add_argument(
        "--settle", type=float, default=120.0, help="seconds at most to connect after a start"
    )
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--client-compression",
        choices=("deflate", "none"),
        default="deflate",
        help="whether the stations offer permessage-deflate (websockets' default: they do)",
    )
    parser.add_argument("--postgres", help="also measure on PostgreSQL (a server URL)")
    parser.add_argument(
        "--py-spy", metavar="PREFIX", help="profile chargeledger into PREFIX-<server>-<phase>.txt"
    )
    parser.add_argument(
        "--skip-bare", action="store_true", help="leave out the bare reference server"
    )
    asyncio.run(main(parser.parse_args()))
