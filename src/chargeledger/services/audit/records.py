"""What the chain says about one record (issue 15: "receipts and invoices carry their record
hash, and the checkpoint proof once the day is closed"): for ``GET
/api/v1/audit/records/{record_type}/{record_id}`` and the documents' PDFs."""

from __future__ import annotations

from dataclasses import replace

from chargeledger.domain.audit import Checkpoint, RecordSeal, RecordType
from chargeledger.domain.audit_merkle import inclusion_proof
from chargeledger.errors import InvalidInputError, NotFoundError
from chargeledger.services.paging import Page
from chargeledger.services.ports import UnitOfWork


def record_type_of(name: str) -> RecordType:
    try:
        return RecordType(name)
    except ValueError:
        known = ", ".join(t.value for t in RecordType)
        raise InvalidInputError(
            f"no record type {name!r} is chained (one of {known})",
            code="unknown_record_type",
            field="record_type",
        ) from None


async def record_seal(uow: UnitOfWork, record_type: str, record_id: str) -> RecordSeal:
    """The record's seal (:func:`seal_of`) and the hash its stored row gives now (equal
    unless it was changed)."""
    kind, key = record_type_of(record_type), record_id.strip().lower()
    current = (await uow.audit.content_hashes(kind, [key])).get(key) if _valid(kind, key) else None
    seal = await seal_of(uow, kind, key)
    if seal is None:
        raise NotFoundError(
            f"no {kind.value} {record_id} is chained or queued for the chain",
            code="audit_record_not_found",
        )
    return replace(seal, current_hash=current)


async def seal_of(uow: UnitOfWork, kind: RecordType, key: str) -> RecordSeal | None:
    """The record's content hash; its chain position once sealed; the checkpoint of its day
    and the Merkle inclusion proof (RFC 6962 §2.1.1) once that day is closed. None when it is
    neither chained nor queued (a draft). Without ``current_hash``: a document's PDF prints
    what the chain holds, and need not read the record's rows again."""
    entry = await uow.audit.entry(kind, key)
    if entry is None:
        queued = await uow.audit.queued_record(kind, key)
        if queued is None:
            return None
        return RecordSeal(kind, key, queued.content_hash or "")
    checkpoint = await uow.audit.checkpoint(entry.day)
    if checkpoint is None:
        return RecordSeal(kind, key, entry.content_hash, entry)
    day = await uow.audit.entries_of(entry.day)
    index = next((i for i, e in enumerate(day) if e.seq == entry.seq), None)
    proof: tuple[str, ...] = ()
    if index is not None:
        leaves = [bytes.fromhex(e.chain_hash) for e in day]
        proof = tuple(node.hex() for node in inclusion_proof(leaves, index))
    return RecordSeal(kind, key, entry.content_hash, entry, checkpoint, index, proof)


def _valid(kind: RecordType, key: str) -> bool:
    """Whether ``key`` can name a stored record of ``kind`` at all (else: not found)."""
    if kind is RecordType.SIGNED_METER_VALUE:
        return key.isdigit() and len(key) < 19
    parts = key.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(
        c in "0123456789abcdef" for c in key.replace("-", "")
    )


async def list_checkpoints(uow: UnitOfWork, limit: int, offset: int) -> Page[Checkpoint]:
    """The closed days, newest first."""
    return await uow.audit.checkpoints(limit=limit, offset=offset)
