"""The tamper-evident chain on SQLite and PostgreSQL (issue 15, Done when: "``audit verify``
detects an edited amount, a deleted row, an inserted row and a re-ordered pair").

Real records are made through the use cases (``audit_world``: an invoice run, a credit note, a
wallet top-up through the sandbox PSP, accruals, a signed meter value), sealed, and verified
clean; then each is tampered with by raw SQL, past every repository, and ``audit verify``
must name the first record that was changed, deleted, inserted or reordered.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import delete, insert, select, update

from chargeledger.adapters.db.audit_tables import audit_chain
from chargeledger.adapters.db.billing_tables import invoice_lines, journal_entries, postings
from chargeledger.adapters.db.payment_tables import payment_events
from chargeledger.bootstrap import Runtime
from chargeledger.domain.audit import RecordType, canonical_json
from chargeledger.domain.audit_verification import AuditReport, ProblemKind
from chargeledger.domain.ledger import EntryKind, JournalEntry, Posting
from chargeledger.domain.payments import (
    EventKind,
    Payment,
    PaymentEvent,
    PaymentMethodKind,
    PaymentPurpose,
)
from chargeledger.money import Currency, Money
from chargeledger.services.audit.auditor import seal_all, verify
from chargeledger.services.billing import books
from chargeledger.services.transactions import reading
from tests.integration.audit_world import AuditWorld, audit_world, chain_rows, chained, tamper
from tests.integration.billing_world import utc

EUR = Currency.of("EUR")


def first(report: AuditReport) -> tuple[ProblemKind, str, str, int | None]:
    problem = report.first
    assert problem is not None, "the tampering went unnoticed"
    return problem.kind, problem.record_type, problem.record_id, problem.seq


async def sealed_world(runtime: Runtime) -> AuditWorld:
    built = await audit_world(runtime)
    assert await seal_all(runtime.auditor) > 0
    return built


async def test_records_made_by_the_use_cases_are_chained_and_verify_clean(
    runtime: Runtime,
) -> None:
    built = await audit_world(runtime)
    async with runtime.uow() as uow:
        queued = await uow.audit.queued(10_000)
    assert {q.record_type for q in queued} == {t.value for t in RecordType}
    assert all(q.content_hash for q in queued), "hashed in the transaction that wrote them"
    assert (await verify(runtime.auditor)).ok  # queued, not yet chained: nothing is wrong

    assert await seal_all(runtime.auditor) == len(queued)
    assert await seal_all(runtime.auditor) == 0
    counts = await chained(runtime)
    assert set(counts) == {t.value for t in RecordType}
    assert counts[RecordType.SIGNED_METER_VALUE] == 1  # the replay was not chained again
    async with runtime.uow() as uow:
        entries, _ = await uow.ledger.count()
    assert counts[RecordType.JOURNAL_ENTRY] == entries

    report = await verify(runtime.auditor)
    assert report.ok, report.problems
    assert report.entries == report.records == sum(counts.values())
    assert report.pending == 0
    rows = await chain_rows(runtime, RecordType.INVOICE)
    assert str(built.credit_note.id) in {row["record_id"] for row in rows}


async def test_an_amount_doubled_on_both_legs(runtime: Runtime) -> None:
    """The issue's example: both legs of an entry changed alike still balance, so the
    ledger check passes; the chain names the entry."""
    await sealed_world(runtime)
    row = (await chain_rows(runtime, RecordType.JOURNAL_ENTRY))[3]
    entry_id = uuid.UUID(row["record_id"])
    await tamper(
        runtime,
        update(postings)
        .where(postings.c.entry_id == entry_id)
        .values(amount_minor=postings.c.amount_minor * 2),
    )
    check = await reading(runtime.uow, books.checked_ledger)
    assert check.problems == []
    report = await verify(runtime.auditor)
    assert first(report) == (ProblemKind.CHANGED, "journal_entry", str(entry_id), row["seq"])
    assert report.counts == {ProblemKind.CHANGED: 1}


async def test_an_issued_invoice_line_edited(runtime: Runtime) -> None:
    built = await sealed_world(runtime)
    await tamper(
        runtime,
        update(invoice_lines)
        .where(invoice_lines.c.invoice_id == built.invoice.id, invoice_lines.c.position == 1)
        .values(description="Charging (corrected by hand)"),
    )
    [row] = [
        r
        for r in await chain_rows(runtime, RecordType.INVOICE)
        if r["record_id"] == str(built.invoice.id)
    ]
    assert first(await verify(runtime.auditor)) == (
        ProblemKind.CHANGED,
        "invoice",
        str(built.invoice.id),
        row["seq"],
    )


async def test_a_payment_event_deleted(runtime: Runtime) -> None:
    await sealed_world(runtime)
    row = (await chain_rows(runtime, RecordType.PAYMENT_EVENT))[-1]
    await tamper(
        runtime, delete(payment_events).where(payment_events.c.id == uuid.UUID(row["record_id"]))
    )
    report = await verify(runtime.auditor)
    assert first(report) == (ProblemKind.DELETED, "payment_event", row["record_id"], row["seq"])
    assert report.counts == {ProblemKind.DELETED: 1}


async def test_a_journal_entry_inserted(runtime: Runtime) -> None:
    await sealed_world(runtime)
    forged = uuid.uuid4()
    await tamper(
        runtime,
        insert(journal_entries).values(
            id=forged,
            kind="adjustment",
            booked_on=date(2026, 1, 31),
            description="Goodwill",
            source_type="manual",
            source_id="x",
            created_at=utc("2026-02-02T09:00"),
        ),
        insert(postings).values(
            [
                {
                    "entry_id": forged,
                    "line": 1,
                    "account": "Expenses:Goodwill",
                    "currency": "EUR",
                    "amount_minor": 500,
                },
                {
                    "entry_id": forged,
                    "line": 2,
                    "account": "Assets:Bank",
                    "currency": "EUR",
                    "amount_minor": -500,
                },
            ]
        ),
    )
    report = await verify(runtime.auditor)
    assert first(report) == (ProblemKind.INSERTED, "journal_entry", str(forged), None)
    assert report.counts == {ProblemKind.INSERTED: 1}


async def test_two_chain_rows_swapped(runtime: Runtime) -> None:
    """Positions 3 and 7 trade places (each row keeps its hashes): the entry now at #3 was
    chained after #6, and is named."""
    await sealed_world(runtime)
    async with runtime._factory.engine.connect() as connection:
        seventh = (
            await connection.execute(select(audit_chain.c.record_id).where(audit_chain.c.seq == 7))
        ).scalar_one()
    await tamper(
        runtime,
        update(audit_chain).where(audit_chain.c.seq == 3).values(seq=-3),
        update(audit_chain).where(audit_chain.c.seq == 7).values(seq=3),
        update(audit_chain).where(audit_chain.c.seq == -3).values(seq=7),
    )
    report = await verify(runtime.auditor)
    kind, _, record_id, seq = first(report)
    assert (kind, record_id, seq) == (ProblemKind.REORDERED, seventh, 3)
    assert set(report.counts) == {ProblemKind.REORDERED}


