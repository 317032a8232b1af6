"""The checkpoint proof on invoices, receipts and credit notes (issue 15: "receipts and invoices
carry their record hash, and the checkpoint proof once the day is closed"), on SQLite and
PostgreSQL, in the real PDFs: before the day is closed a document prints its record hash and
says the proof comes once the day is closed; after ``close_days`` its download prints the
proof, whose path verifies against the printed Merkle root, which is the stored checkpoint's,
under the installation's signature; the QR code holds the same proof as JSON."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from chargeledger.adapters.documents.audit_annex import ANNEX_TITLE
from chargeledger.bootstrap import Runtime
from chargeledger.domain.audit import Checkpoint, RecordType
from chargeledger.domain.audit_proof import checkpoint_proof
from chargeledger.domain.identity import Role
from chargeledger.domain.invoicing import DocumentKind, Invoice
from chargeledger.services.audit.auditor import close_days, seal_all
from chargeledger.services.billing import invoice_documents
from chargeledger.services.transactions import reading
from tests.conftest import LoginAs
from tests.integration.audit_world import audit_world, chain_rows
from tests.integration.billing_world import FixedClock, all_documents, utc
from tests.integration.test_signed_annex import pdf_pages, qr_codes, qr_of
from tests.unit.documents.proof_pages import PENDING, PrintedProof, printed_proof, text_lines

DAY = utc("2026-02-02T00:00").date()


async def downloaded(client: httpx.AsyncClient, headers: dict[str, str], invoice: Invoice) -> bytes:
    response = await client.get(f"/api/v1/invoices/{invoice.id}/pdf", headers=headers)
    assert response.status_code == 200, response.text
    return response.content


async def stored_checkpoint(runtime: Runtime) -> Checkpoint:
    async with runtime.uow() as uow:
        checkpoint = await uow.audit.checkpoint(DAY)
    assert checkpoint is not None
    return checkpoint


def check_signature(runtime: Runtime, printed: PrintedProof) -> None:
    """The printed signature signs the checkpoint statement rebuilt from the printed fields,
    under the key the printed key id names (raises if not)."""
    public_key = runtime.auditor.signer.public_key
    assert hashlib.sha256(bytes.fromhex(public_key)).hexdigest() == printed.key_id
    statement = Checkpoint(
        DAY,
        printed.first_seq,
        printed.last_seq,
        printed.tree_size,
        printed.merkle_root,
        printed.key_id,
    )
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(
        bytes.fromhex(printed.signature), statement.message()
    )


async def test_an_invoice_carries_its_proof_once_its_day_is_closed(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    built = await audit_world(runtime)
    finance = await login_as(Role.FINANCE)
    invoice = built.invoice

    queued = " ".join(text_lines(await downloaded(client, finance, invoice)))
    assert "Record hash (SHA-256): " in queued
    assert PENDING in queued
    assert ANNEX_TITLE not in queued

    clock = FixedClock(utc("2026-02-02T18:00"))
    auditor = dataclasses.replace(runtime.auditor, clock=clock)
    await seal_all(auditor)
    [row] = [
        r
        for r in await chain_rows(runtime, RecordType.INVOICE)
        if r["record_id"] == str(invoice.id)
    ]
    chained = " ".join(text_lines(await downloaded(client, finance, invoice)))
    assert f"Record hash (SHA-256): {row['content_hash']}" in chained
    assert f"{PENDING} (2026-02-02, UTC)" in chained
    assert ANNEX_TITLE not in chained

    clock.current = utc("2026-02-03T00:05")
    await close_days(auditor, DAY)
    pdf = await downloaded(client, finance, invoice)
    text = " ".join(text_lines(pdf))
    assert f"Annex to {invoice.number}: {ANNEX_TITLE}" in text
    assert PENDING not in text
    printed = printed_proof(pdf)
    assert printed.proves_inclusion()
    checkpoint = await stored_checkpoint(runtime)
    assert printed.merkle_root == checkpoint.merkle_root
    assert (printed.first_seq, printed.last_seq, printed.tree_size) == (
        checkpoint.first_seq,
        checkpoint.last_seq,
        checkpoint.count,
    )
    assert (printed.content_hash, printed.chain_hash, printed.seq) == (
        row["content_hash"],
        row["chain_hash"],
        row["seq"],
    )
    check_signature(runtime, printed)

    # The QR code holds the proof as JSON, the same values the REST route answers.
    seal = await reading(runtime.uow, invoice_documents.document_seal, invoice)
    assert seal is not None
    proof = checkpoint_proof(seal)
    assert proof is not None
    assert qr_of(proof.json()) in qr_codes(pdf_pages(pdf)[-1])
    statement = json.loads(proof.json())
    rest = await client.get(f"/api/v1/audit/records/invoice/{invoice.id}", headers=finance)
    answer = rest.json()
    assert statement["proof"] == answer["proof"]
    assert statement["checkpoint"]["merkle_root"] == answer["checkpoint"]["merkle_root"]
    assert statement["checkpoint"]["signature"] == answer["checkpoint"]["signature"]
    assert statement["entry"]["chain_hash"] == answer["entry"]["chain_hash"]
    assert statement["proof"]["path"] == printed.path

    assert await downloaded(client, finance, invoice) == pdf  # the same bytes once closed


async def test_a_receipt_and_a_credit_note_carry_their_proofs(runtime: Runtime) -> None:
    built = await audit_world(runtime)
    clock = FixedClock(utc("2026-02-02T18:00"))
    auditor = dataclasses.replace(runtime.auditor, clock=clock)
    receipt = next(d for d in await all_documents(runtime) if d.kind is DocumentKind.RECEIPT)
    before = await reading(runtime.uow, invoice_documents.document_pdf, runtime.documents, receipt)
    assert PENDING in " ".join(text_lines(before))
    await seal_all(auditor)
    clock.current = utc("2026-02-03T00:05")
    await close_days(auditor, DAY)
    checkpoint = await stored_checkpoint(runtime)
    rows = {r["record_id"]: r for r in await chain_rows(runtime, RecordType.INVOICE)}
    seqs = set()
    for document in (receipt, built.credit_note):
        pdf = await reading(
            runtime.uow, invoice_documents.document_pdf, runtime.documents, document
        )
        assert f"Annex to {document.number}: {ANNEX_TITLE}" in " ".join(text_lines(pdf))
        printed = printed_proof(pdf)
        assert printed.proves_inclusion()
        assert printed.merkle_root == checkpoint.merkle_root
        assert printed.chain_hash == rows[str(document.id)]["chain_hash"]
        check_signature(runtime, printed)
        seqs.add(printed.seq)
    assert len(seqs) == 2
