"""PostgreSQL hashes the records ``audit verify`` reads (``adapters/db/audit_sql``): for every
record it hashes, the hash must be the one the Python writers give (the definition), and the
records whose values it cannot write plainly must come back NULL and be hashed by the writers.

The rows are the use cases' own (``audit_world``) plus awkward ones written by raw SQL: every
escape, non-ASCII text, empty and missing values, an entry without postings, postings stored out
of order, a negative amount, an instant past the year 9999.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

import pytest
from sqlalchemy import insert, select, text, update

from chargeledger.adapters.db.audit_records import SOURCES, hash_stored
from chargeledger.adapters.db.billing_tables import journal_entries, postings
from chargeledger.adapters.db.payment_tables import payment_events, payments
from chargeledger.adapters.db.repositories.audit import queue_for_chain, record_key
from chargeledger.adapters.db.repositories.audit_snapshot import SqlAuditSnapshots
from chargeledger.adapters.db.tables import signed_meter_values
from chargeledger.bootstrap import Runtime
from chargeledger.domain.audit import RecordType
from chargeledger.domain.audit_verification import ProblemKind
from chargeledger.services.audit.auditor import seal_all, verify
from tests.conftest import usable_backend
from tests.integration.audit_world import audit_world, tamper

AWKWARD = [
    "",
    'quote " backslash \\ slash /',
    "controls \x01\x08\t\n\x0b\x0c\r\x1b\x1f del \x7f",
    "Müller · €12 · 東京 · 🙂 · \u2028\u2029 · \ufeff",
    "x" * 300,
]
AT = datetime(2026, 1, 31, 22, 50, 0, 123456, tzinfo=UTC)


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: SQLite records are hashed by the writers alone."""
    return usable_backend(request.param)


async def awkward_rows(runtime: Runtime) -> dict[RecordType, list[Any]]:
    """Journal entries and payment events with every awkward value, queued for the chain as
    the repositories queue what they write."""
    entries, lines = [], []
    for n, awkward in enumerate(AWKWARD):
        entry_id = uuid.uuid4()
        entries.append(
            {
                "id": entry_id,
                "kind": "adjustment",
                "booked_on": date(2026, 1, 31),
                "description": awkward,
                "source_type": "manual",
                "source_id": f"awkward-{n}-{entry_id}",
                "created_at": AT,
            }
        )
        for line in reversed(range(1, n + 1)):  # none for the first; stored out of order
            lines.append(
                {
                    "entry_id": entry_id,
                    "line": line,
                    "account": f"Expenses:{awkward[:50]}",
                    "currency": "EUR",
                    "amount_minor": -line * 1190,
                }
            )
    payment_id = uuid.uuid4()
    events = [
        {
            "id": uuid.uuid4(),
            "payment_id": payment_id,
            "kind": "captured",
            "fact": f"fact-{n}",
            "amount": Decimal("12.5") if n % 2 else Decimal("-3.25"),  # negative: not plain
            "operation": awkward[:80] or None,
            "provider_ref": awkward[:255],
            "detail": None if n % 2 else awkward[:255],
            "at": AT,
        }
        for n, awkward in enumerate(AWKWARD)
    ]
    async with runtime._factory.engine.begin() as connection:
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
        await connection.execute(insert(journal_entries), entries)
        await connection.execute(insert(postings), lines)
        await connection.execute(insert(payment_events), events)
        await connection.execute(  # past the year 9999 (no Python datetime): not plain
            text("UPDATE payment_events SET at = at + interval '8000 years' WHERE id = :id"),
            {"id": events[0]["id"]},
        )
        written = {
            RecordType.JOURNAL_ENTRY: [e["id"] for e in entries],
            RecordType.PAYMENT_EVENT: [e["id"] for e in events],
        }
        for record_type, ids in written.items():
            await queue_for_chain(connection, record_type, ids)
    return written


async def server_and_writers(runtime: Runtime, record_type: RecordType) -> tuple[dict, dict]:
    """Every record's hash as the server gives it (NULL: not plain) and as the writers do."""
    source = SOURCES[record_type]
    statement = source.rendered_select("postgresql")
    assert statement is not None
    async with runtime._factory.engine.connect() as connection:
        server = {row[0]: row[1] for row in await connection.execute(statement)}
        keys = [record_key(record_type, record_id) for record_id in server]
        writers = dict(await hash_stored(connection, record_type, keys))
    return server, writers


