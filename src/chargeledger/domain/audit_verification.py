"""Checking the chain against the records it holds (issue 15: ``audit verify`` "names the first
record that was changed, deleted or inserted").

:class:`ChainVerifier` is fed, in this order, the chain entries in position order, the records
queued but not yet chained, then every live record with the content hash recomputed from its
row; :meth:`ChainVerifier.finish` reports what does not hold, each problem of one kind:

* ``changed``: a record whose content no longer hashes to the hash taken when it was written;
  a chain entry whose stored hashes do not recompute; a checkpoint whose root or signature does
  not hold for the entries of its day;
* ``deleted``: a chain entry whose record is gone, a position missing from the chain, a queued
  record that is gone, a closed day that lost entries;
* ``inserted``: a record in neither the chain nor the queue, a chain entry put between two that
  were linked, an entry added to a day after it was closed;
* ``reordered``: an entry whose link names another position than the one before it.

The chain is walked once and held as one map per record type (record id → position and
content hash), so the live records can come in any order, each table in one scan. A link that
breaks is classified at the end, once the service has looked up where the hash it names stands
(:meth:`ChainVerifier.broken_links`, :meth:`ChainVerifier.finish`): that costs nothing while
the chain holds. Pure and synchronous; the service streams the rows in and checks signatures.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from chargeledger.domain.audit import GENESIS, Checkpoint
from chargeledger.domain.audit_merkle import EMPTY_ROOT, MerkleAccumulator

CHAIN = "chain"  # the record type of a problem about positions whose record is unknown
CHECKPOINT = "checkpoint"  # the record type of a problem about a closed day
LISTED = 1000  # problems kept in full; beyond, only counted
DATABASE = "database"  # the source of the checkpoints stored beside the chain


class ProblemKind(StrEnum):
    CHANGED = "changed"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    record_type: str
    record_id: str
    seq: int | None  # the chain position concerned; None for a record never chained
    detail: str

    def describe(self) -> str:
        at = "" if self.seq is None else f" at #{self.seq}"
        return f"{self.kind.value}: {self.record_type} {self.record_id}{at}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Anchor:
    """A checkpoint to hold the chain to: the database's, or an auditor's file of it.
    ``signature_ok``: its signature verifies under the installation's key (the service's
    check: the domain does no cryptography)."""

    checkpoint: Checkpoint
    source: str  # DATABASE or the file's name
    signature_ok: bool


@dataclass(frozen=True, slots=True)
class AuditReport:
    entries: int  # chain positions walked
    pending: int  # records queued, not yet chained
    records: int  # live records rehashed
    checkpoints: int  # checkpoints held against the chain (database and files)
    problems: tuple[Problem, ...]  # the first LISTED, in chain order
    counts: Mapping[ProblemKind, int] = field(default_factory=dict)
    rechecked: int = 0  # records whose hash disagreed at first, hashed again (:meth:`settle`)

    @property
    def ok(self) -> bool:
        return not self.counts

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None


@dataclass(slots=True)
class _Break:
    seq: int
    record_type: str
    record_id: str
    prev_hash: str
    before: tuple[str, str] | None  # the entry at seq - 1, when it was linked well itself


@dataclass(slots=True)
class _Day:
    day: str
    first_seq: int
    merkle: MerkleAccumulator = field(default_factory=MerkleAccumulator)


_MISSING = object()


class ChainVerifier:
    def __init__(self, anchors: Sequence[Anchor] = ()) -> None:
        self._anchors: dict[str, list[Anchor]] = {}
        for anchor in anchors:
            self._anchors.setdefault(anchor.checkpoint.day.isoformat(), []).append(anchor)
        self._chained: dict[str, dict[str, tuple[int, str]]] = {}
        self._queued: dict[tuple[str, str], str | None] = {}
        self._problems: list[tuple[int, Problem]] = []
        self._counts: Counter[ProblemKind] = Counter()
        self._breaks: list[_Break] = []
        self._next_seq, self._last_hash, self._last_linked = 1, GENESIS, True
        self._last: tuple[str, str] | None = None
        self._day: _Day | None = None
        self._range: tuple[int, int] | None = None  # positions the day's checkpoints cover
        self._closed_days: set[str] = set()
        self._entries = self._records = self._checked = self._pending = 0
        # Disagreements waiting for a second hashing: type -> id -> (position, expected, found)
        self._doubtful: dict[str, dict[str, tuple[int | None, str, str]]] = {}
        self._rechecked = 0

    # --- feeding ------------------------------------------------------------------------------

    def entries(self, rows: Iterable[tuple[int, str, str, str, str, str, str]]) -> None:
        """Chain entries in position order: (seq, record type, record id, content hash,
        previous chain hash, chain hash, day as ``YYYY-MM-DD``).

        One loop with its state in locals, every check inline but the rare ones (a gap, a
        new day, an entry outside its closed day): this walk is a third of ``audit verify``
        (``bench/audit.py``). A day's leaves go to its Merkle tree a batch at a time."""
        sha256, fromhex, add = hashlib.sha256, bytes.fromhex, self._add
        next_seq, last_hash, last_linked = self._next_seq, self._last_hash, self._last_linked
        last = self._last
        current, leaves = self._day, list[bytes]()
        current_day = current.day if current is not None else None
        covered = self._range
        known_type: str | None = None
        known: dict[str, tuple[int, str]] = {}
        count = 0
        for seq, record_type, record_id, content, prev, chained, day in rows:
            count += 1
            gap = seq != next_seq
            if gap:
                self._next_seq = next_seq
                self._missing_positions(seq)
            next_seq = seq + 1
            try:
                leaf = fromhex(chained)
                linked = sha256(fromhex(prev) + fromhex(content)).digest() == leaf
            except ValueError:
                leaf, linked = chained.encode(), False
            if not linked:
                detail = "the chain entry's hashes were edited (its chain hash does not recompute)"
                add(ProblemKind.CHANGED, record_type, record_id, seq, detail)
            well_linked = prev == last_hash
            if not well_linked and not gap:
                before = last if last_linked else None
                self._breaks.append(_Break(seq, record_type, record_id, prev, before))
            last_hash, last_linked, last = chained, well_linked and linked, (record_type, record_id)
            if record_type != known_type:
                known_type, known = record_type, self._chained.setdefault(record_type, {})
            if record_id in known:
                detail = f"chained a second time (first at #{known[record_id][0]})"
                add(ProblemKind.INSERTED, record_type, record_id, seq, detail)
            else:
                known[record_id] = (seq, content)
            if day != current_day or (covered is not None and not covered[0] <= seq <= covered[1]):
                if current is not None and leaves:
                    current.merkle.extend(leaves)
                    leaves = []
                current = self._position(seq, day, record_type, record_id)
                current_day, covered = current.day, self._range
            leaves.append(leaf)
        if current is not None and leaves:
            current.merkle.extend(leaves)
        self._entries += count
        self._next_seq, self._last_hash, self._last_linked = next_seq, last_hash, last_linked
        self._last = last

    def pending(self, rows: Iterable[tuple[str, str, str | None]]) -> None:
        """Records queued for the chain: (record type, record id, content hash or None)."""
        for record_type, record_id, content in rows:
            self._pending += 1
            key = (record_type, record_id)
            if key in self._queued or record_id in self._chained.get(record_type, {}):
                self._add(ProblemKind.INSERTED, record_type, record_id, None, "queued twice")
            self._queued[key] = content

    def live(self, record_type: str, rows: Iterable[tuple[str, str | None]]) -> None:
        """Every stored record of a type: (record id, content hash recomputed from its row).
        A None hash is a record not (yet) subject to the chain: a draft invoice.

        A hash that disagrees with the chain's or the queue's is held as doubtful, not yet
        reported: the service hashes the record again with the reference writers
        (:meth:`doubtful`, :meth:`settle`), since a fast path (the database writing the
        canonical JSON) may only ever be slower, never wrong."""
        chained = self._chained.get(record_type, {})
        queued = self._queued
        doubtful = self._doubtful.setdefault(record_type, {})
        for record_id, content in rows:
            self._records += 1
            found = chained.pop(record_id, None)
            if found is not None:
                if queued:
                    queued.pop((record_type, record_id), None)
                seq, expected = found
                if content != expected:
                    if content is None:
                        self._changed(record_type, record_id, seq, content)
                    else:
                        doubtful[record_id] = (seq, expected, content)
                continue
            waiting = queued.pop((record_type, record_id), _MISSING) if queued else _MISSING
            if waiting is _MISSING:
                if content is not None:
                    self._add(
                        ProblemKind.INSERTED,
                        record_type,
                        record_id,
                        None,
                        "the record is neither chained nor queued for the chain",
                    )
            elif content is None:
                self._changed(record_type, record_id, None, content)
            elif isinstance(waiting, str) and waiting != content:
                doubtful[record_id] = (None, waiting, content)

    def doubtful(self) -> dict[str, list[str]]:
        """The ids of the records whose hash disagreed, by record type."""
        return {kind: list(ids) for kind, ids in self._doubtful.items() if ids}

    def settle(self, record_type: str, rows: Iterable[tuple[str, str | None]]) -> None:
        """The reference hashes of doubtful records: those that still disagree are changed.
        A doubtful record not given again stays as it was first found (reported)."""
        waiting = self._doubtful.get(record_type, {})
        for record_id, content in rows:
            found = waiting.pop(record_id, None)
            if found is None:
                continue
            self._rechecked += 1
            seq, expected, _ = found
            if content != expected:
                self._changed(record_type, record_id, seq, content)

    def unreadable(self, record_type: str, name: str, detail: str) -> None:
        """Something to hold the chain to could not be read (a damaged checkpoint file)."""
        self._add(ProblemKind.CHANGED, record_type, name, None, detail or "unreadable")

    def broken_links(self) -> list[str]:
        """The previous-hashes of the links that broke: where do they stand in the chain?"""
        return [b.prev_hash for b in self._breaks]

    # --- the report --------------------------------------------------------------------------

    def finish(self, located: Mapping[str, int] | None = None) -> AuditReport:
        """The report; ``located``: the position of each of :meth:`broken_links` found in
        the chain (absent: the hash stands nowhere)."""
        self._close_day()
        for record_type, unsettled in self._doubtful.items():
            for record_id, (seq, _, content) in unsettled.items():
                self._changed(record_type, record_id, seq, content)
        self._doubtful = {}
        for record_type, left in self._chained.items():
            for record_id, (seq, _) in left.items():
                detail = f"no {record_type} with this id is stored any more"
                self._add(ProblemKind.DELETED, record_type, record_id, seq, detail)
        for (record_type, record_id), _ in self._queued.items():
            detail = "queued for the chain, but no such record is stored any more"
            self._add(ProblemKind.DELETED, record_type, record_id, None, detail)
        for day, anchors in self._anchors.items():
            if day not in self._closed_days:
                for anchor in anchors:
                    self._check_anchor(anchor, _Day(day, 0), EMPTY_ROOT.hex(), 0)
            if all(anchor.source != DATABASE for anchor in anchors):
                last = anchors[0].checkpoint.last_seq
                detail = "a checkpoint file names this closed day; the database has no checkpoint"
                self._add(ProblemKind.DELETED, CHECKPOINT, f"{day} ({DATABASE})", last, detail)
        self._classify(located or {})
        problems = sorted(self._problems, key=lambda p: (p[1].seq is None, p[1].seq or 0, p[0]))
        return AuditReport(
            entries=self._entries,
            pending=self._pending,
            records=self._records,
            checkpoints=self._checked,
            problems=tuple(p for _, p in problems[:LISTED]),
            counts=dict(self._counts),
            rechecked=self._rechecked,
        )

    # --- the walk's parts -----------------------------------------------------------------

    def _position(self, seq: int, day: str, record_type: str, record_id: str) -> _Day:
        """Track the day the entry was sealed on: days move forward along the chain, and a
        closed day's entries are exactly the positions its checkpoint covers."""
        current = self._day
        if current is None or day != current.day:
            if current is not None and day < current.day:
                detail = f"sealed on {day} but stands after entries of {current.day}"
                self._add(ProblemKind.REORDERED, record_type, record_id, seq, detail)
            self._close_day()
            self._day = current = _Day(day, seq)
            anchors = self._anchors.get(day, [])
            firsts = [a.checkpoint.first_seq for a in anchors]
            lasts = [a.checkpoint.last_seq for a in anchors]
            self._range = None
            if anchors:
                low = min((f for f in firsts if f is not None), default=seq + 1)
                high = max((last for last in lasts if last is not None), default=seq - 1)
                self._range = (low, high)
        covered = self._range
        if covered is not None and not covered[0] <= seq <= covered[1]:
            detail = f"chained on {day} after that day was closed"
            self._add(ProblemKind.INSERTED, record_type, record_id, seq, detail)
        return current

    def _close_day(self) -> None:
        current = self._day
        if current is None:
            return
        self._day = None
        self._closed_days.add(current.day)
        root = current.merkle.root().hex()
        for anchor in self._anchors.get(current.day, []):
            self._check_anchor(anchor, current, root, current.merkle.size)

    def _check_anchor(self, anchor: Anchor, day: _Day, root: str, count: int) -> None:
        self._checked += 1
        checkpoint = anchor.checkpoint
        # Named at the day's last position: the records of the day come first in the report.
        name, seq = f"{day.day} ({anchor.source})", checkpoint.last_seq
        if not anchor.signature_ok:
            detail = "its signature does not verify under the installation's key"
            self._add(ProblemKind.CHANGED, CHECKPOINT, name, seq, detail)
        if count < checkpoint.count:
            detail = f"the day has {count} entries, its checkpoint signed {checkpoint.count}"
            self._add(ProblemKind.DELETED, CHECKPOINT, name, seq, detail)
        elif count == checkpoint.count and root != checkpoint.merkle_root:
            detail = "the day's entries do not give the signed Merkle root"
            self._add(ProblemKind.CHANGED, CHECKPOINT, name, seq, detail)

    def _missing_positions(self, seq: int) -> None:
        first, last = self._next_seq, seq - 1
        if last < first:
            detail = f"position #{seq} comes again after #{first - 1}"
            self._add(ProblemKind.REORDERED, CHAIN, f"#{seq}", seq, detail)
            return
        span = f"#{first}" if first == last else f"#{first} to #{last}"
        detail = f"chain position {span} is missing"
        self._add(ProblemKind.DELETED, CHAIN, span, first, detail)

    def _classify(self, located: Mapping[str, int]) -> None:
        for broken in self._breaks:
            at = located.get(broken.prev_hash)
            if at is None:
                detail = (
                    f"the entry it was chained after is gone: an entry before #{broken.seq} "
                    "was deleted"
                )
                self._add(ProblemKind.DELETED, CHAIN, f"before #{broken.seq}", broken.seq, detail)
            elif at == broken.seq - 2 and broken.before is not None:
                record_type, record_id = broken.before
                detail = f"stands between #{at} and the entry that was chained after it"
                self._add(ProblemKind.INSERTED, record_type, record_id, broken.seq - 1, detail)
            else:
                detail = f"chained after #{at}, but stands at #{broken.seq}"
                kind = ProblemKind.REORDERED
                self._add(kind, broken.record_type, broken.record_id, broken.seq, detail)

    def _changed(
        self, record_type: str, record_id: str, seq: int | None, content: str | None
    ) -> None:
        where = "chained" if seq is not None else "queued"
        if content is None:
            detail = f"an issued record was made a draft again since it was {where}"
        else:
            detail = f"its content does not hash to the hash {where} when it was written"
        self._add(ProblemKind.CHANGED, record_type, record_id, seq, detail)

    def _add(
        self, kind: ProblemKind, record_type: str, record_id: str, seq: int | None, detail: str
    ) -> None:
        self._counts[kind] += 1
        if len(self._problems) < 10 * LISTED:
            order = len(self._problems)
            self._problems.append((order, Problem(kind, record_type, record_id, seq, detail)))
