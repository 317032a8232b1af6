"""``audit verify`` (issue 15): rehash every chained record from its stored row, walk the
chain's links, and hold every closed day to its signed checkpoint (and to the auditor's files
of them, when given), from one consistent snapshot that blocks no writer."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from chargeledger.domain.audit import Checkpoint, RecordType
from chargeledger.domain.audit_verification import (
    CHECKPOINT,
    DATABASE,
    Anchor,
    AuditReport,
    ChainVerifier,
)
from chargeledger.services.audit.ports import (
    ArchivedCheckpoint,
    AuditSnapshots,
    CheckpointArchive,
    CheckpointSigner,
)


class Progress(Protocol):
    """How far a verification is (the CLI's progress bar): rows to read, then rows read."""

    def start(self, total: int) -> None: ...

    def advance(self, rows: int) -> None: ...


class _Quiet:
    def start(self, total: int) -> None:
        return None

    def advance(self, rows: int) -> None:
        return None


def _file_anchor(signer: CheckpointSigner, archived: ArchivedCheckpoint) -> Anchor | None:
    """A checkpoint file holds when its signature verifies under the key it names, and that
    key is this installation's (a file signed by another key vouches for nothing here)."""
    checkpoint = archived.checkpoint
    if checkpoint is None:
        return None
    signed = signer.verify(checkpoint.message(), checkpoint.signature, archived.public_key)
    ours = archived.public_key == signer.public_key and checkpoint.key_id == signer.key_id
    return Anchor(checkpoint, f"file {archived.name}", signed and ours)


async def verify_records(
    snapshots: AuditSnapshots,
    signer: CheckpointSigner,
    archive: CheckpointArchive,
    directory: Path | None = None,
    progress: Progress | None = None,
) -> AuditReport:
    """The report of one verification; ``directory``: checkpoint files an auditor kept, held
    against the chain beside the database's checkpoints."""
    shown = progress or _Quiet()
    files = archive.read(directory) if directory is not None else []
    async with snapshots.open() as snapshot:
        counts = await snapshot.counts()
        shown.start(sum(counts.values()))
        anchors = [_stored_anchor(signer, cp) for cp in await snapshot.checkpoints()]
        anchors += [a for a in (_file_anchor(signer, f) for f in files) if a is not None]
        verifier = ChainVerifier(anchors)
        for archived in files:
            if archived.checkpoint is None:
                verifier.unreadable(CHECKPOINT, f"file {archived.name}", archived.error)
        async for batch in snapshot.chain():
            verifier.entries(batch)
            shown.advance(len(batch))
        queued = await snapshot.queued()
        verifier.pending(queued)
        shown.advance(len(queued))
        for record_type in RecordType:
            async for digests in snapshot.digests(record_type):
                verifier.live(record_type, digests)
                shown.advance(len(digests))
        for doubted, record_ids in verifier.doubtful().items():
            verifier.settle(doubted, await snapshot.rehash(doubted, record_ids))
        broken = verifier.broken_links()
        located = await snapshot.locate(broken) if broken else {}
    return verifier.finish(located)


def _stored_anchor(signer: CheckpointSigner, checkpoint: Checkpoint) -> Anchor:
    """The database's checkpoint holds when the installation's key signed it."""
    ours = checkpoint.key_id == signer.key_id
    signed = ours and signer.verify(checkpoint.message(), checkpoint.signature)
    return Anchor(checkpoint, DATABASE, signed)
