"""Records written in bulk are hashed from the rows handed to the driver, not read back
(issue 17, ``audit_records.hash_written``): every queued or chained hash must be the one the
writers give for the record as stored (``hash_stored``, what ``audit verify`` recomputes), on
SQLite and on PostgreSQL, awkward texts and instants included."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select, union_all

from chargeledger.adapters.db.audit_records import hash_stored
from chargeledger.adapters.db.audit_tables import audit_chain, audit_pending
from chargeledger.bootstrap import Runtime
from chargeledger.domain.audit import RecordType
from chargeledger.domain.ledger import EntryKind, JournalEntry, Posting
from chargeledger.money import Money
from chargeledger.services.audit.auditor import verify
from tests.integration.audit_world import audit_world

AWKWARD = [
    'quote " backslash \\ slash /',
    "controls \x01\x08\t\n\x0b\x0c\r\x1b\x1f del \x7f",
    "Müller · €12 · 東京 · 🙂 · \u2028\u2029 · \ufeff",
    "x" * 300,
]


async def queued_hashes(runtime: Runtime, record_type: RecordType) -> dict[str, str]:
    """The content hash of every record of ``record_type`` in the queue or the chain."""
    query = union_all(
        select(audit_pending.c.record_id, audit_pending.c.content_hash).where(
            audit_pending.c.record_type == record_type.value
        ),
        select(audit_chain.c.record_id, audit_chain.c.content_hash).where(
            audit_chain.c.record_type == record_type.value
        ),
    )
    async with runtime._factory.engine.connect() as connection:
        return {row[0]: row[1] for row in await connection.execute(query)}


async def stored_hashes(runtime: Runtime, record_type: RecordType, ids: list[str]) -> dict:
    async with runtime._factory.engine.connect() as connection:
        keys = [uuid.UUID(record_id) for record_id in ids]
        return dict(await hash_stored(connection, record_type, keys))


async def test_bulk_written_records_hash_as_stored(runtime: Runtime) -> None:
    await audit_world(runtime)  # a month charged and invoiced, a credit note, a top-up
    berlin = timezone(timedelta(hours=1))
    entries = [
        JournalEntry(
            kind=EntryKind.ADJUSTMENT,
            booked_on=date(2026, 1, 31),
            description=text,
            postings=(
                Posting("Expenses:Bench", Money(Decimal("11.90"), "EUR")),
                Posting("Assets:Bank", Money(Decimal("-11.90"), "EUR")),
            ),
            source_type="manual",
            source_id=f"awkward-{n}",
            # an instant given in another zone, and one with microseconds
            created_at=datetime(2026, 1, 31, 23, 50, 0, n, tzinfo=berlin if n % 2 else UTC),
        )
        for n, text in enumerate(AWKWARD)
    ]
    async with runtime.uow() as uow:
        await uow.ledger.add(entries, datetime.now(UTC))
        await uow.commit()
    for record_type in (RecordType.JOURNAL_ENTRY, RecordType.INVOICE):
        queued = await queued_hashes(runtime, record_type)
        assert queued
        assert await stored_hashes(runtime, record_type, list(queued)) == queued
    assert {str(e.id) for e in entries} <= set(
        await queued_hashes(runtime, RecordType.JOURNAL_ENTRY)
    )
    report = await verify(runtime.auditor)
    assert report.ok, report.problems
