"""The chain's work as the entry points start it: ``serve``'s periodic job, ``chargeledger
audit seal | close-day | verify``. Each step runs in transactions of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from chargeledger.domain.audit import Checkpoint
from chargeledger.domain.audit_verification import AuditReport
from chargeledger.services.audit.ports import (
    AuditSnapshots,
    CheckpointArchive,
    CheckpointSigner,
)
from chargeledger.services.audit.sealing import SEAL_BATCH, close_day, days_to_close, seal_pending
from chargeledger.services.audit.verification import Progress, verify_records
from chargeledger.services.ports import Clock, UnitOfWorkFactory
from chargeledger.services.transactions import in_transaction, reading


@dataclass(frozen=True, slots=True)
class Auditor:
    """What the chain's work needs from the composition root."""

    uow: UnitOfWorkFactory
    clock: Clock
    signer: CheckpointSigner
    archive: CheckpointArchive
    snapshots: AuditSnapshots


async def seal_all(auditor: Auditor) -> int:
    """Chain everything queued, a batch per transaction; how many records were chained."""
    total = 0
    while True:
        sealed = await in_transaction(auditor.uow, seal_pending, auditor.clock)
        total += sealed
        if sealed < SEAL_BATCH:
            return total


async def close_days(auditor: Auditor, day: date | None = None) -> list[tuple[Checkpoint, Path]]:
    """Close ``day`` (None: every day due, see ``days_to_close``), each in a transaction of
    its own, and write each checkpoint's file once it is committed (its signature is
    deterministic: writing it again writes the same statement)."""
    days = [day] if day is not None else await reading(auditor.uow, days_to_close, auditor.clock)
    closed = []
    for each in days:
        checkpoint = await in_transaction(
            auditor.uow, close_day, auditor.clock, auditor.signer, each
        )
        closed.append((checkpoint, auditor.archive.write(checkpoint, auditor.signer.public_key)))
    return closed


async def keep_chain(auditor: Auditor) -> None:
    """``serve``'s periodic job: chain what was queued; close the days that have ended."""
    await seal_all(auditor)
    await close_days(auditor)


async def verify(
    auditor: Auditor, directory: Path | None = None, progress: Progress | None = None
) -> AuditReport:
    return await verify_records(
        auditor.snapshots, auditor.signer, auditor.archive, directory, progress
    )
