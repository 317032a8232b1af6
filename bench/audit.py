"""Audit chain benchmark (issue 15: "its cost is measured in bench/: records verified per
second; target >= 200k/s"), on SQLite and on PostgreSQL, next to a baseline measured in the
same run: the bare read of the same rows, streamed the same way, with no conversion and no
hashing.

Phases, per back end, on a fresh database:
1. insert: N records in bulk, half journal entries of three postings each, half payment
   events (bulk inserts: this phase is set-up, not what is measured);
2. queue: each record hashed from its stored rows and queued, as the repositories do in the
   transaction that writes them (read back by id, 500 at a time);
3. seal: ``seal_all``, the sealer ``serve`` runs (5 000 records per transaction);
4. close: the day's checkpoint (Merkle root over N chain hashes, Ed25519 signature, file);
5. verify: ``audit verify`` (every record rehashed from its rows — on PostgreSQL by the
   server, on a second connection while the chain is walked —, every link and the day's
   Merkle root recomputed, the signature checked): records verified per second;
6. baseline: the chain and the records' rows streamed as the writers read them (one
   connection, one query after another), rows only counted.

Usage: python bench/audit.py [--records 200000]
       [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from backends import add_backend_options, on_each_backend
from sqlalchemy import insert

from chargeledger.adapters.db.audit_records import SOURCES
from chargeledger.adapters.db.billing_tables import journal_entries, postings
from chargeledger.adapters.db.payment_tables import payment_events, payments
from chargeledger.adapters.db.repositories.audit import queue_for_chain
from chargeledger.adapters.db.repositories.audit_snapshot import CHAIN_ROWS, SqlAuditSnapshots
from chargeledger.adapters.security import Argon2PasswordHasher
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.domain.audit import RecordType
from chargeledger.services.audit.auditor import close_days, seal_all, verify

BATCH = 10_000
DAY = date(2026, 11, 30)
AT = datetime(2026, 11, 30, 9, tzinfo=UTC)


class BenchClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


def entry_rows(count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    entries, lines = [], []
    for i in range(count):
        entry_id = uuid.uuid4()
        entries.append(
            {
                "id": entry_id,
                "kind": "charge_accrued",
                "booked_on": DAY,
                "description": f"Session {i} charged",
                "source_type": "charge",
                "source_id": str(uuid.uuid4()),
                "created_at": AT + timedelta(microseconds=i),
            }
        )
        for line, (account, minor) in enumerate(
            (
                (f"Assets:Receivable:Unbilled:{i % 5000:05d}", 1190),
                ("Income:Charging:Energy", -1000),
                ("Liabilities:VAT:DE", -190),
            ),
            1,
        ):
            lines.append(
                {
                    "entry_id": entry_id,
                    "line": line,
                    "account": account,
                    "currency": "EUR",
                    "amount_minor": minor,
                }
            )
    return entries, lines


def event_rows(count: int, payment_id: uuid.UUID) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.uuid4(),
            "payment_id": payment_id,
            "kind": "captured",
            "fact": f"captured:{i}",
            "amount": Decimal("11.90"),
            "operation": f"capture-{i}",
            "provider_ref": f"pi_{i:012d}",
            "detail": None,
            "at": AT + timedelta(microseconds=i),
        }
        for i in range(count)
    ]


async def insert_records(runtime: Runtime, records: int) -> dict[RecordType, list[Any]]:
    engine = runtime._factory.engine
    entries, lines = entry_rows(records // 2)
    payment_id = uuid.uuid4()
    events = event_rows(records - records // 2, payment_id)
    async with engine.begin() as connection:
        await connection.execute(
            insert(payments).values(
                id=payment_id,
                purpose="top_up",
                method="card",
                gateway="sandbox",
                currency="EUR",
                created_at=AT,
            )
        )
        tables = ((journal_entries, entries), (postings, lines), (payment_events, events))
        for table, rows in tables:
            for start in range(0, len(rows), BATCH):
                await connection.execute(insert(table), rows[start : start + BATCH])
    return {
        RecordType.JOURNAL_ENTRY: [e["id"] for e in entries],
        RecordType.PAYMENT_EVENT: [e["id"] for e in events],
    }


async def queue(runtime: Runtime, written: dict[RecordType, list[Any]]) -> None:
    engine = runtime._factory.engine
    for record_type, ids in written.items():
        for start in range(0, len(ids), BATCH):
            async with engine.begin() as connection:
                await queue_for_chain(connection, record_type, ids[start : start + BATCH])


async def bare_read(runtime: Runtime) -> int:
    """The floor: the same rows, streamed the same way in the same batches, only counted."""
    rows = 0
    async with SqlAuditSnapshots(runtime._factory.engine).open() as snapshot:
        dialect = runtime.database_backend
        records = [s.select(by_ids=False, dialect=dialect) for s in SOURCES.values()]
        for statement in (CHAIN_ROWS[dialect], *records):
            async for batch in snapshot.rows(statement):
                rows += len(batch)
    return rows


def line(what: str, seconds: float, count: int | None = None, unit: str = "records/s") -> None:
    rate = f"{count / seconds:>10,.0f} {unit}" if count else ""
    print(f"  {what:<28} {seconds:7.2f} s  {rate}")


async def bench(label: str, url: str, schema: str | None, records: int, folder: Path) -> None:
    settings = Settings.from_env(
        {"CHARGELEDGER_DATA_DIR": str(folder / label), "CHARGELEDGER_DATABASE_URL": url}
    )
    hasher = Argon2PasswordHasher(time_cost=1, memory_cost=1024)
    runtime = build_runtime(settings, schema=schema, hasher=hasher)
    try:
        await runtime.migrate()
        entries, events = records // 2, records - records // 2
        print(
            f"{label}: {records:,} records ({entries:,} journal entries with "
            f"{3 * entries:,} postings, {events:,} payment events)"
        )
        started = time.perf_counter()
        written = await insert_records(runtime, records)
        line("insert (bulk, set-up)", time.perf_counter() - started)
        started = time.perf_counter()
        await queue(runtime, written)
        line("queue (hashed at write)", time.perf_counter() - started, records)
        clock = BenchClock(AT)
        auditor = dataclasses.replace(runtime.auditor, clock=clock)
        started = time.perf_counter()
        sealed = await seal_all(auditor)
        line("seal", time.perf_counter() - started, sealed)
        clock.current = AT + timedelta(days=1)
        started = time.perf_counter()
        [(checkpoint, _)] = await close_days(auditor, DAY)
        line(f"close day ({checkpoint.count:,} leaves)", time.perf_counter() - started)
        started = time.perf_counter()
        report = await verify(auditor)
        verified = time.perf_counter() - started
        if not report.ok or report.records != records:
            raise SystemExit(f"verification failed: {report.problems[:3]}")
        line("verify", verified, report.records)
        if report.rechecked:
            print(f"  ({report.rechecked:,} records hashed again by the reference writers)")
        started = time.perf_counter()
        rows = await bare_read(runtime)
        bare = time.perf_counter() - started
        line(f"baseline: read {rows:,} rows", bare, report.records)
        print(f"  verify / bare read: {verified / bare:.1f}x the time of reading the rows")
    finally:
        await runtime.aclose()


async def main(args: argparse.Namespace) -> None:
    async def run(label: str, url: str, schema: str | None, folder: Path) -> None:
        await bench(label, url, schema, args.records, folder)

    await on_each_backend(args, run, "audit")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=200_000)
    add_backend_options(parser)
    asyncio.run(main(parser.parse_args()))
