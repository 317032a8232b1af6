"""Bulk inserts of many rows (``repositories.bulk``): on PostgreSQL from ``COPY_FROM`` rows
on, PostgreSQL's binary COPY instead of a prepared INSERT per row (issue 17). Whichever way
the rows go, the records read back are the ones written, their audit hashes are those of the
stored records, and a violated key is the project's ``DuplicateError`` inside a savepoint:
the transaction goes on and keeps what it wrote before."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from chargeledger.adapters.db.repositories.bulk import COPY_FROM
from chargeledger.bootstrap import Runtime
from chargeledger.domain.audit import RecordType
from chargeledger.domain.ledger import EntryKind, JournalEntry, Posting
from chargeledger.errors import DuplicateError
from chargeledger.money import Money
from tests.integration.test_audit_written_hashes import AWKWARD, queued_hashes, stored_hashes

BERLIN = timezone(timedelta(hours=1))


def entries(count: int, prefix: str) -> list[JournalEntry]:
    """``count`` entries of two postings each, with awkward texts, cents of every kind and
    instants given in two zones."""
    return [
        JournalEntry(
            kind=EntryKind.ADJUSTMENT,
            booked_on=date(2026, 11, 1) + timedelta(days=n % 30),
            description=f"{AWKWARD[n % len(AWKWARD)]} #{n}",
            postings=(
                Posting(f"Expenses:Bench:{n % 7}", Money(Decimal(n) / 100 + 1, "EUR")),
                Posting("Assets:Bank", Money(-(Decimal(n) / 100 + 1), "EUR")),
            ),
            source_type="manual",
            source_id=f"{prefix}-{n}",
            created_at=datetime(2026, 11, 30, 23, 59, 59, n, tzinfo=BERLIN if n % 2 else UTC),
        )
        for n in range(count)
    ]


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables asyncpg copied rows into (its COPY is watched, not replaced)."""
    copied: list[str] = []
    original = asyncpg.Connection.copy_records_to_table

    async def watched(self: asyncpg.Connection, table_name: str, **kwargs: Any) -> Any:
        copied.append(table_name)
        return await original(self, table_name, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "copy_records_to_table", watched)
    return copied


async def test_many_rows_read_back_and_hash_as_written(
    runtime: Runtime, backend: str, copies: list[str]
) -> None:
    written = entries(COPY_FROM, "many")  # COPY_FROM entries, twice as many postings
    async with runtime.uow() as uow:
        await uow.ledger.add(written, datetime.now(UTC))
        await uow.commit()
    expected = ["journal_entries", "postings", "audit_pending"]  # the entries' hashes queued
    assert copies == (expected if backend == "postgresql" else [])
    async with runtime.uow() as uow:
        stored = await uow.ledger.entries(ids=[e.id for e in written])
    assert sorted(stored, key=lambda e: e.source_id) == sorted(
        [entry_as_stored(e) for e in written], key=lambda e: e.source_id
    )
    queued = await queued_hashes(runtime, RecordType.JOURNAL_ENTRY)
    assert {str(e.id) for e in written} <= set(queued)
    assert await stored_hashes(runtime, RecordType.JOURNAL_ENTRY, list(queued)) == queued


async def test_a_violated_key_is_a_duplicate_and_the_transaction_goes_on(
    runtime: Runtime,
) -> None:
    first, again = entries(COPY_FROM, "first"), entries(COPY_FROM, "first")
    other = entries(COPY_FROM + 5, "other")
    async with runtime.uow() as uow:
        await uow.ledger.add(first, datetime.now(UTC))
        with pytest.raises(DuplicateError):  # the same (kind, source) booked twice
            await uow.ledger.add(again, datetime.now(UTC))
        await uow.ledger.add(other, datetime.now(UTC))
        await uow.commit()
    async with runtime.uow() as uow:
        assert await uow.ledger.count() == (2 * COPY_FROM + 5, 2 * (2 * COPY_FROM + 5))


def entry_as_stored(entry: JournalEntry) -> JournalEntry:
    """``entry`` as a read gives it back: its instant in UTC."""
    assert entry.created_at is not None
    return JournalEntry(
        kind=entry.kind,
        booked_on=entry.booked_on,
        description=entry.description,
        postings=entry.postings,
        source_type=entry.source_type,
        source_id=entry.source_id,
        id=entry.id,
        created_at=entry.created_at.astimezone(UTC),
    )
