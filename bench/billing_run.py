"""Billing-run benchmark (issue 5): priced CDRs booked per second, then a month's invoice run
with ledger posting, on SQLite and on PostgreSQL, next to a naive baseline that commits one
posting per transaction, measured in the same run.

Phases, per back end, on a fresh database:
1. generate: CDRs of 3-5 periods priced by ``price()`` under a time-of-use tariff, turned into
   charges (``build_charge``'s rules: rounded net, components, VAT) with their accrual entries
   (4-5 postings each), stored in batches: the rate is priced CDRs booked per second, split
   into pricing, accrual entries and storing; the CDR generator's own time and the building
   and insert of the sessions the CDRs are of are printed apart and not counted (issue 17: the
   bench's input, and the OCPP edge's work, not booking's);
2. real path (issue 17): ``--captured`` sessions stored as the OCPP edge stores them (samples,
   state changes, a stored tariff), then charged by ``charge_completed_sessions``, the use case
   of ``chargeledger invoice charge`` and of every invoice run: sessions and postings per second;
3. invoice run: ``run_invoices`` for the month over every account (one invoice per account,
   lines per charge, gap-free numbers, one entry per invoice), reporting documents by their
   headline as the CLI, API and office do (``--keep-lines``: with every line, as before);
4. baseline: the same kind of accrual postings, each posting inserted and committed on its
   own (how a naive integration books): postings per second on a sample.

Each phase prints its peak RSS (VmHWM, reset at the phase's start); booking and the invoice run
also print this process's CPU seconds, steadier than wall time on a shared machine (the SQLite
driver's thread is in them, the PostgreSQL server's work is not).

Usage: python bench/billing_run.py [--cdrs 1000000] [--accounts 10000] [--captured 100000]
       [--baseline 5000] [--keep-lines]
       [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import resource
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends import add_backend_options, on_each_backend
from captured_sessions import capture, stored_tariff
from pricing import ZONE, make_cdrs, tariff

from chargeledger.adapters.db.billing_tables import journal_entries, postings
from chargeledger.adapters.db.engine import create_engine
from chargeledger.adapters.db.repositories.charging import SqlSessionRepository
from chargeledger.adapters.db.repositories.ledger import _minor
from chargeledger.adapters.db.tables import sessions
from chargeledger.adapters.security import Argon2PasswordHasher
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.config.collector import collect_less_often
from chargeledger.domain.accounts import Account, AccountKind
from chargeledger.domain.billing import (
    DEFAULT_VAT_RATES,
    Charge,
    component_nets,
    vat_treatment,
)
from chargeledger.domain.catalog import Site
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.geo import Address
from chargeledger.domain.invoicing import Party
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.postings import charge_accrual
from chargeledger.domain.tariffs import price
from chargeledger.money import Currency, Money
from chargeledger.services import catalog
from chargeledger.services.billing.charges import charge_completed_sessions
from chargeledger.services.billing.invoicing import run_invoices

BATCH = 5000
SELLER = Party("Bench Charging GmbH", "Invalidenstr. 1", "10115", "Berlin", "DE", "DE136695976")
CLOCK_DAY = datetime(2026, 12, 1, 9, tzinfo=UTC)


class FixedClock:
    """Invoices are issued on 1 December for November: the run's date does not drift."""

    def now(self) -> datetime:
        return CLOCK_DAY


async def _world(runtime: Runtime, accounts: int) -> tuple[Site, uuid.UUID, list[Account]]:
    async with runtime.uow() as uow:
        site = await catalog.create_site(
            uow,
            runtime.clock,
            Site(
                "Bench Hub",
                Address("Am Hafen 1", "20457", "Hamburg", "DE"),
                Decimal("53.5"),
                Decimal("10.0"),
                ZONE,
            ),
        )
        station = await catalog.create_station(
            uow,
            runtime.clock,
            runtime.station_secrets,
            {"site_id": site.id, "charge_point_id": "BENCH-1", "vendor": "B", "model": "M"},
            "bench-station-password",
        )
        await uow.commit()
    made = []
    now = runtime.clock.now()
    async with runtime.uow() as uow:
        for i in range(accounts):
            account = Account(
                kind=AccountKind.INDIVIDUAL,
                name=f"Driver {i:05d}",
                email=f"driver{i}@example.org",
                billing_address=Address("Hauptstr. 1", "10115", "Berlin", "DE"),
                currency=Currency.of("EUR"),
                created_at=now,
                updated_at=now,
            )
            await uow.accounts.add(account)
            made.append(account)
        await uow.commit()
    return site, station.id, made


@dataclass
class Booking:
    """Where a booking's time went: pricing (``price()`` and the charge's figures), the
    accrual entries, and storing (sessions, charges, entries, postings, audit queue); the
    CDR generator's own time is kept out of the rate (it is the bench's input, not booking)."""

    seconds: float = 0.0
    cpu: float = 0.0
    postings: int = 0
    generating: float = 0.0
    sessions: float = 0.0
    pricing: float = 0.0
    accruing: float = 0.0
    storing: float = 0.0


