"""Back office page benchmark (issue 16: "pages render in under 200 ms server time on the demo
database (measured in bench/, not asserted)"), on SQLite and on PostgreSQL, next to a baseline
measured in the same run: ``GET /healthz`` through the same app, middleware and client.

Set-up, per back end, on a fresh database: a month of priced charges booked as
``bench/billing_run.py`` books them (November 2026, ``--cdrs`` charges over ``--accounts``
accounts, one site) and invoiced (``run_invoices``, one invoice per account), a network of
``--stations`` stations (``office_network.py``; 20 by default, the demo's size), a finance
user, the clock on 1 December. Then each page is asked
``--requests`` times in process (httpx's ASGI transport: no network, no server loop), and the
median and 95th percentile of its server time are printed.

Usage: python bench/office_pages.py [--cdrs 20000] [--accounts 500] [--stations 20]
       [--requests 30] [--only PATHS] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
       [--no-sqlite]
(``--only /office,/office/stations/``: just these pages after the baseline, each a path, or
the paths under it when it ends in ``/``.)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends import add_backend_options, on_each_backend
from billing_run import CLOCK_DAY, SELLER, generate
from office_network import add_network
from pricing import ZONE

from chargeledger.adapters.security import Argon2PasswordHasher
from chargeledger.api.app import create_app
from chargeledger.api.auth import issue_access_token
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.domain.identity import Role
from chargeledger.office.session import SESSION
from chargeledger.services import identity
from chargeledger.services.billing.invoicing import run_invoices
from chargeledger.services.office_overview import month_breakdown

# First: the baseline; then every list page. One invoice's page, its buyer's account page and
# one station's page are added once made.
PAGES = (
    "/healthz",
    "/office",
    "/office/sessions",
    "/office/quarantine",
    "/office/invoices",
    "/office/reports?report=revenue&period=2026-11&by=site,method",
    "/office/stations",
    "/office/tariffs",
    "/office/accounts",
    "/office/payments",
    "/office/ledger",
    "/office/disputes",
    "/office/bank",
    "/office/bank/entries",
    "/office/dunning",
    "/office/contracts",
    "/office/invoice-runs",
)
# The overview's "this month" charts as of the last day of the month of charges (on the
# clock's 1 December that month is empty): every charge in the window.
MONTH_CHARTS_AT = datetime(2026, 11, 30, 20, tzinfo=UTC)


def chosen(path: str, only: str) -> bool:
    if not only:
        return True
    parts = only.split(",")
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in parts)


class BenchClock:
    """1 December 2026, the day after the month of charges; the session token is issued at
    the real time (its expiry is checked against the real time)."""

    def __init__(self) -> None:
        self.current: datetime | None = CLOCK_DAY

    def now(self) -> datetime:
        return self.current or datetime.now(UTC)


async def finance_session(runtime: Runtime, clock: BenchClock) -> str:
    async with runtime.uow() as uow:
        user = await identity.create_user(
            uow,
            runtime.clock,
            runtime.hasher,
            email="finance@bench.example.org",
            password="bench finance password",
            role=Role.FINANCE,
            account_id=None,
        )
        await uow.commit()
    clock.current, day = None, clock.current
    token, _ = issue_access_token(runtime, user)
    clock.current = day
    return token


async def timings(client: httpx.AsyncClient, path: str, requests: int) -> list[float]:
    found = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.get(path)
        found.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.text[:200]}")
    return found


async def bench(
    label: str, url: str, schema: str | None, folder: Path, args: argparse.Namespace
) -> None:
    settings = Settings(data_dir=folder / label, database_url=url)
    clock = BenchClock()
    runtime = build_runtime(
        settings,
        schema=schema,
        hasher=Argon2PasswordHasher(time_cost=1, memory_cost=1024),
        clock=clock,
    )
    try:
        await runtime.migrate()
        await generate(runtime, url, schema, args.cdrs, args.accounts)
        invoiced = await run_invoices(runtime.uow, runtime.clock, SELLER, ZONE, "2026-11")
        first = invoiced.issued[0]
        station = await add_network(runtime, args.stations)
        pages = (
            *PAGES,
            f"/office/invoices/{first.id}",
            f"/office/accounts/{first.account_id}",
            *((f"/office/stations/{station}",) if station else ()),
        )
        pages = tuple(p for p in pages if p == "/healthz" or chosen(p, args.only))
        token = await finance_session(runtime, clock)
        app = create_app(runtime, migrate=False)
        gc.freeze()  # as ``serve`` does on start (the app's lifespan, which ASGITransport skips)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", cookies={SESSION: token}
        ) as client:
            print(
                f"{label}: {args.cdrs:,} charges in November over {args.accounts:,} accounts, "
                f"{args.stations:,} stations"
            )
            baseline = None
            for path in pages:
                await timings(client, path, 3)  # warm: compiled queries, templates
                times = await timings(client, path, args.requests)
                median = statistics.median(times) * 1000
                p95 = statistics.quantiles(times, n=20)[18] * 1000
                baseline = baseline or median
                shown = path
                for made in (first.id, first.account_id, station):
                    shown = shown.replace(str(made), "{id}")
                print(
                    f"  GET {shown:<22} median {median:7.1f} ms  p95 {p95:7.1f} ms  "
                    f"({median / baseline:5.1f}x the baseline's median)"
                )
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                await month_breakdown(runtime.uow, MONTH_CHARTS_AT, ZONE)
                times.append(time.perf_counter() - started)
            print(
                f"  month by site and method on 30 Nov: median "
                f"{statistics.median(times) * 1000:7.1f} ms (the service, no HTTP)"
            )
    finally:
        await runtime.aclose()


async def main(args: argparse.Namespace) -> None:
    async def run(label: str, url: str, schema: str | None, folder: Path) -> None:
        await bench(label, url, schema, folder, args)

    await on_each_backend(args, run, "office")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cdrs", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--stations", type=int, default=20)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--only", default="")
    add_backend_options(parser)
    asyncio.run(main(parser.parse_args()))
