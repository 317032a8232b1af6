"""The open sessions a station's link keeps in memory between its messages, so that a meter
value costs no lookup of its session (issue 17: the lookup was the largest share of a group's
time in ``bench/ocpp_ingest.py``).

The database stays the truth: a session held here is updated only while the stored row is
still at the version held (``SessionRepository.update_if_unchanged``); when another writer
(an operator's stop, the sweep, a second node serving the station) changed it, the session is
read again and the message applied to what is stored. What a CALL's handler leaves here counts
only once that CALL commits: a rolled-back CALL's session at a version the database never kept
could later match a version another writer stored, with other contents.
"""

from __future__ import annotations

from chargeledger.domain.charging import Session

# Sessions held per station link: a station has a few EVSEs with one open session each; more
# means sessions that stopped without our seeing it, dropped oldest first.
MAX_HELD = 16


class HeldSessions:
    """Open sessions by transaction ref (1.6 transactionId, 2.0.1 transactionId), as last
    committed by this link."""

    __slots__ = ("_committed", "_staged")

    def __init__(self) -> None:
        self._committed: dict[str, Session] = {}
        self._staged: dict[str, Session] = {}

    def get(self, transaction_ref: str) -> Session | None:
        return self._committed.get(transaction_ref)

    def stage(self, session: Session) -> None:
        """The session as the current CALL stored it; held once that CALL commits."""
        self._staged[session.transaction_ref] = session

    def committed(self) -> None:
        """The current CALL committed: what it staged is the stored state (a closed session is
        no longer held: its messages are rare and read it)."""
        for ref, session in self._staged.items():
            self._committed.pop(ref, None)
            if session.is_open:
                self._committed[ref] = session
        self._staged.clear()
        while len(self._committed) > MAX_HELD:
            del self._committed[next(iter(self._committed))]

    def forget(self) -> None:
        """The current CALL was undone: nothing it staged was stored."""
        self._staged.clear()
