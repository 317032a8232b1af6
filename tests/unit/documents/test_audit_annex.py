"""The checkpoint proof on the printed documents (issue 15), from seals built here over a real
Merkle tree: the proof printed on the last page verifies with what the page shows; before the
day is closed the document says when the proof becomes available; a day of millions of entries
still fits its QR code; and the e-invoice is the same with or without the proof."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, date, datetime

import facturx  # type: ignore[import-untyped]

from chargeledger.adapters.documents import facturx_pdf, invoice_pdf
from chargeledger.adapters.documents.audit_annex import ANNEX_TITLE
from chargeledger.domain.audit import GENESIS, Checkpoint, RecordSeal, RecordType, link
from chargeledger.domain.audit_merkle import inclusion_proof, merkle_root
from chargeledger.domain.audit_proof import PROOF_TYPE, checkpoint_proof
from chargeledger.domain.invoicing import Invoice
from tests.unit.documents import invoices
from tests.unit.documents.proof_pages import PENDING, printed_proof, text_lines

DAY = date(2026, 11, 2)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sealed(invoice: Invoice, entries: int = 11, position: int = 6) -> RecordSeal:
    """``invoice`` as entry ``position`` (from 1) of a closed day of ``entries`` entries."""
    records = [
        (RecordType.INVOICE.value, str(invoice.id) if n == position else f"r{n}", digest(str(n)))
        for n in range(1, entries + 1)
    ]
    chain = link(None, records, datetime(2026, 11, 2, 8, tzinfo=UTC), DAY)
    leaves = [bytes.fromhex(e.chain_hash) for e in chain]
    checkpoint = Checkpoint(
        DAY, 1, entries, entries, merkle_root(leaves).hex(), digest("key"), digest("sig") * 2
    )
    index = position - 1
    path = tuple(node.hex() for node in inclusion_proof(leaves, index))
    entry = chain[index]
    return RecordSeal(
        RecordType.INVOICE, str(invoice.id), entry.content_hash, entry, checkpoint, index, path
    )


def test_the_printed_proof_verifies_against_the_printed_root() -> None:
    invoice = invoices.documents()["driver"]
    seal = sealed(invoice)
    pdf = invoice_pdf(invoice, seal=seal)
    joined = " ".join(text_lines(pdf))
    assert f"Annex to {invoice.number}: {ANNEX_TITLE}" in joined
    printed = printed_proof(pdf)
    assert printed.proves_inclusion()
    assert (printed.seq, printed.tree_size, printed.leaf_index, len(printed.path)) == (6, 11, 5, 4)
    assert seal.checkpoint is not None
    assert (printed.merkle_root, printed.signature, printed.key_id) == (
        seal.checkpoint.merkle_root,
        seal.checkpoint.signature,
        seal.checkpoint.key_id,
    )
    assert f"Record hash (SHA-256): {printed.content_hash}" in joined  # the footer
    assert "its checkpoint proof on the last page" in joined
    assert PENDING not in joined
    wrong = replace(printed, path=[*printed.path[:-1], GENESIS])
    assert not wrong.proves_inclusion()  # the check can fail


def test_the_proof_as_json_carries_the_rest_answers_fields() -> None:
    invoice = invoices.documents()["receipt"]
    seal = sealed(invoice, entries=1, position=1)
    proof = checkpoint_proof(seal)
    assert proof is not None
    statement = json.loads(proof.json())
    assert statement["type"] == PROOF_TYPE
    assert statement["record_id"] == str(invoice.id)
    assert statement["proof"] == {
        "leaf_index": 0,
        "tree_size": 1,
        "leaf_data": statement["entry"]["chain_hash"],
        "path": [],
    }
    assert statement["entry"]["prev_hash"] == GENESIS
    assert statement["checkpoint"]["day"] == "2026-11-02"
    # A day of one entry: the root is the leaf itself, and the page says so.
    joined = " ".join(text_lines(invoice_pdf(invoice, seal=seal)))
    assert "Inclusion path: none" in joined


def test_before_the_day_is_closed_the_document_says_when_the_proof_comes() -> None:
    invoice = invoices.documents()["driver"]
    closed = sealed(invoice)
    for open_seal in (
        replace(closed, checkpoint=None, leaf_index=None, proof=()),  # chained, day open
        RecordSeal(RecordType.INVOICE, str(invoice.id), closed.content_hash),  # queued
    ):
        pdf = invoice_pdf(invoice, seal=open_seal)
        joined = " ".join(text_lines(pdf))
        assert f"Record hash (SHA-256): {closed.content_hash}" in joined
        assert PENDING in joined
        assert ANNEX_TITLE not in joined
    assert "(2026-11-02, UTC)" in " ".join(
        text_lines(invoice_pdf(invoice, seal=replace(closed, checkpoint=None)))
    )
    nothing = " ".join(text_lines(invoice_pdf(invoice)))  # outside the chain: no claim at all
    assert "Record hash" not in nothing
    assert PENDING not in nothing


def test_a_day_of_millions_of_entries_still_fits_a_qr_code() -> None:
    """A path of 24 hashes (a day of up to 16 million entries): the JSON still fits a QR
    code (drawn, not the fallback sentence), and the PDF is the same bytes when rendered
    again."""
    invoice = invoices.documents()["per_site"]
    seal = replace(sealed(invoice), proof=tuple(digest(str(n)) for n in range(24)))
    proof = checkpoint_proof(seal)
    assert proof is not None
    assert len(proof.json()) > 2000
    pdf = invoice_pdf(invoice, seal=seal)
    joined = " ".join(text_lines(pdf))
    assert "Inclusion path (24 hashes, from the leaf up)" in joined
    assert "The proof as JSON" in joined
    assert "too long for a QR code" not in joined
    assert invoice_pdf(invoice, seal=seal) == pdf


def test_the_e_invoice_is_untouched_by_the_proof() -> None:
    invoice = invoices.documents()["driver"]
    without = facturx.get_facturx_xml_from_pdf(facturx_pdf(invoice), check_xsd=False)
    proven = facturx.get_facturx_xml_from_pdf(
        facturx_pdf(invoice, seal=sealed(invoice)), check_xsd=False
    )
    assert proven == without
