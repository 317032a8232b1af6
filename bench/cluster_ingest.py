"""OCPP ingest through 1, 2 and 3 ``chargeledger serve`` nodes on one PostgreSQL database.

What ``ocpp_ingest.py`` measures for one node, measured for a cluster (issue 18; README
"Running several nodes"): for each node count N (``--nodes``, 1 2 3 by default) a scratch
PostgreSQL database is created (and dropped) through ``--postgres``, seeded with
``--stations`` stations, and N ``serve`` processes start on it with the cluster's shared
secrets. Each station connects to node ``number % N`` (the stations spread evenly, as a
balancer spreads them), boots and starts a transaction (half OCPP 1.6, half 2.0.1, raw
frames as in ``ocpp_ingest.py``); then every station sends meter values for ``--duration``
seconds, each one as soon as the answer to its last one came and ``--think`` seconds went by
(``--think 0``: closed loop). Only messages answered inside the window count.

Printed per node count: stations up, messages/s, p50/p99 round-trip latency, errors, and
the ratio of messages/s and latency to the 1-node run of the same invocation (the
baseline); and the CPU seconds spent during the window by the servers (all nodes), by the
client processes that drive the stations (``--clients``, never the servers' loop) and by the
PostgreSQL backends of the bench's database. A node is one asyncio process: it uses about
one core at most. The machine has few cores (2 on the project's machines): servers, clients
and PostgreSQL share them, so when the clients or the database use about as much CPU as
the servers, more nodes cannot show more throughput; read the ratios with the CPU columns.

Usage: python bench/cluster_ingest.py [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
                                      [--stations 600] [--duration 30] [--think 1.0]
                                      [--nodes 1 2 3] [--clients 2]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import resource
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backends import scratch_database
from ocpp_ingest import Station, free_port, seed, wait_for_http

CONNECTING_AT_ONCE = 100  # handshakes under way per client process
STOP_WAIT_S = 60.0


@dataclass
class ClientReport:
    connected: int = 0
    messages: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0  # during the window


def cpu_now() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the stations (in the client processes) ----------------------------------------------------


def client_process(
    numbers: list[int],
    urls: list[str],
    ready: Any,
    go: Event,
    results: Any,
    duration: float,
    think: float,
    seed_value: int,
) -> None:
    """Connect and begin these stations (each on node ``number % len(urls)``), report ready,
    then send meter values through the window once ``go`` is set."""
    random.seed(seed_value)

    async def run() -> ClientReport:
        report = ClientReport()
        gate = asyncio.Semaphore(CONNECTING_AT_ONCE)
        fleet = [Station(n, urls[n % len(urls)], "2.0.1" if n % 2 else "1.6") for n in numbers]

        async def prepare(station: Station) -> bool:
            async with gate:
                try:
                    await station.connect()
                    await station.begin()
                except Exception as exc:
                    print(f"  {station.cpid}: could not start: {exc!r}", file=sys.stderr)
                    return False
            return True

        started = await asyncio.gather(*map(prepare, fleet))
        up = [s for s, ok in zip(fleet, started, strict=True) if ok]
        report.connected = len(up)
        with ready.get_lock():
            ready.value += 1
        await asyncio.to_thread(go.wait)
        cpu_before = cpu_now()
        stop_at = time.perf_counter() + duration

        async def drive(station: Station) -> None:
            await asyncio.sleep(random.random() * think)  # spread the first messages
            while time.perf_counter() < stop_at:
                sent = time.perf_counter()
                try:
                    await station.meter_values()
                except Exception:
                    report.errors += 1
                    return
                done = time.perf_counter()
                if done <= stop_at:
                    report.messages += 1
                    report.latencies_ms.append((done - sent) * 1000)
                await asyncio.sleep(think)

        await asyncio.gather(*(drive(s) for s in up))
        report.cpu_s = cpu_now() - cpu_before
        await asyncio.wait([asyncio.ensure_future(s.ws.close()) for s in up], timeout=STOP_WAIT_S)
        return report

    results.put(asyncio.run(run()))


# --- the coordinator ---------------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """User and system CPU seconds of a process so far (Linux /proc); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def database_backends(admin: Any, database: str) -> list[int]:
    rows = await admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    return [int(row["pid"]) for row in rows]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def station_key(data_dir: Path) -> str:
    """The key of the station passwords the seed hashed (made into its data directory)."""
    return (data_dir / "station-secret-key").read_text().strip()


