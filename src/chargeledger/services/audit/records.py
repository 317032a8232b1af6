"""What the chain says about one record (issue 15: "receipts and invoices carry their record
hash, and the checkpoint proof once the day is closed"): for ``GET
/api/v1/audit/records/{record_type}/{record_id}`` and the documents' footers."""

from __future__ import annotations

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


async def record_hash(uow: UnitOfWork, record_type: RecordType, record_id: str) -> str | None:
    """The content hash taken when the record was written (None: not chained, e.g. a draft)."""
    entry = await uow.audit.entry(record_type, record_id)
    if entry is not None:
        return entry.content_hash
    queued = await uow.audit.queued_record(record_type, record_id)
    return None if queued is None else queued.content_hash


async def record_seal(uow: UnitOfWork, record_type: str, record_id: str) -> RecordSeal:
    """The record's content hash; its chain position once sealed; the checkpoint of its day
    and the Merkle inclusion proof (RFC 6962 §2.1.1) once that day is closed; and the hash
    its stored row gives now (equal unless it was changed)."""
    kind, key = record_type_of(record_type), record_id.strip().lower()
    current = (await uow.audit.content_hashes(kind, [key])).get(key) if _valid(kind, key) else None
    entry = await uow.audit.entry(kind, key)
    if entry is None:
        queued = await uow.audit.queued_record(kind, key)
        if queued is None:
            raise NotFoundError(
                f"no {kind.value} {record_id} is chained or queued for the chain",
                code="audit_record_not_found",
            )
        return RecordSeal(kind, key, queued.content_hash or "", current_hash=current)
    checkpoint = await uow.audit.checkpoint(entry.day)
    if checkpoint is None:
        return RecordSeal(kind, key, entry.content_hash, entry, current_hash=current)
    day = await uow.audit.entries_of(entry.day)
    index = next((i for i, e in enumerate(day) if e.seq == entry.seq), None)
    proof: tuple[str, ...] = ()
    if index is not None:
        leaves = [bytes.fromhex(e.chain_hash) for e in day]
        proof = tuple(node.hex() for node in inclusion_proof(leaves, index))
    return RecordSeal(kind, key, entry.content_hash, entry, checkpoint, index, proof, current)


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
