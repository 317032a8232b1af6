"""Closed days (issue 15): the signed checkpoint of a day's chain entries, its file, the
record routes of the REST API with their Merkle inclusion proof, and what only a checkpoint
(or an auditor's copy of its file) can catch: a chain rewritten after an edit."""

from __future__ import annotations

import dataclasses
import json
import shutil
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import delete, select, update

from chargeledger.adapters.db.audit_tables import audit_chain, audit_checkpoints
from chargeledger.adapters.db.payment_tables import payment_events
from chargeledger.bootstrap import Runtime
from chargeledger.domain.audit import RecordType, chain_hash
from chargeledger.domain.audit_merkle import proves_inclusion
from chargeledger.domain.audit_verification import CHECKPOINT, ProblemKind
from chargeledger.domain.identity import Role
from chargeledger.errors import InvalidInputError
from chargeledger.services.audit.auditor import Auditor, close_days, seal_all, verify
from chargeledger.services.audit.sealing import close_day
from chargeledger.services.transactions import in_transaction
from tests.conftest import LoginAs
from tests.integration.audit_world import AuditWorld, audit_world, chain_rows, tamper
from tests.integration.billing_world import FixedClock, utc

API = "/api/v1/audit"
DAY = utc("2026-02-02T00:00").date()


async def closed_world(runtime: Runtime) -> tuple[AuditWorld, Auditor, FixedClock]:
    """Everything sealed on 2 February, and that day closed on the 3rd."""
    built = await audit_world(runtime)
    clock = FixedClock(utc("2026-02-02T18:00"))
    auditor = dataclasses.replace(runtime.auditor, clock=clock)
    assert await seal_all(auditor) > 0
    clock.current = utc("2026-02-03T00:05")
    [(checkpoint, path)] = await close_days(auditor, DAY)
    assert (checkpoint.day, checkpoint.first_seq) == (DAY, 1)
    assert path.name == "2026-02-02.json"
    return built, auditor, clock


async def test_a_day_is_closed_once_with_a_signed_root_and_a_file(runtime: Runtime) -> None:
    _, auditor, clock = await closed_world(runtime)
    async with runtime.uow() as uow:
        entries = await uow.audit.entries_of(DAY)
        [checkpoint] = (await uow.audit.checkpoints(limit=10, offset=0)).items
    assert checkpoint.count == len(entries) == checkpoint.last_seq
    signer = auditor.signer
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(signer.public_key))
    public.verify(bytes.fromhex(checkpoint.signature), checkpoint.message())  # raises if not
    [kept] = auditor.archive.read()
    assert kept.checkpoint == dataclasses.replace(checkpoint, created_at=None)
    assert kept.public_key == signer.public_key
    document = json.loads(
        (runtime.settings.data_dir / "audit/checkpoints/2026-02-02.json").read_text()
    )
    assert document["signed_message"].encode() == checkpoint.message()
    key_file = runtime.settings.data_dir / "audit/checkpoint-key.pem"
    assert key_file.stat().st_mode & 0o077 == 0

    again = await in_transaction(runtime.uow, close_day, clock, signer, DAY)
    assert again == checkpoint
    with pytest.raises(InvalidInputError) as refused:
        await in_transaction(runtime.uow, close_day, clock, signer, clock.now().date())
    assert refused.value.code == "day_not_over"
    # Sealed after the day was closed: onto a later day, never onto the closed one.
    clock.current = utc("2026-02-02T20:00")  # a node whose clock is behind
    async with runtime.uow() as uow:
        event = (await uow.payments.all())[0]
        await uow.payments.record(
            dataclasses.replace(
                (await uow.payments.events(event.id))[0], id=uuid.uuid4(), fact="late"
            )
        )
        await uow.commit()
    assert await seal_all(auditor) == 1
    [late] = (await chain_rows(runtime, RecordType.PAYMENT_EVENT))[-1:]
    assert late["day"] == DAY + timedelta(days=1)
    assert (await verify(auditor)).ok


async def test_a_record_and_its_inclusion_proof_over_the_api(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    built, _, _ = await closed_world(runtime)
    finance = await login_as(Role.FINANCE)
    response = await client.get(f"{API}/records/invoice/{built.invoice.id}", headers=finance)
    assert response.status_code == 200, response.text
    seal = response.json()
    assert seal["status"] == "checkpointed"
    assert seal["intact"] is True
    assert seal["content_hash"] == seal["current_hash"]
    entry, checkpoint, proof = seal["entry"], seal["checkpoint"], seal["proof"]
    assert entry["chain_hash"] == chain_hash(entry["prev_hash"], seal["content_hash"])
    assert proves_inclusion(
        bytes.fromhex(proof["leaf_data"]),
        proof["leaf_index"],
        proof["tree_size"],
        [bytes.fromhex(node) for node in proof["path"]],
        bytes.fromhex(checkpoint["merkle_root"]),
    )
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(checkpoint["public_key"]))
    public.verify(bytes.fromhex(checkpoint["signature"]), checkpoint["signed_message"].encode())

    listed = await client.get(f"{API}/checkpoints", headers=finance)
    assert [c["day"] for c in listed.json()["items"]] == ["2026-02-02"]
    signed = await client.get(
        f"{API}/records/signed_meter_value/{built.signed_value_id}", headers=finance
    )
    assert signed.json()["status"] == "checkpointed"
    unknown = await client.get(f"{API}/records/charge/{uuid.uuid4()}", headers=finance)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "unknown_record_type")
    missing = await client.get(f"{API}/records/invoice/{uuid.uuid4()}", headers=finance)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "audit_record_not_found")
    garbage = await client.get(f"{API}/records/payment_event/not-an-id", headers=finance)
    assert garbage.status_code == 404

    await tamper(
        runtime,
        update(payment_events).values(detail="edited"),
    )
    event_row = (await chain_rows(runtime, RecordType.PAYMENT_EVENT))[0]
    edited = await client.get(
        f"{API}/records/payment_event/{event_row['record_id']}", headers=finance
    )
    assert edited.json()["intact"] is False


