"""What an invoice, receipt or credit note prints of its place in the audit chain (issue 15:
"receipts and invoices carry their record hash, and the checkpoint proof once the day is
closed").

The footer of every page carries the record hash (see :class:`.pdf.DocumentPdf`). Below the
payment terms a short note says where the proof is: on the annex page, or — while the day the
document was chained on is still open — that it becomes available once that day is closed (the
document is rendered on request, so a download after the close carries it). The annex prints
the proof (:class:`~chargeledger.domain.audit_proof.CheckpointProof`) so that it can be checked
without our database: every hash in monospace, 64 hex digits a line, and the same proof as JSON
in a QR code when it fits one.
"""

from __future__ import annotations

import segno
from fpdf import FPDF

from chargeledger.adapters.documents.drawing import draw_qr, monospace, paragraph
from chargeledger.domain.audit import RecordSeal
from chargeledger.domain.audit_proof import CheckpointProof, checkpoint_proof
from chargeledger.domain.invoicing import Invoice

ANNEX_TITLE = "audit proof"
PENDING = (
    "The checkpoint proof that this document is in our signed audit chain becomes available "
    "once the day is closed{day}: download this document again after that day has ended."
)
HOW_TO_CHECK = (
    "How to check it: the chain hash is SHA-256 of the previous chain hash and the content "
    "hash (32 bytes each, in that order), the leaf is SHA-256 of the byte 0x00 and the chain "
    "hash, and hashing it up along the path as RFC 6962 §2.1.1 and RFC 9162 §2.1.3.2 describe "
    "must give the Merkle root above, whose statement the signature signs (Ed25519; the "
    "statement and the public key are in the day's checkpoint file); \"chargeledger audit "
    'verify" checks the whole chain, and GET /api/v1/audit/records/{record_type}/{record_id} '
    "answers this proof."
)
HEX_PER_LINE = 64  # one SHA-256 a line; a signature on two
QR_MODULE_MM = 0.8
QR_MAX_SIDE_MM = 90.0  # a long path's code shrinks its modules to fit
QR_LEVELS = ("m", "l")


def proof_note(pdf: FPDF, seal: RecordSeal | None) -> None:
    """One short paragraph under the payment terms: where the proof is, or when it will be.
    Nothing without a seal (a document rendered outside the chain, e.g. in a unit test)."""
    if seal is None or not seal.content_hash:
        return
    pdf.ln(2)
    if checkpoint_proof(seal) is not None:
        text = (
            "Tamper evidence: the record hash of this document is printed in the footer, and "
            "its checkpoint proof on the last page."
        )
    else:
        day = f" ({seal.entry.day.isoformat()}, UTC)" if seal.entry is not None else ""
        text = (
            "Tamper evidence: the record hash of this document is printed in the footer. "
            + PENDING.format(day=day)
        )
    paragraph(pdf, text, 8)


def proof_annex(pdf: FPDF, invoice: Invoice, seal: RecordSeal | None) -> None:
    """The annex page of the checkpoint proof, once the day is closed; else nothing."""
    proof = None if seal is None else checkpoint_proof(seal)
    if proof is None:
        return
    entry, checkpoint = proof.entry, proof.checkpoint
    pdf.add_page()
    paragraph(pdf, f"Annex to {invoice.number}: {ANNEX_TITLE}", 12, "B", 7)
    paragraph(
        pdf,
        f"This document is record {proof.record_type} {proof.record_id} of our tamper-evident "
        f"audit chain. The day it was chained on, {checkpoint.day.isoformat()} (UTC), is "
        "closed: its signed checkpoint commits to the Merkle root over that day's chain "
        "entries, and the path below proves that this document's entry is one of them.",
        8.5,
    )
    pdf.ln(1)
    _hex(
        pdf,
        "Content hash (SHA-256 of the record's canonical JSON; the footer's record hash):",
        [proof.content_hash],
    )
    _hex(pdf, f"Chain position {entry.seq}; previous chain hash:", [entry.prev_hash])
    _hex(
        pdf,
        "Chain hash (SHA-256 of the previous chain hash and the content hash), the leaf's data:",
        [entry.chain_hash],
    )
    _label(
        pdf,
        f"Checkpoint of {checkpoint.day.isoformat()}: chain positions {checkpoint.first_seq} "
        f"to {checkpoint.last_seq}, tree size {proof.tree_size}, leaf index {proof.leaf_index}",
    )
    _hex(pdf, "Merkle root:", [checkpoint.merkle_root])
    count = len(proof.path)
    if count:
        _hex(pdf, f"Inclusion path ({count} hashes, from the leaf up):", list(proof.path))
    else:
        _label(pdf, "Inclusion path: none (the leaf is the day's only entry, its root)")
    _hex(pdf, "Checkpoint signature (Ed25519):", [checkpoint.signature])
    _hex(pdf, "Key id (SHA-256 of the public key):", [checkpoint.key_id])
    pdf.ln(1)
    paragraph(
        pdf,
        HOW_TO_CHECK.format(record_type=proof.record_type, record_id=proof.record_id),
        8,
    )
    _qr(pdf, proof)


def _label(pdf: FPDF, text: str) -> None:
    pdf.ln(1)
    paragraph(pdf, text, 8, "B")


def _hex(pdf: FPDF, label: str, values: list[str]) -> None:
    """``label`` and each value in monospace, cut into lines of 64 hex digits."""
    _label(pdf, label)
    lines = [v[i : i + HEX_PER_LINE] for v in values for i in range(0, len(v), HEX_PER_LINE)]
    monospace(pdf, "\n".join(lines), 8)


def _qr(pdf: FPDF, proof: CheckpointProof) -> None:
    """The proof's JSON as a QR code at error correction level M; at level L when only that
    holds it (a path of more than about 20 hashes: a day of millions of entries); else a
    sentence."""
    for level in QR_LEVELS:
        try:
            draw_qr(
                pdf,
                proof.json(),
                "The proof as JSON (the field names of the REST answer): scan it to check it",
                QR_MODULE_MM,
                error=level,
                max_side_mm=QR_MAX_SIDE_MM,
            )
        except segno.DataOverflowError:
            continue
        return
    paragraph(pdf, "This proof is too long for a QR code: copy it from above.", 7.5)