async def test_the_server_hashes_as_the_writers_do_or_not_at_all(runtime: Runtime) -> None:
    world = await audit_world(runtime)
    written = await awkward_rows(runtime)
    await tamper(  # the signed value's texts made awkward too (this test compares, not chains)
        runtime,
        update(signed_meter_values)
        .where(signed_meter_values.c.id == world.signed_value_id)
        .values(data=AWKWARD[2] + AWKWARD[3], public_key=None, signing_method=""),
    )
    unplain = set()
    async with runtime._factory.engine.connect() as connection:
        query = select(payment_events.c.id).where(
            (payment_events.c.amount < Decimal(0))
            | (payment_events.c.at > datetime(9999, 12, 31, tzinfo=UTC))
        )
        unplain = {str(row[0]) for row in await connection.execute(query)}
    assert len(unplain) == 3
    for record_type in (RecordType.JOURNAL_ENTRY, RecordType.PAYMENT_EVENT):
        server, writers = await server_and_writers(runtime, record_type)
        assert len(server) >= len(written.get(record_type, [])) > 0
        for record_id, digest in server.items():
            if record_id in unplain:
                assert digest is None, record_id
            else:
                assert digest == writers[record_id], record_id
    server, writers = await server_and_writers(runtime, RecordType.SIGNED_METER_VALUE)
    assert server == writers
    assert len(server) == 1
    assert SOURCES[RecordType.INVOICE].rendered_select("postgresql") is None  # JSON columns


async def test_records_the_server_cannot_hash_are_verified_by_the_writers(
    runtime: Runtime,
) -> None:
    written = await awkward_rows(runtime)
    assert await seal_all(runtime.auditor) == 10
    clean = await verify(runtime.auditor)
    assert clean.ok, clean.problems
    assert (clean.records, clean.rechecked) == (10, 0)
    negative = written[RecordType.PAYMENT_EVENT][0]  # -3.25, and past the year 9999
    await tamper(
        runtime,
        update(payment_events)
        .where(payment_events.c.id == negative)
        .values(amount=Decimal("-3.26")),
    )
    report = await verify(runtime.auditor)
    assert report.first is not None
    assert (report.first.kind, report.first.record_id) == (ProblemKind.CHANGED, str(negative))
    assert sum(report.counts.values()) == 1


async def test_an_edit_the_server_finds_is_confirmed_by_the_writers(runtime: Runtime) -> None:
    written = await awkward_rows(runtime)
    await seal_all(runtime.auditor)
    entry = written[RecordType.JOURNAL_ENTRY][3]
    await tamper(
        runtime,
        update(postings)
        .where((postings.c.entry_id == entry) & (postings.c.line == 2))
        .values(amount_minor=-2379),
    )
    report = await verify(runtime.auditor)
    assert report.first is not None
    assert (report.first.kind, report.first.record_id) == (ProblemKind.CHANGED, str(entry))
    assert report.rechecked == 1
    assert sum(report.counts.values()) == 1


async def test_the_records_are_read_in_the_chains_snapshot(runtime: Runtime) -> None:
    """Records committed while a verification's snapshot is open are not seen by it, on the
    second connection that reads the records either."""
    await awkward_rows(runtime)
    await seal_all(runtime.auditor)
    async with SqlAuditSnapshots(runtime._factory.engine).open() as snapshot:
        await awkward_rows(runtime)  # committed after the snapshot was taken
        seen = 0
        async for batch in snapshot.digests(RecordType.JOURNAL_ENTRY):
            seen += len(batch)
    assert seen == len(AWKWARD)


async def test_the_server_escapes_strings_as_the_writers_do(runtime: Runtime) -> None:
    """``to_json`` of a text against ``json.dumps(ensure_ascii=False)``'s escaping, over
    every code point below U+0800 and the awkward ones above (NUL cannot be stored)."""
    points = [*range(1, 0x800), 0x2028, 0x2029, 0xFEFF, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF]
    texts = [f'{chr(point)}a\\"' for point in points]
    async with runtime._factory.engine.connect() as connection:
        raw: Any = (await connection.get_raw_connection()).driver_connection
        found = await raw.fetch("SELECT x, to_json(x)::text FROM unnest($1::text[]) x", texts)
    assert len(found) == len(texts)
    assert [row[1] for row in found if row[1] != encode_basestring(row[0])] == []