async def generate(
    runtime: Runtime,
    engine_url: str,
    schema: str | None,
    cdrs: int,
    world: tuple[Site, uuid.UUID, list[Account]],
    booking: Booking | None = None,
) -> tuple[float, int]:
    """Price and book ``cdrs`` CDRs; returns (seconds, postings), the seconds without the
    CDR generator's (``booking``: the split)."""
    site, station_id, owners = world
    the_tariff = tariff()
    done = booking or Booking()
    engine = create_engine(engine_url, schema=schema)
    to_row = SqlSessionRepository(None).to_row  # type: ignore[arg-type]
    currency = Currency.of("EUR")
    vat = vat_treatment(DEFAULT_VAT_RATES, "DE", date(2026, 11, 2), "DE", None)
    try:
        for offset in range(0, cdrs, BATCH):
            mark = time.perf_counter()
            batch_cdrs = make_cdrs(min(BATCH, cdrs - offset), (3, 5), offset)
            inputs = time.perf_counter()
            done.generating += inputs - mark
            # The sessions the CDRs are of: the bench's input too (the OCPP edge's work),
            # built and inserted apart from the booking's time.
            batch_sessions = [
                Session(
                    station_id=station_id,
                    evse_id=1,
                    transaction_ref=str(offset + index),
                    ocpp_version="2.0.1",
                    started_at=cdr.start_date_time,
                    meter_start_wh=Decimal(0),
                    account_id=owners[(offset + index) % len(owners)].id,
                    payment_route=PaymentRoute.INVOICE,  # postpaid owners
                    status=SessionStatus.COMPLETED,
                    stopped_at=cdr.end_date_time,
                    meter_stop_wh=Decimal(0),  # set once priced, below
                    created_at=CLOCK_DAY,
                    updated_at=CLOCK_DAY,
                )
                for index, cdr in enumerate(batch_cdrs)
            ]
            started, cpu = time.perf_counter(), time.process_time()
            done.sessions += started - inputs
            results, charges = [], []
            for index, (cdr, session) in enumerate(zip(batch_cdrs, batch_sessions, strict=True)):
                owner = owners[(offset + index) % len(owners)]
                # November 2026, local time: the CDR generator starts on 2 November.
                result = price(cdr, the_tariff, ZONE)
                results.append(result)
                charges.append(
                    Charge(
                        session_id=session.id,
                        account_id=owner.id,
                        ad_hoc=False,
                        site_id=site.id,
                        site_name=site.name,
                        station_id=station_id,
                        station_name="BENCH-1",
                        evse_id=1,
                        country="DE",
                        time_zone=ZONE,
                        currency=currency,
                        started_at=cdr.start_date_time,
                        stopped_at=cdr.end_date_time,
                        energy_kwh=result.total_energy,
                        charging_hours=result.total_time - result.total_parking_time,
                        idle_hours=result.total_parking_time,
                        components=component_nets(result, currency),
                        vat=vat,
                        tariff_id=None,
                    )
                )
            priced = time.perf_counter()
            entries = [
                e
                for c in charges
                if (e := charge_accrual(c, c.stopped_at.astimezone(UTC).date())) is not None
            ]
            accrued, accrued_cpu = time.perf_counter(), time.process_time()
            session_rows = [
                to_row(dataclasses.replace(session, meter_stop_wh=result.total_energy * 1000))
                for session, result in zip(batch_sessions, results, strict=True)
            ]
            async with engine.begin() as connection:
                await connection.execute(insert(sessions), session_rows)
            seeded = time.perf_counter()
            sessions_cpu = time.process_time() - accrued_cpu
            async with runtime.uow() as uow:
                await uow.billing.add_charges(charges, CLOCK_DAY)
                await uow.ledger.add(entries, CLOCK_DAY)
                await uow.commit()
            stored = time.perf_counter()
            done.pricing += priced - started
            done.accruing += accrued - priced
            done.storing += stored - seeded
            done.sessions += seeded - accrued
            done.seconds += stored - started - (seeded - accrued)
            done.cpu += time.process_time() - cpu - sessions_cpu
            done.postings += sum(len(e.postings) for e in entries)
            count = offset + len(batch_cdrs)
            print(f"\r    generated {count:,}/{cdrs:,}", end="", flush=True)
    finally:
        await engine.dispose()
    print()
    return done.seconds, done.postings


def peak_rss_mib() -> float:
    """The process's peak resident set since the last ``reset_peak_rss`` (Linux: VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> None:
    """Start a phase's peak afresh (Linux >= 4.0: writing 5 to clear_refs resets VmHWM)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