async def rewrite_from(runtime: Runtime, seq: int, content: str) -> None:
    """What someone who edits a record and wants the links to hold must do: give its entry
    the new content hash and recompute every chain hash after it."""
    async with runtime._factory.engine.begin() as connection:
        rows = list(
            (
                await connection.execute(
                    select(audit_chain)
                    .where(audit_chain.c.seq >= seq - 1)
                    .order_by(audit_chain.c.seq)
                )
            ).mappings()
        )
        previous = rows[0]["chain_hash"] if rows[0]["seq"] == seq - 1 else "0" * 64
        for row in rows:
            if row["seq"] < seq:
                continue
            digest = content if row["seq"] == seq else row["content_hash"]
            linked = chain_hash(previous, digest)
            await connection.execute(
                update(audit_chain)
                .where(audit_chain.c.seq == row["seq"])
                .values(content_hash=digest, prev_hash=previous, chain_hash=linked)
            )
            previous = linked


async def test_a_rewritten_chain_is_caught_by_the_signed_checkpoint(runtime: Runtime) -> None:
    await closed_world(runtime)
    row = (await chain_rows(runtime, RecordType.PAYMENT_EVENT))[0]
    await tamper(
        runtime,
        update(payment_events)
        .where(payment_events.c.id == uuid.UUID(row["record_id"]))
        .values(detail="edited"),
    )
    changed = await verify(runtime.auditor)
    assert changed.first is not None
    assert (changed.first.kind, changed.first.record_id) == (ProblemKind.CHANGED, row["record_id"])
    async with runtime.uow() as uow:
        hashes = await uow.audit.content_hashes(RecordType.PAYMENT_EVENT, [row["record_id"]])
    await rewrite_from(runtime, row["seq"], hashes[row["record_id"]])
    report = await verify(runtime.auditor)
    assert report.first is not None
    assert (report.first.kind, report.first.record_type, report.first.record_id) == (
        ProblemKind.CHANGED,
        CHECKPOINT,
        "2026-02-02 (database)",
    )


async def test_an_auditors_files_catch_what_the_database_no_longer_shows(
    runtime: Runtime, tmp_path: Path
) -> None:
    """With the key (it is on the server) the database's checkpoint can be signed again
    after a rewrite, or deleted; the files kept elsewhere still hold the chain to the day."""
    _, auditor, _ = await closed_world(runtime)
    kept = tmp_path / "auditor"
    shutil.copytree(runtime.settings.data_dir / "audit/checkpoints", kept)
    assert (await verify(auditor, kept)).ok

    await tamper(runtime, delete(audit_checkpoints))
    report = await verify(auditor, kept)
    assert report.first is not None
    assert (report.first.kind, report.first.record_id) == (
        ProblemKind.DELETED,
        "2026-02-02 (database)",
    )

    row = (await chain_rows(runtime, RecordType.JOURNAL_ENTRY))[1]
    await rewrite_from(runtime, row["seq"], "ab" * 32)
    resigned = await close_days(auditor, DAY)  # the day closed again over the rewritten chain
    assert resigned
    report = await verify(auditor, kept)
    assert report.first is not None
    assert (report.first.kind, report.first.record_type, report.first.record_id) == (
        ProblemKind.CHANGED,
        "journal_entry",
        row["record_id"],
    )  # the record no longer matches the (rewritten) entry
    files = [p.record_id for p in report.problems if p.record_type == CHECKPOINT]
    assert files == ["2026-02-02 (file 2026-02-02.json)"]


async def test_a_damaged_checkpoint_file_is_reported(runtime: Runtime, tmp_path: Path) -> None:
    _, auditor, _ = await closed_world(runtime)
    kept = tmp_path / "auditor"
    shutil.copytree(runtime.settings.data_dir / "audit/checkpoints", kept)
    (kept / "2026-02-02.json").write_text("{not json")
    report = await verify(auditor, kept)
    assert report.first is not None
    assert report.first.record_id == "file 2026-02-02.json"
    forged = json.loads(
        (runtime.settings.data_dir / "audit/checkpoints/2026-02-02.json").read_text()
    )
    forged["merkle_root"] = "00" * 32
    (kept / "2026-02-02.json").write_text(json.dumps(forged))
    report = await verify(auditor, kept)
    assert report.counts == {ProblemKind.CHANGED: 2}  # its signature, and its root
