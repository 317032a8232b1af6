"""The checkpoint proof a document carries once its day is closed (issue 15: "receipts and
invoices carry their record hash, and the checkpoint proof once the day is closed").

A :class:`~chargeledger.domain.audit.RecordSeal` says where a record stands; once its day's
checkpoint is signed it holds everything anyone needs to check, without our database, that the
record was in the chain when the day was closed: the record's content hash, the chain entry
(previous and own chain hash: ``chain_hash = SHA-256(prev_hash ‖ content_hash)``), the leaf's
index, the RFC 6962 §2.1.1 audit path and the checkpoint (Merkle root, tree size, the signed
statement's fields, the Ed25519 signature and key id). :class:`CheckpointProof` is that value
with nothing optional, and :meth:`CheckpointProof.statement` its JSON (the field names of
``GET /api/v1/audit/records/{type}/{id}``), which the PDF prints as a QR code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chargeledger.domain.audit import ChainEntry, Checkpoint, RecordSeal, canonical_json

PROOF_TYPE = "chargeledger.audit.checkpoint_proof"


@dataclass(frozen=True, slots=True)
class CheckpointProof:
    """A record's inclusion in a closed day: leaf ``leaf_index`` (its entry's chain hash) of
    the day's Merkle tree of ``checkpoint.count`` leaves, ``path`` the sibling hashes from the
    leaf up (hex), leading to ``checkpoint.merkle_root`` (RFC 9162 §2.1.3.2)."""

    record_type: str
    record_id: str
    content_hash: str
    entry: ChainEntry
    checkpoint: Checkpoint
    leaf_index: int
    path: tuple[str, ...]

    @property
    def tree_size(self) -> int:
        return self.checkpoint.count

    def statement(self) -> dict[str, Any]:
        """The proof as JSON: what a verifier needs and nothing it could not check (the
        checkpoint's statement is rebuilt from ``checkpoint``'s fields, see
        :meth:`Checkpoint.message`; its public key is in the day's checkpoint file)."""
        entry, checkpoint = self.entry, self.checkpoint
        return {
            "type": PROOF_TYPE,
            "record_type": self.record_type,
            "record_id": self.record_id,
            "content_hash": self.content_hash,
            "entry": {
                "seq": entry.seq,
                "prev_hash": entry.prev_hash,
                "chain_hash": entry.chain_hash,
                "day": entry.day,
            },
            "checkpoint": {
                "day": checkpoint.day,
                "first_seq": checkpoint.first_seq,
                "last_seq": checkpoint.last_seq,
                "count": checkpoint.count,
                "merkle_root": checkpoint.merkle_root,
                "key_id": checkpoint.key_id,
                "signature": checkpoint.signature,
            },
            "proof": {
                "leaf_index": self.leaf_index,
                "tree_size": self.tree_size,
                "leaf_data": entry.chain_hash,
                "path": list(self.path),
            },
        }

    def json(self) -> str:
        """:meth:`statement` as canonical JSON (compact, keys sorted): the QR code's text."""
        return canonical_json(self.statement()).decode()


def checkpoint_proof(seal: RecordSeal) -> CheckpointProof | None:
    """The proof in ``seal``; None while its day is not closed (or the record not chained)."""
    if seal.entry is None or seal.checkpoint is None or seal.leaf_index is None:
        return None
    return CheckpointProof(
        seal.record_type,
        seal.record_id,
        seal.content_hash,
        seal.entry,
        seal.checkpoint,
        seal.leaf_index,
        seal.proof,
    )