async def start_node(env: dict[str, str], data_dir: Path) -> tuple[Any, int]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chargeledger",
        "serve",
        "--port",
        str(port),
        env={**env, "CHARGELEDGER_DATA_DIR": str(data_dir)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
    return process, port


async def stop_node(process: Any) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


async def measure(nodes: int, args: argparse.Namespace, env: dict[str, str]) -> dict[str, float]:
    """One run: a scratch database, ``nodes`` nodes, the stations spread over them."""
    import asyncpg

    async with scratch_database(args.postgres, "chargeledger_cluster") as url:
        with tempfile.TemporaryDirectory() as folder:
            print(f"{nodes} node(s): seeding {args.stations} stations ...", flush=True)
            await seed(Path(folder, "seed"), args.stations, url)
            shared = {
                **env,
                "CHARGELEDGER_DATABASE_URL": url,
                # the keys every node of a cluster shares; the seed made the station key
                "CHARGELEDGER_STATION_SECRET_KEY": station_key(Path(folder, "seed")),
                "CHARGELEDGER_JWT_SECRET": secrets.token_urlsafe(32),
                "CHARGELEDGER_SANDBOX_WEBHOOK_SECRET": secrets.token_urlsafe(32),
            }
            started = await asyncio.gather(
                *(start_node(shared, Path(folder, f"node-{i}")) for i in range(nodes))
            )
            admin = await asyncpg.connect(args.postgres)
            try:
                return await load(
                    [process for process, _ in started],
                    [f"ws://127.0.0.1:{port}/ocpp" for _, port in started],
                    admin,
                    url.rsplit("/", 1)[1],
                    args,
                )
            finally:
                await admin.close()
                await asyncio.gather(*(stop_node(process) for process, _ in started))


async def load(
    servers: list[Any], urls: list[str], admin: Any, database: str, args: argparse.Namespace
) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Value("i", 0), context.Event(), context.Queue()
    numbers = list(range(args.stations))
    clients = [
        context.Process(
            target=client_process,
            args=(
                numbers[k :: args.clients],
                urls,
                ready,
                go,
                results,
                args.duration,
                args.think,
                args.seed + k,
            ),
        )
        for k in range(args.clients)
    ]
    for client in clients:
        client.start()
    while ready.value < len(clients):  # a counter in shared memory: nothing to await
        if not any(client.is_alive() for client in clients):
            raise RuntimeError("the client processes ended before they were ready")
        await asyncio.sleep(0.1)
    backends = await database_backends(admin, database)
    servers_before = sum(process_cpu(p.pid) for p in servers)
    database_before = {pid: process_cpu(pid) for pid in backends}
    go.set()
    await asyncio.sleep(args.duration)  # the window: the clients stop sending at its end
    servers_cpu = sum(process_cpu(p.pid) for p in servers) - servers_before
    backends = await database_backends(admin, database)
    database_cpu = sum(process_cpu(pid) - database_before.get(pid, 0.0) for pid in backends)
    reports: list[ClientReport] = [await asyncio.to_thread(results.get, True, 300) for _ in clients]
    for client in clients:
        client.join(60)
    latencies = [ms for report in reports for ms in report.latencies_ms]
    return {
        "connected": sum(r.connected for r in reports),
        "msg_per_s": sum(r.messages for r in reports) / args.duration,
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "errors": sum(r.errors for r in reports),
        "servers_cpu_s": servers_cpu,
        "clients_cpu_s": sum(r.cpu_s for r in reports),
        "database_cpu_s": database_cpu,
    }


ROWS = (
    ("connected", "stations up", ".0f"),
    ("msg_per_s", "messages/s", ".1f"),
    ("p50_ms", "p50 latency ms", ".1f"),
    ("p99_ms", "p99 latency ms", ".1f"),
    ("errors", "errors", ".0f"),
    ("servers_cpu_s", "servers CPU s", ".1f"),
    ("clients_cpu_s", "clients CPU s", ".1f"),
    ("database_cpu_s", "PostgreSQL CPU s", ".1f"),
)
RATIOS = ("msg_per_s", "p50_ms", "p99_ms")  # against the 1-node run


def print_table(args: argparse.Namespace, results: dict[int, dict[str, float]]) -> None:
    print()
    pace = (
        "closed loop (each station's next meter value once its last is answered)"
        if not args.think
        else f"one meter value per station every {args.think:g} s + answer time"
    )
    print(
        f"OCPP ingest through {', '.join(map(str, results))} node(s) on one PostgreSQL "
        f"database, {args.stations} stations spread evenly, {args.duration:g} s window, "
        f"{pace}, {args.clients} client processes, {os.cpu_count()} cores"
    )
    baseline = results.get(1)
    names = [f"{n} node{'s' if n > 1 else ''}" for n in results]
    ratio_names = [f"ratio {n}/1" for n in results if n != 1] if baseline else []
    header = f"{'':18}" + "".join(f"{name:>14}" for name in names)
    header += "".join(f"{name:>12}" for name in ratio_names)
    print(header)
    print("-" * len(header))
    for key, label, shape in ROWS:
        row = f"{label:18}" + "".join(f"{r[key]:14{shape}}" for r in results.values())
        if baseline:
            for n, r in results.items():
                if n == 1:
                    continue
                ratio = r[key] / baseline[key] if key in RATIOS and baseline[key] else None
                row += f"{ratio:12.2f}" if ratio is not None else f"{'':12}"
        print(row)
    for n, r in results.items():
        others = r["clients_cpu_s"] + r["database_cpu_s"]
        if others > 0.5 * r["servers_cpu_s"]:
            print(
                f"note: with {n} node(s) the clients and PostgreSQL used {others:.0f} CPU s "
                f"against the servers' {r['servers_cpu_s']:.0f} on {os.cpu_count()} cores: "
                "they compete for the CPU, so the nodes' figures are a lower bound"
            )


async def main(args: argparse.Namespace) -> None:
    random.seed(args.seed)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARGELEDGER_")}
    env |= {
        "CHARGELEDGER_LOG_LEVEL": "WARNING",
        # Every bench station connects from 127.0.0.1: the per-address cap of password
        # checks (which would answer most of them 429) is lifted to measure ingestion.
        "CHARGELEDGER_STATION_CONCURRENCY_PER_ADDRESS": "256",
        "CHARGELEDGER_PASSWORD_HASH_BACKLOG": "512",
    }
    results = {}
    for nodes in sorted(set(args.nodes)):
        results[nodes] = await measure(nodes, args, env)
    print_table(args, results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server's URL: the scratch databases are made there",
    )
    parser.add_argument("--stations", type=int, default=600)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(main(parser.parse_args()))