async def test_a_record_changed_before_it_was_chained(runtime: Runtime) -> None:
    """Its hash was taken when it was written: an edit while it waits for the sealer shows."""
    await audit_world(runtime)
    async with runtime._factory.engine.connect() as connection:
        event_id = (await connection.execute(select(payment_events.c.id).limit(1))).scalar_one()
    await tamper(
        runtime,
        update(payment_events).where(payment_events.c.id == event_id).values(detail="edited"),
    )
    assert first(await verify(runtime.auditor)) == (
        ProblemKind.CHANGED,
        "payment_event",
        str(event_id),
        None,
    )


async def test_records_hash_as_the_readme_defines_them_on_both_back_ends(
    runtime: Runtime,
) -> None:
    """The README's example records, written through the repositories: the hash taken at
    write time is SHA-256 of exactly the canonical JSON written out below, on SQLite and on
    PostgreSQL alike (UUIDs, instants, decimals at their scale, escapes, nulls)."""
    written = datetime(2026, 1, 31, 23, 50, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    entry = JournalEntry(
        kind=EntryKind.ADJUSTMENT,
        booked_on=date(2026, 1, 31),
        description='Goodwill for "Müller"\n',
        postings=(
            Posting("Expenses:Goodwill", Money(Decimal("5.00"), EUR)),
            Posting("Assets:Bank", Money(Decimal("-5.00"), EUR)),
        ),
        source_type="manual",
        source_id="note-1",
        id=uuid.UUID("0f0e0d0c-0b0a-4908-8706-050403020100"),
        created_at=written,
    )
    payment = Payment(
        PaymentPurpose.TOP_UP,
        PaymentMethodKind.CARD,
        "sandbox",
        EUR,
        id=uuid.UUID("11111111-2222-4333-8444-555555555555"),
        created_at=utc("2026-01-31T22:00"),
    )
    event = PaymentEvent(
        payment.id,
        EventKind.CAPTURED,
        "captured",
        utc("2026-01-31T22:01"),
        Decimal("20.5"),
        provider_ref="pi_1",
        id=uuid.UUID("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"),
    )
    async with runtime.uow() as uow:
        await uow.ledger.add([entry], written)
        await uow.payments.add(payment, utc("2026-01-31T22:00"))
        await uow.payments.record(event)
        await uow.commit()
    expected = {
        "journal_entry": (
            '{"record":{"booked_on":"2026-01-31","created_at":"2026-01-31T22:50:00.123456Z",'
            '"description":"Goodwill for \\"Müller\\"\\n","id":"0f0e0d0c-0b0a-4908-8706-0504030'
            '20100","kind":"adjustment","postings":[{"account":"Expenses:Goodwill","amount_minor":'
            '500,"currency":"EUR","line":1},{"account":"Assets:Bank","amount_minor":-500,'
            '"currency":"EUR","line":2}],"source_id":"note-1","source_type":"manual"},'
            '"type":"journal_entry"}'
        ),
        "payment_event": (
            '{"record":{"amount":"20.5000","at":"2026-01-31T22:01:00.000000Z","detail":null,'
            '"fact":"captured","id":"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee","kind":"captured",'
            '"operation":null,"payment_id":"11111111-2222-4333-8444-555555555555",'
            '"provider_ref":"pi_1"},"type":"payment_event"}'
        ),
    }
    async with runtime.uow() as uow:
        for record_type, record_id in (
            ("journal_entry", str(entry.id)),
            ("payment_event", str(event.id)),
        ):
            queued = await uow.audit.queued_record(record_type, record_id)
            assert queued is not None
            body = expected[record_type].encode()
            assert json.loads(body)  # the example is JSON, and canonical:
            assert canonical_json(json.loads(body)) == body
            assert queued.content_hash == hashlib.sha256(body).hexdigest(), record_type
