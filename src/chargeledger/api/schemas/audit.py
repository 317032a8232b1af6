"""The tamper-evident chain as finance and auditors read it (issue 15)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from chargeledger.domain.audit import ChainEntry, Checkpoint, RecordSeal


class CheckpointOut(BaseModel):
    day: date = Field(description="the UTC day closed")
    first_seq: int | None = Field(description="its first chain position (None: no entries)")
    last_seq: int | None
    count: int
    merkle_root: str = Field(description="RFC 6962 Merkle root of the day's chain hashes, hex")
    key_id: str = Field(description="SHA-256 of the Ed25519 public key, hex")
    public_key: str = Field(description="the installation's Ed25519 public key, hex")
    signed_message: str = Field(description="the statement the signature signs, as signed")
    signature: str = Field(description="Ed25519 signature of signed_message, hex")
    created_at: datetime | None

    @classmethod
    def of(cls, checkpoint: Checkpoint, public_key: str) -> CheckpointOut:
        return cls(
            day=checkpoint.day,
            first_seq=checkpoint.first_seq,
            last_seq=checkpoint.last_seq,
            count=checkpoint.count,
            merkle_root=checkpoint.merkle_root,
            key_id=checkpoint.key_id,
            public_key=public_key,
            signed_message=checkpoint.message().decode(),
            signature=checkpoint.signature,
            created_at=checkpoint.created_at,
        )


class ChainEntryOut(BaseModel):
    seq: int = Field(description="the record's position in the chain")
    prev_hash: str
    chain_hash: str = Field(description="SHA-256(prev_hash ‖ content_hash), hex")
    recorded_at: datetime
    day: date


class InclusionProofOut(BaseModel):
    leaf_index: int = Field(description="the entry's place among the day's entries, from 0")
    tree_size: int
    leaf_data: str = Field(description="the leaf's data: the entry's chain hash, hex")
    path: list[str] = Field(description="RFC 6962 §2.1.1 audit path, from the leaf up, hex")


class RecordSealOut(BaseModel):
    record_type: str
    record_id: str
    status: str = Field(description="queued, chained, or checkpointed (its day is closed)")
    content_hash: str = Field(description="SHA-256 of the record's canonical JSON when written")
    current_hash: str | None = Field(description="what its stored row hashes to now")
    intact: bool = Field(description="the stored record still hashes to its content hash")
    entry: ChainEntryOut | None
    checkpoint: CheckpointOut | None
    proof: InclusionProofOut | None

    @classmethod
    def of(cls, seal: RecordSeal, public_key: str) -> RecordSealOut:
        entry: ChainEntry | None = seal.entry
        checkpoint, proof = seal.checkpoint, None
        if checkpoint is not None and entry is not None and seal.leaf_index is not None:
            proof = InclusionProofOut(
                leaf_index=seal.leaf_index,
                tree_size=checkpoint.count,
                leaf_data=entry.chain_hash,
                path=list(seal.proof),
            )
        status = "queued" if entry is None else "checkpointed" if checkpoint else "chained"
        return cls(
            record_type=seal.record_type,
            record_id=seal.record_id,
            status=status,
            content_hash=seal.content_hash,
            current_hash=seal.current_hash,
            intact=seal.current_hash is not None and seal.current_hash == seal.content_hash,
            entry=None
            if entry is None
            else ChainEntryOut(
                seq=entry.seq,
                prev_hash=entry.prev_hash,
                chain_hash=entry.chain_hash,
                recorded_at=entry.recorded_at,
                day=entry.day,
            ),
            checkpoint=None if checkpoint is None else CheckpointOut.of(checkpoint, public_key),
            proof=proof,
        )
