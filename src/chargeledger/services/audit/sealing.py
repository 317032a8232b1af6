"""Sealing queued records into the chain and closing days with signed checkpoints (issue 15).

Writers never touch the chain head: each money transaction queues its records with their
content hashes (``audit_pending``), and the sealer appends them to the one chain later, under
the head's hold (CONTRIBUTING, "Money, time and records"). Appending inside every money
transaction would make all of them wait for one another on PostgreSQL; this way only sealers
take turns, and a record is chained seconds after it was written.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date

from chargeledger.domain.audit import Checkpoint, QueuedRecord, link, sealing_day
from chargeledger.domain.audit_merkle import merkle_root
from chargeledger.errors import InvalidInputError
from chargeledger.services.audit.ports import CheckpointSigner
from chargeledger.services.ports import Clock, UnitOfWork

SEAL_BATCH = 5000  # records chained per transaction


async def seal_pending(uow: UnitOfWork, clock: Clock, limit: int = SEAL_BATCH) -> int:
    """Chain up to ``limit`` queued records in the order they were queued, after the chain's
    head, under its hold; the caller commits. Returns how many were chained.

    A record queued without a hash (it existed before the chain) is hashed as it is now; one
    that is gone by then stays queued, for ``audit verify`` to report.
    """
    await uow.audit.hold_chain()
    queued = await uow.audit.queued(limit)
    if not queued:
        return 0
    head = await uow.audit.head()
    now = clock.now()  # read under the hold: the day never goes back along the chain
    day = sealing_day(now, head, await uow.audit.last_closed_day())
    hashed = await _with_hashes(uow, queued)
    entries = link(head, [(q.record_type, q.record_id, h) for q, h in hashed], now, day)
    await uow.audit.append(entries, [q.id for q, _ in hashed])
    return len(entries)


async def _with_hashes(
    uow: UnitOfWork, queued: list[QueuedRecord]
) -> list[tuple[QueuedRecord, str]]:
    missing: dict[str, list[str]] = {}
    for record in queued:
        if record.content_hash is None:
            missing.setdefault(record.record_type, []).append(record.record_id)
    found: dict[tuple[str, str], str] = {}
    for record_type, record_ids in missing.items():
        hashes = await uow.audit.content_hashes(record_type, record_ids)
        found |= {(record_type, record_id): digest for record_id, digest in hashes.items()}
    hashed = []
    for record in queued:
        digest = record.content_hash or found.get((record.record_type, record.record_id))
        if digest is not None:
            hashed.append((record, digest))
    return hashed


def utc_today(clock: Clock) -> date:
    return clock.now().astimezone(UTC).date()


async def close_day(
    uow: UnitOfWork, clock: Clock, signer: CheckpointSigner, day: date
) -> Checkpoint:
    """Sign the checkpoint of ``day`` (a UTC day that is over): the Merkle root over the
    chain hashes of the entries sealed on it. A day closes once; closing it again answers the
    checkpoint it has. What is queued is sealed first (onto today: a closed day never grows).
    """
    if day >= utc_today(clock):
        raise InvalidInputError(
            f"{day} is not over yet: days are closed once they have ended (UTC)",
            code="day_not_over",
            field="day",
        )
    await uow.audit.hold_chain()
    existing = await uow.audit.checkpoint(day)
    if existing is not None:
        return existing
    await seal_pending(uow, clock)
    entries = await uow.audit.entries_of(day)
    root = merkle_root([bytes.fromhex(e.chain_hash) for e in entries]).hex()
    unsigned = Checkpoint(
        day=day,
        first_seq=entries[0].seq if entries else None,
        last_seq=entries[-1].seq if entries else None,
        count=len(entries),
        merkle_root=root,
        key_id=signer.key_id,
        created_at=clock.now(),
    )
    checkpoint = replace(unsigned, signature=signer.sign(unsigned.message()))
    await uow.audit.add_checkpoint(checkpoint)
    return checkpoint


async def days_to_close(uow: UnitOfWork, clock: Clock) -> list[date]:
    """Yesterday (UTC) unless closed, and every earlier day with entries but no checkpoint
    (``serve`` was down when it ended), oldest first."""
    today = utc_today(clock)
    days = set(await uow.audit.unclosed_days(today))
    yesterday = date.fromordinal(today.toordinal() - 1)
    if await uow.audit.checkpoint(yesterday) is None:
        days.add(yesterday)
    return sorted(days)
