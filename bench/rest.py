"""REST benchmark (issue 17, REST part): ``chargeledger serve`` on a demo-sized database next
to a bare FastAPI hello world under the same uvicorn settings, measured in the same run.

Set-up, per back end, on a fresh database: the demo's operator (``seed_demo_operator``: 20
stations, 50 accounts, the demo users), ``--sessions`` completed sessions spread over the last
30 days across those stations and accounts, and an API key with ``sessions:read``. Then
``chargeledger serve`` is started as its own process on that database (it migrates on start,
as in production, and writes its JSON access log to a file), and the bare app
(``bench/bare_fastapi.py``) under ``python -m uvicorn`` with the same loop and HTTP parser.

Each target is loaded ``--runs`` times for ``--seconds`` with 32 connections on one thread,
by ``wrk -t1 -c32 --latency`` when it is installed (``apt-get install wrk``), else by the
load generator below: 32 asyncio tasks, each with one keep-alive HTTP/1.1 connection,
sending the next GET as soon as the last answer is read (closed loop, like wrk; it costs
more CPU than wrk per request, so its figures are lower on both sides of the ratio). The
median of the runs' req/s, p50 and p99 are printed, with the ratio to the bare app's req/s,
and the server process's CPU time per request (user + system, from ``/proc``, the median of
the runs): on a shared machine the req/s follow the neighbours' load, the CPU per request
much less. Each target is loaded for 2 s before the measured runs (a fresh server's first
requests open connections and compile statements).

The targets: ``/healthz``, ``/api/v1/sessions?limit=10`` and ``?limit=100`` (newest first).
The machine's other load is not controlled: read the ratios, and ``uptime`` is printed.

Usage: python bench/rest.py [--sessions 10000] [--runs 3] [--seconds 10]
       [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--no-sqlite]
       [--python-load]   (use the Python load generator even when wrk is installed)
       [--py-spy PREFIX] (sample the server during each target's first run: PREFIX-*.txt,
                          read with ``python bench/profiles.py FILE``)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from profiles import start_profile, stop_profile
from sqlalchemy import make_url, select, text

from chargeledger.adapters.db.engine import create_engine
from chargeledger.adapters.db.tables import stations as station_table
from chargeledger.adapters.security import Argon2PasswordHasher
from chargeledger.bootstrap import build_runtime
from chargeledger.config import Settings, sqlite_url
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.identity import Scope
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.services import identity
from chargeledger.services.demo_seed import seed_demo_operator

BENCH = Path(__file__).resolve().parent
CONNECTIONS = 32
TARGETS = (
    ("/healthz", "/healthz"),
    ("sessions 10 rows", "/api/v1/sessions?limit=10"),
    ("sessions 100 rows", "/api/v1/sessions?limit=100"),
)


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    cpu_ms: float = 0.0  # the server's CPU time per request


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the database ---------------------------------------------------------------------------


async def provision(url: str, folder: Path, sessions: int) -> str:
    """Seed the demo operator and ``sessions`` sessions; returns an API key's secret."""
    settings = Settings.from_env(
        {"CHARGELEDGER_DATA_DIR": str(folder), "CHARGELEDGER_DATABASE_URL": url}
    )
    runtime = build_runtime(settings, hasher=Argon2PasswordHasher(workers=1))
    await runtime.migrate()
    report = await seed_demo_operator(
        runtime.uow, runtime.clock, runtime.hasher, runtime.station_secrets, runtime.vat_ids
    )
    engine = create_engine(url)
    async with engine.connect() as connection:
        stations = list((await connection.execute(select(station_table.c.id))).scalars())
    await engine.dispose()
    accounts = report.accounts
    rng = random.Random(17)
    now = runtime.clock.now()
    for first in range(0, sessions, 1000):
        async with runtime.uow() as uow:
            for number in range(first, min(first + 1000, sessions)):
                started = now - timedelta(seconds=rng.randrange(30 * 86400))
                energy = Decimal(rng.randrange(2_000, 60_000))
                await uow.sessions.add(
                    Session(
                        station_id=stations[number % len(stations)],
                        evse_id=1,
                        transaction_ref=str(number + 1),
                        ocpp_version="1.6",
                        started_at=started,
                        meter_start_wh=Decimal(0),
                        account_id=accounts[number % len(accounts)].id,
                        status=SessionStatus.COMPLETED,
                        stopped_at=started + timedelta(minutes=rng.randrange(10, 240)),
                        meter_stop_wh=energy,
                        created_at=now,
                        updated_at=now,
                        payment_route=PaymentRoute.INVOICE,
                    )
                )
            await uow.commit()
    async with runtime.uow() as uow:
        _, secret = await identity.create_api_key(
            uow, runtime.clock, name="bench", scopes=[Scope.SESSIONS_READ]
        )
        await uow.commit()
    await runtime.aclose()
    return secret


# --- the servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(command: list[str], env: dict[str, str], log: Path, port: int) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{command[0]} exited; see {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"{' '.join(command)} did not listen on {port} within 60 s; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- load -----------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(url: str, headers: dict[str, str], seconds: int) -> Load:
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|timeout)\D*(\d+)", out))
    return Load(rps, p50, p99, errors, requests)