async def real_path(
    runtime: Runtime,
    engine_url: str,
    schema: str | None,
    count: int,
    world: tuple[Site, uuid.UUID, list[Account]],
    args: argparse.Namespace,
) -> int:
    """Captured sessions charged by the use case ``chargeledger invoice charge`` runs;
    returns how many were charged."""
    _, station_id, owners = world
    tariff_id = await stored_tariff(runtime, CLOCK_DAY)
    await capture(engine_url, schema, count, station_id, tariff_id, owners, CLOCK_DAY)
    reset_peak_rss()
    async with runtime.uow() as uow:
        _, postings_before = await uow.ledger.count()
    started = time.perf_counter()
    result = await charge_completed_sessions(
        runtime.uow, runtime.clock, DEFAULT_VAT_RATES, ZONE, SELLER, charges_kept=args.lines_kept
    )
    seconds = time.perf_counter() - started
    async with runtime.uow() as uow:
        _, postings_after = await uow.ledger.count()
    booked = postings_after - postings_before
    print(
        f"  captured sessions charged {result.total:>7,} in {seconds:7.1f} s  "
        f"{result.total / seconds:>9,.0f} CDRs/s  {booked / seconds:>9,.0f} postings/s  "
        f"peak RSS {peak_rss_mib():,.0f} MiB  ({len(result.unpriced)} unpriced)"
    )
    return result.total


async def naive_baseline(engine_url: str, schema: str | None, count: int) -> float:
    """Accrual-like postings, each inserted and committed on its own: postings per second."""
    engine = create_engine(engine_url, schema=schema)
    try:
        started = time.perf_counter()
        entry_id = uuid.uuid4()
        async with engine.begin() as connection:
            await connection.execute(
                insert(journal_entries),
                {
                    "id": entry_id,
                    "kind": "adjustment",
                    "booked_on": date(2026, 11, 30),
                    "description": "naive baseline",
                    "source_type": "bench",
                    "source_id": str(entry_id),
                    "created_at": CLOCK_DAY,
                },
            )
        for line in range(1, count + 1):
            amount = Decimal("1.19") if line % 2 else Decimal("-1.19")
            async with engine.begin() as connection:
                await connection.execute(
                    insert(postings),
                    {
                        "entry_id": entry_id,
                        "line": line,
                        "account": "Assets:Bench",
                        "currency": "EUR",
                        "amount_minor": _minor(Money(amount, Currency.of("EUR"))),
                    },
                )
        return count / (time.perf_counter() - started)
    finally:
        await engine.dispose()


async def bench(
    label: str, url: str, schema: str | None, folder: Path, args: argparse.Namespace
) -> None:
    settings = Settings(data_dir=folder / label, database_url=url)
    runtime = build_runtime(
        settings,
        schema=schema,
        hasher=Argon2PasswordHasher(time_cost=1, memory_cost=1024),
        clock=FixedClock(),
    )
    try:
        await runtime.migrate()
        print(f"{label}:")
        world = await _world(runtime, args.accounts)
        booking = Booking()
        await generate(runtime, url, schema, args.cdrs, world, booking)
        seconds, booked = booking.seconds, booking.postings
        booked_rate = booked / seconds
        print(
            f"  priced CDRs booked     {args.cdrs:>10,} in {seconds:7.1f} s  "
            f"{args.cdrs / seconds:>9,.0f} CDRs/s  {booked_rate:>9,.0f} postings/s  "
            f"peak RSS {peak_rss_mib():,.0f} MiB  (CPU of this process {booking.cpu:.1f} s)"
        )
        print(
            f"    of which pricing {booking.pricing:.1f} s, accrual entries "
            f"{booking.accruing:.1f} s, storing {booking.storing:.1f} s; "
            f"not timed: CDR generation {booking.generating:.1f} s, the CDRs' sessions "
            f"built and inserted {booking.sessions:.1f} s"
        )
        charged = 0
        if args.captured:
            charged = await real_path(runtime, url, schema, args.captured, world, args)
        reset_peak_rss()
        started, cpu = time.perf_counter(), time.process_time()
        result = await run_invoices(
            runtime.uow, runtime.clock, SELLER, ZONE, "2026-11", lines_kept=args.lines_kept
        )
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        lines = args.cdrs + charged  # every charge of the month is billed
        run_postings = sum(3 if i.tax_total else 2 for i in result.issued)
        print(
            f"  invoice run            {len(result.issued):>10,} invoices, {lines:,} CDRs in "
            f"{seconds:7.1f} s  {lines / seconds:>9,.0f} CDRs/s  "
            f"{run_postings / seconds:>9,.0f} postings/s  peak RSS {peak_rss_mib():,.0f} MiB  "
            f"(CPU of this process {cpu:.1f} s)"
        )
        naive = await naive_baseline(url, schema, args.baseline)
        print(
            f"  naive baseline         {args.baseline:>10,} postings, one transaction each: "
            f"{naive:>9,.0f} postings/s"
        )
        print(f"  batched booking vs naive: {booked_rate / naive:.1f}x postings/s")
    finally:
        await runtime.aclose()


async def main(args: argparse.Namespace) -> None:
    async def run(label: str, url: str, schema: str | None, folder: Path) -> None:
        await bench(label, url, schema, folder, args)

    await on_each_backend(args, run, "billing")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cdrs", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=5_000)
    parser.add_argument(
        "--keep-lines",
        dest="lines_kept",
        action="store_true",
        help="the invoice run reports every document with its lines (as before issue 17)",
    )
    parser.add_argument(
        "--captured", type=int, default=100_000, help="captured sessions charged (0: none)"
    )
    add_backend_options(parser)
    arguments = parser.parse_args()
    collect_less_often()  # as the command line runs `invoice charge` and `invoice run`
    asyncio.run(main(arguments))
