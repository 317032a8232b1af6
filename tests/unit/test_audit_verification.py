"""The verifier of the audit chain on its own (issue 15): a chain built by ``link`` and the
records it holds, then each way of tampering with them, and the first problem it names."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from chargeledger.domain.audit import ChainEntry, Checkpoint, chain_hash, link
from chargeledger.domain.audit_merkle import merkle_root
from chargeledger.domain.audit_verification import (
    CHAIN,
    CHECKPOINT,
    DATABASE,
    Anchor,
    AuditReport,
    ChainVerifier,
    ProblemKind,
)

DAY = date(2026, 3, 1)
AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
Row = tuple[int, str, str, str, str, str, str]


def digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def chain(count: int = 8) -> list[ChainEntry]:
    return link(
        None, [("payment_event", f"r{i}", digest(f"r{i}")) for i in range(1, count + 1)], AT, DAY
    )


def rows(entries: list[ChainEntry]) -> list[Row]:
    return [
        (
            e.seq,
            e.record_type,
            e.record_id,
            e.content_hash,
            e.prev_hash,
            e.chain_hash,
            e.day.isoformat(),
        )
        for e in entries
    ]


def live(entries: list[ChainEntry]) -> dict[str, str | None]:
    return {e.record_id: e.content_hash for e in entries}


def checkpoint(entries: list[ChainEntry], day: date = DAY) -> Checkpoint:
    mine = [e for e in entries if e.day == day]
    root = merkle_root([bytes.fromhex(e.chain_hash) for e in mine]).hex()
    first, last = (mine[0].seq, mine[-1].seq) if mine else (None, None)
    return Checkpoint(day, first, last, len(mine), root, "key")


def verify(
    entries: list[Row],
    records: dict[str, str | None],
    anchors: tuple[Anchor, ...] = (),
    queued: tuple[tuple[str, str, str | None], ...] = (),
) -> AuditReport:
    """Feed the verifier as the service does; the broken links are located in ``entries``."""
    verifier = ChainVerifier(anchors)
    verifier.entries(entries)
    verifier.pending(queued)
    verifier.live("payment_event", list(records.items()))
    positions = {row[5]: row[0] for row in entries}
    located = {h: positions[h] for h in verifier.broken_links() if h in positions}
    return verifier.finish(located)


def first(report: AuditReport) -> tuple[ProblemKind, str, str, int | None]:
    problem = report.first
    assert problem is not None, "no problem found"
    return problem.kind, problem.record_type, problem.record_id, problem.seq


def test_an_untouched_chain_holds() -> None:
    entries = chain()
    report = verify(rows(entries), live(entries), (Anchor(checkpoint(entries), DATABASE, True),))
    assert report.ok, report.problems
    assert (report.entries, report.records, report.checkpoints) == (8, 8, 1)


def test_a_changed_record() -> None:
    entries = chain()
    records = live(entries) | {"r5": digest("r5, edited")}
    assert first(verify(rows(entries), records)) == (ProblemKind.CHANGED, "payment_event", "r5", 5)


def test_a_deleted_record() -> None:
    entries = chain()
    records = live(entries)
    del records["r3"]
    assert first(verify(rows(entries), records)) == (ProblemKind.DELETED, "payment_event", "r3", 3)


def test_an_inserted_record() -> None:
    entries = chain()
    records = live(entries) | {"x": digest("x")}
    assert first(verify(rows(entries), records)) == (
        ProblemKind.INSERTED,
        "payment_event",
        "x",
        None,
    )


def test_a_queued_record_is_neither_inserted_nor_deleted_but_may_change() -> None:
    entries = chain()
    queued = (("payment_event", "q", digest("q")), ("payment_event", "old", None))
    records = live(entries) | {"q": digest("q"), "old": digest("old")}
    assert verify(rows(entries), records, queued=queued).ok
    records["q"] = digest("q, edited")
    assert first(verify(rows(entries), records, queued=queued)) == (
        ProblemKind.CHANGED,
        "payment_event",
        "q",
        None,
    )


def test_an_issued_record_made_a_draft_again() -> None:
    entries = chain()
    report = verify(rows(entries), live(entries) | {"r2": None})
    assert first(report) == (ProblemKind.CHANGED, "payment_event", "r2", 2)
    assert "draft" in report.problems[0].detail


def test_two_chain_entries_swapped() -> None:
    """Rows 3 and 6 change places: each keeps its hashes, so the entry now at #3 names #5
    as its predecessor."""
    entries = chain()
    swapped = rows(entries)
    third, sixth = swapped[2], swapped[5]
    swapped[2], swapped[5] = (3, *sixth[1:]), (6, *third[1:])
    report = verify(swapped, live(entries))
    assert first(report) == (ProblemKind.REORDERED, "payment_event", "r6", 3)
    assert report.counts == {ProblemKind.REORDERED: 4}


def test_two_neighbours_swapped() -> None:
    entries = chain()
    swapped = rows(entries)
    swapped[3], swapped[4] = (4, *swapped[4][1:]), (5, *swapped[3][1:])
    assert first(verify(swapped, live(entries))) == (
        ProblemKind.REORDERED,
        "payment_event",
        "r5",
        4,
    )


def test_a_chain_position_deleted() -> None:
    entries = chain()
    records = live(entries)
    del records["r4"]
    report = verify([r for r in rows(entries) if r[0] != 4], records)
    assert first(report) == (ProblemKind.DELETED, CHAIN, "#4", 4)


def test_a_chain_entry_deleted_and_the_rest_renumbered() -> None:
    entries = chain()
    records = live(entries)
    del records["r4"]
    kept = [(i, *row[1:]) for i, row in enumerate([r for r in rows(entries) if r[0] != 4], 1)]
    assert first(verify(kept, records)) == (ProblemKind.DELETED, CHAIN, "before #4", 4)


def test_a_chain_entry_inserted_with_its_record() -> None:
    """Whoever inserts an entry can link it after its predecessor, but the entry after it
    still names the predecessor."""
    entries = chain()
    before = entries[2]
    forged = (
        4,
        "payment_event",
        "x",
        digest("x"),
        before.chain_hash,
        chain_hash(before.chain_hash, digest("x")),
        DAY.isoformat(),
    )
    tampered = rows(entries)[:3] + [forged] + [(r[0] + 1, *r[1:]) for r in rows(entries)[3:]]
    records = live(entries) | {"x": digest("x")}
    assert first(verify(tampered, records)) == (ProblemKind.INSERTED, "payment_event", "x", 4)


def test_an_edited_chain_entry() -> None:
    entries = chain()
    edited = rows(entries)
    edited[1] = (*edited[1][:3], digest("other"), *edited[1][4:])
    report = verify(edited, live(entries))
    assert first(report) == (ProblemKind.CHANGED, "payment_event", "r2", 2)


def test_a_rewritten_chain_is_caught_by_the_checkpoint() -> None:
    """Edit a record and recompute every hash after it: the links hold, the signed root of
    the day does not."""
    entries = chain()
    signed = Anchor(checkpoint(entries), DATABASE, True)
    records = live(entries) | {"r2": digest("r2, edited")}
    rewritten = link(
        None, [(e.record_type, e.record_id, records[e.record_id] or "") for e in entries], AT, DAY
    )
    report = verify(rows(rewritten), records, (signed,))
    assert first(report) == (ProblemKind.CHANGED, CHECKPOINT, f"{DAY} ({DATABASE})", 8)


def test_an_entry_added_to_a_closed_day() -> None:
    entries = chain(6)
    signed = Anchor(checkpoint(entries), DATABASE, True)
    more = link(
        None,
        [(e.record_type, e.record_id, e.content_hash) for e in entries]
        + [("payment_event", "late", digest("late"))],
        AT,
        DAY,
    )
    report = verify(rows(more), live(more), (signed,))
    assert first(report) == (ProblemKind.INSERTED, "payment_event", "late", 7)


def test_a_checkpoint_signature_that_does_not_verify() -> None:
    entries = chain()
    report = verify(rows(entries), live(entries), (Anchor(checkpoint(entries), DATABASE, False),))
    assert first(report)[:2] == (ProblemKind.CHANGED, CHECKPOINT)


@pytest.mark.parametrize("empty", [False, True], ids=["day-with-entries", "empty-day"])
def test_a_checkpoint_file_whose_database_checkpoint_is_gone(empty: bool) -> None:
    entries = chain()
    day = date(2026, 2, 28) if empty else DAY
    kept = Anchor(checkpoint(entries, day), "file 2026-03-01.json", True)
    report = verify(rows(entries), live(entries), (kept,))
    assert first(report)[:3] == (ProblemKind.DELETED, CHECKPOINT, f"{day} ({DATABASE})")


def test_a_closed_day_that_lost_its_entries() -> None:
    entries = chain()
    signed = Anchor(replace(checkpoint(entries), day=date(2026, 2, 1)), DATABASE, True)
    report = verify(rows(entries), live(entries), (signed,))
    assert first(report)[:2] == (ProblemKind.DELETED, CHECKPOINT)


def doubted(entries: list[ChainEntry], first_hash: str, second_hash: str) -> AuditReport:
    """r3's hash disagrees at first (a fast path's mistake, or an edit), then is given again
    by the reference hashing, as the service does with :meth:`ChainVerifier.doubtful`."""
    verifier = ChainVerifier()
    verifier.entries(rows(entries))
    verifier.live("payment_event", list({**live(entries), "r3": first_hash}.items()))
    assert verifier.doubtful() == {"payment_event": ["r3"]}
    verifier.settle("payment_event", [("r3", second_hash)])
    return verifier.finish()


def test_a_disagreement_the_reference_hashing_undoes_is_no_problem() -> None:
    entries = chain()
    report = doubted(entries, digest("wrong"), entries[2].content_hash)
    assert report.ok
    assert report.rechecked == 1


def test_a_disagreement_the_reference_hashing_confirms_is_a_change() -> None:
    report = doubted(chain(), digest("wrong"), digest("also wrong"))
    assert report.first is not None
    assert (report.first.kind, report.first.record_id, report.first.seq) == (
        ProblemKind.CHANGED,
        "r3",
        3,
    )


def test_a_queued_records_disagreement_is_settled_the_same_way() -> None:
    entries = chain(4)
    verifier = ChainVerifier()
    verifier.entries(rows(entries))
    verifier.pending([("payment_event", "r9", digest("r9"))])
    verifier.live("payment_event", [*live(entries).items(), ("r9", digest("fast path"))])
    verifier.settle("payment_event", [("r9", digest("r9"))])
    assert verifier.finish().ok