async def _client(
    port: int, request: bytes, until: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            began = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - began) * 1000)
            if not status_line.startswith(b"HTTP/1.1 2"):
                errors.append(1)
    finally:
        writer.close()


def python_load(url: str, headers: dict[str, str], seconds: int) -> Load:
    """The documented fallback: 32 closed-loop keep-alive connections on one asyncio loop."""
    parsed = urlsplit(url)
    port = parsed.port or 80
    path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    errors: list[int] = []

    async def run() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(
            *(_client(port, request, until, latencies, errors) for _ in range(CONNECTIONS))
        )

    asyncio.run(run())
    ordered = sorted(latencies)
    return Load(
        len(ordered) / seconds,
        ordered[len(ordered) // 2],
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        len(errors),
        len(ordered),
    )


def measure(
    url: str, headers: dict[str, str], args: argparse.Namespace, pid: int, label: str = ""
) -> Load:
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    # Warm-up, not measured: the first requests of a fresh server open its connections and
    # compile its statements, which under 32 connections at once can outlast wrk's timeout.
    (wrk if use_wrk else python_load)(url, headers, 2)
    runs = []
    for run in range(args.runs):
        profiler = start_profile(args.py_spy, label, pid) if run == 0 and label else None
        before = cpu_seconds(pid)
        load = (wrk if use_wrk else python_load)(url, headers, args.seconds)
        stop_profile(profiler)
        cpu_ms = (cpu_seconds(pid) - before) * 1000 / max(load.requests, 1)
        runs.append(Load(load.rps, load.p50_ms, load.p99_ms, load.errors, load.requests, cpu_ms))
    return Load(
        statistics.median(r.rps for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        sum(r.errors for r in runs),
        sum(r.requests for r in runs),
        statistics.median(r.cpu_ms for r in runs),
    )


# --- one back end ---------------------------------------------------------------------------


def bench_backend(label: str, url: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="chargeledger-bench-rest-"))
    began = time.perf_counter()
    secret = asyncio.run(provision(url, folder, args.sessions))
    print(f"\n{label}: seeded {args.sessions} sessions in {time.perf_counter() - began:.0f} s")
    env = {
        **os.environ,
        "CHARGELEDGER_DATA_DIR": str(folder),
        "CHARGELEDGER_DATABASE_URL": url,
        "CHARGELEDGER_PASSWORD_HASH_WORKERS": "1",
    }
    app_port, bare_port = free_port(), free_port()
    bin_dir = Path(sys.executable).parent
    server = start(
        [str(bin_dir / "chargeledger"), "serve", "--port", str(app_port)],
        env,
        folder / "serve.log",
        app_port,
    )
    uvicorn = [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "--no-access-log"]
    bare = start(
        [*uvicorn, "--log-level", "warning", "--port", str(bare_port), "bare_fastapi:app"],
        env,
        folder / "bare.log",
        bare_port,
    )
    try:
        reference = measure(f"http://127.0.0.1:{bare_port}/", {}, args, bare.pid)
        print(
            f"  {'target':<22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
            f"{'cpu ms/req':>12}  ratio"
        )
        _row("bare FastAPI hello", reference, reference)
        for name, path in TARGETS:
            url = f"http://127.0.0.1:{app_port}{path}"
            load = measure(url, {"X-API-Key": secret}, args, server.pid, f"{label}-{name}")
            _row(name, load, reference)
    finally:
        stop(server)
        stop(bare)


def _row(name: str, load: Load, reference: Load) -> None:
    ratio = load.rps / reference.rps if reference.rps else 0.0
    print(
        f"  {name:<22}{load.rps:>9.0f}{load.p50_ms:>9.1f}{load.p99_ms:>9.1f}"
        f"{load.errors:>8}{load.cpu_ms:>12.3f}  {ratio:.2f}x",
        flush=True,
    )


async def _postgres_database(admin_url: str, name: str, *, drop: bool) -> None:
    engine = create_engine(admin_url)
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        verb = f'DROP DATABASE IF EXISTS "{name}"' if drop else f'CREATE DATABASE "{name}"'
        await connection.execute(text(verb))
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server's URL")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--python-load", action="store_true")
    parser.add_argument(
        "--py-spy", metavar="PREFIX", help="profile each target's first run into PREFIX-*.txt"
    )
    args = parser.parse_args()
    tool = "wrk" if shutil.which("wrk") and not args.python_load else "python load generator"
    load_average = os.getloadavg()
    print(f"load: {tool}, {CONNECTIONS} connections, {args.runs} x {args.seconds} s (medians);")
    print(f"machine load average before: {load_average[0]:.2f} (2 cores, shared)")
    if not args.no_sqlite:
        folder = Path(tempfile.mkdtemp(prefix="chargeledger-bench-rest-db-"))
        bench_backend("SQLite", sqlite_url(folder / "bench.sqlite3"), args)
    if args.postgres:
        name = f"bench_rest_{uuid.uuid4().hex[:8]}"
        asyncio.run(_postgres_database(args.postgres, name, drop=False))
        try:
            url = make_url(args.postgres).set(database=name).render_as_string(False)
            bench_backend("PostgreSQL", url, args)
        finally:
            asyncio.run(_postgres_database(args.postgres, name, drop=True))


if __name__ == "__main__":
    main()
