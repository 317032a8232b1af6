"""The ports of the tamper-evident chain (issue 15): its storage in the unit of work, a
consistent read-only snapshot for verification, the installation's checkpoint key, the files
an auditor keeps, and an optional timestamp authority."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from chargeledger.domain.audit import ChainEntry, ChainHead, Checkpoint, QueuedRecord
from chargeledger.services.paging import Page


class AuditRepository(Protocol):
    """The chain in the unit of work. Records are queued by the repositories that write them
    (in the same transaction); the sealer moves them into the chain."""

    async def hold_chain(self) -> None:
        """Take the chain head's hold until the transaction ends (PostgreSQL: an advisory
        transaction lock; SQLite's writers already take turns), so two sealers never both
        append after the same head."""
        ...

    async def head(self) -> ChainHead | None: ...

    async def last_closed_day(self) -> date | None: ...

    async def queued(self, limit: int) -> list[QueuedRecord]:
        """The oldest queued records, in the order they were queued."""
        ...

    async def content_hashes(self, record_type: str, record_ids: Sequence[str]) -> dict[str, str]:
        """The content hashes of stored records, as they are now (records gone are left out)."""
        ...

    async def append(self, entries: Sequence[ChainEntry], sealed: Sequence[int]) -> None:
        """Add ``entries`` to the chain and take the queued records ``sealed`` off the queue."""
        ...

    async def entries_of(self, day: date) -> list[ChainEntry]:
        """The entries sealed on ``day``, in chain order."""
        ...

    async def unclosed_days(self, before: date) -> list[date]:
        """Days before ``before`` with entries but without a checkpoint, oldest first."""
        ...

    async def add_checkpoint(self, checkpoint: Checkpoint) -> None: ...

    async def checkpoint(self, day: date) -> Checkpoint | None: ...

    async def checkpoints(self, *, limit: int, offset: int) -> Page[Checkpoint]:
        """Newest first."""
        ...

    async def entry(self, record_type: str, record_id: str) -> ChainEntry | None: ...

    async def queued_record(self, record_type: str, record_id: str) -> QueuedRecord | None: ...


Batch = Sequence[tuple[str, str | None]]


class AuditSnapshot(Protocol):
    """Everything ``audit verify`` reads, from one consistent snapshot of the database that
    blocks no writer; rows come in large batches, read without per-row mapping."""

    async def counts(self) -> dict[str, int]:
        """Rows to read: ``chain``, ``pending`` and each record type."""
        ...

    def chain(self) -> AsyncIterator[Sequence[tuple[int, str, str, str, str, str, str]]]:
        """Chain entries in position order: (seq, record type, record id, content hash,
        previous chain hash, chain hash, day as ``YYYY-MM-DD``)."""
        ...

    async def queued(self) -> list[tuple[str, str, str | None]]: ...

    def digests(self, record_type: str) -> AsyncIterator[Batch]:
        """Every stored record of ``record_type``: (record id, content hash recomputed from
        its row; None for a draft invoice)."""
        ...

    async def rehash(self, record_type: str, record_ids: Sequence[str]) -> Batch:
        """The records ``record_ids`` hashed again by the reference writers (the records
        :meth:`digests` found disagreeing, before they are reported)."""
        ...

    async def checkpoints(self) -> list[Checkpoint]: ...

    async def locate(self, chain_hashes: Sequence[str]) -> dict[str, int]:
        """Where these chain hashes stand in the chain (those found)."""
        ...


class AuditSnapshots(Protocol):
    def open(self) -> AbstractAsyncContextManager[AuditSnapshot]: ...


class CheckpointSigner(Protocol):
    """The installation's Ed25519 key (an adapter: made on first use, kept in the data
    directory or at the configured path, never shown). ``key_id``: SHA-256 of the raw public
    key, hex; ``public_key``: the raw public key, hex."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_key(self) -> str: ...

    def sign(self, message: bytes) -> str:
        """The signature of ``message``, hex."""
        ...

    def verify(self, message: bytes, signature: str, public_key: str | None = None) -> bool:
        """Whether ``signature`` signs ``message`` under ``public_key`` (default: this
        installation's key)."""
        ...


@dataclass(frozen=True, slots=True)
class ArchivedCheckpoint:
    """A checkpoint file as an auditor keeps it: the checkpoint and the public key it names,
    or what made the file unreadable."""

    name: str
    checkpoint: Checkpoint | None
    public_key: str = ""
    error: str = ""


class CheckpointArchive(Protocol):
    """The files an auditor can keep elsewhere: one JSON file per closed day."""

    def write(self, checkpoint: Checkpoint, public_key: str) -> Path: ...

    def read(self, directory: Path | None = None) -> list[ArchivedCheckpoint]:
        """Every checkpoint file of ``directory`` (default: where this installation writes)."""
        ...


class TimestampAuthority(Protocol):
    """An RFC 3161 time-stamping authority that could countersign each checkpoint (a
    documented port only: no implementation talks to one). ``timestamp`` would send the
    SHA-256 of the checkpoint's message in a TimeStampReq and return the DER TimeStampResp,
    to be kept beside the checkpoint file as proof that the day was closed by then."""

    async def timestamp(self, digest: bytes) -> bytes: ...
