"""Group commit of the stations' CALLs: the CALLs that arrive within a few milliseconds, from
any stations, are applied in one transaction and answered after its commit.

Why: one transaction per CALL paid a commit (a WAL flush on PostgreSQL; on SQLite the one
write lock, taken and handed on, and a commit) and several round trips for every meter value,
which kept the edge at a sixth (SQLite) to a tenth (PostgreSQL) of the messages per second of
an OCPP server that stores nothing (``bench/ocpp_ingest.py``, 100 closed-loop stations).
Exactly once holds as before (DESIGN §2): a CALL's effects and its stored answer commit in the
same transaction (now together with other stations' CALLs), and the answer is sent only after
that commit (OCPP-J 1.6 §4.1.1, 2.0.1 Part 4 §4.1.1: one CALL outstanding per station, so a
station never has two CALLs in a group and its order is kept).

A CALL its handler refuses (a CALLERROR, also for a handler that failed) is undone alone and
the others commit: the group is first applied without savepoints (a SAVEPOINT and its RELEASE
are two more round trips for every CALL; with them SQLite reached 0.28x the bare server against
0.32x without, in a pair of runs of ``bench/ocpp_ingest.py``); when one of its CALLs is
refused, that transaction is rolled back and the group applied again with each CALL in its own
SAVEPOINT. Refusals are rare, so this second pass is too. The replay lookup of the whole group
is one statement and the group's answers are kept in one batch. Should the group's transaction
fail as a whole, each of its CALLs is applied again alone, so one CALL cannot fail the others'
answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ocpp.messages import Call

from chargeledger.bootstrap import Runtime
from chargeledger.domain.station_link import StoredReply
from chargeledger.errors import SessionsChangedError
from chargeledger.services.charging.station_messages import ReplyKey, keep_replies, stored_replies
from chargeledger.services.ports import UnitOfWork

log = logging.getLogger("chargeledger.stations")

# How long the first CALL of a group waits for others: short against a station's round trip,
# long enough to share a commit under load. Under load the group is mostly what queued up
# while the previous group committed.
GROUP_WINDOW_S = 0.002
GROUP_CAP = 200  # CALLs per transaction: bounds how long one transaction holds the database
# Groups applied at the same time: SQLite has one writer, so one; PostgreSQL overlaps the
# round trips of a few transactions (each a connection of the pool, which REST and the
# background payment work share).
PARALLEL_GROUPS_POSTGRES = 3


class GroupMember(Protocol):
    """What the committer needs of a station's link (``link.ExactlyOnce``)."""

    runtime: Runtime
    id: str

    def replay_key(self, call: Call) -> ReplyKey | None:
        """Where an earlier answer to ``call`` would be stored; None when it gets no replay
        (a BootNotification that starts a new boot epoch)."""
        ...

    async def apply_new_call(
        self, uow: UnitOfWork, call: Call, digest: str
    ) -> tuple[str, tuple[ReplyKey, StoredReply] | None]:
        """Run the handler in ``uow``: its answer, and the answer to keep (None for a
        CALLERROR, whose effects are undone)."""
        ...

    def call_committed(self, message_id: str) -> None:
        """After the commit: what the CALL's handler left for after its commit starts."""
        ...

    def forget_call_effects(self) -> None:
        """The CALL was undone: drop what its handler left for after its commit."""
        ...


@dataclass(eq=False, slots=True)
class _Pending:
    member: GroupMember
    call: Call
    digest: str
    answer: asyncio.Future[str | None]


class _RefusedCallError(Exception):
    """Leaves a CALL's savepoint (or a group of one) with its CALLERROR: the CALL's effects
    are rolled back."""

    def __init__(self, answer: str) -> None:
        super().__init__("CALL refused")
        self.answer = answer


class _IsolateError(Exception):
    """A CALL of a group applied without savepoints was refused, or a session it updated
    (deferred) had changed: apply the group again with a savepoint for each CALL."""


class GroupCommitter:
    """One per process and database (see :func:`group_committer`). No task runs while no
    CALL waits: the first waiting CALL starts the drain, which ends when none is left."""

    def __init__(self, parallel: int = 1) -> None:
        self._parallel = parallel
        self._waiting: list[_Pending] = []
        self._drain: asyncio.Task[None] | None = None
        self._applying: set[asyncio.Task[None]] = set()
        self._busy: set[str] = set()  # charge point ids with a CALL in a group being applied
        self._loop: asyncio.AbstractEventLoop | None = None

    async def apply(self, member: GroupMember, call: Call, digest: str) -> str | None:
        """Apply ``call`` exactly once with the group it joins. Returns the answer to send (a
        stored one for a repetition), or None when its message id was used before for
        another message."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new event loop (a runtime used by several loops, as in tests): what the old
            # one left can never finish here.
            self._loop, self._waiting, self._drain = loop, [], None
            self._applying, self._busy = set(), set()
        pending = _Pending(member, call, digest, loop.create_future())
        self._waiting.append(pending)
        if self._drain is None:
            self._drain = asyncio.create_task(self._drain_all())
        return await pending.answer

    async def _drain_all(self) -> None:
        try:
            while self._waiting:
                if len(self._waiting) < GROUP_CAP:
                    await asyncio.sleep(GROUP_WINDOW_S)
                if len(self._applying) >= self._parallel:
                    await asyncio.wait(self._applying, return_when=asyncio.FIRST_COMPLETED)
                group = self._take()
                if group:
                    self._start(group)
                elif self._applying:  # what waits is from stations with a group under way
                    await asyncio.wait(self._applying, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._drain = None
            for pending in self._waiting:  # cancelled (shutdown): nothing was applied
                pending.answer.cancel()
            self._waiting.clear()

    def _start(self, group: list[_Pending]) -> None:
        stations = {pending.member.id for pending in group}
        self._busy |= stations
        task = asyncio.create_task(self._apply_group(group))
        self._applying.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._applying.discard(finished)
            self._busy -= stations

        task.add_done_callback(done)

    def _take(self) -> list[_Pending]:
        """The next group, oldest first: at most one CALL per charge point id, and none of a
        station whose CALL is being applied (a station that reconnected may still have a CALL
        of its old connection waiting; two CALLs of one station must see each other's effects
        and stored answers, in order)."""
        group: list[_Pending] = []
        later: list[_Pending] = []
        stations: set[str] = set()
        for pending in self._waiting:
            if pending.answer.done():  # its connection gave up: it was never applied
                continue
            station = pending.member.id
            if len(group) >= GROUP_CAP or station in stations or station in self._busy:
                later.append(pending)
            else:
                stations.add(station)
                group.append(pending)
        self._waiting = later
        return group

    async def _apply_group(self, group: list[_Pending]) -> None:
        try:
            try:
                answers = await _applied(group, isolated=False)
            except _IsolateError:
                log.debug("a CALL of a group of %d was refused: savepoints for each", len(group))
                for pending in group:
                    pending.member.forget_call_effects()
                answers = await _applied(group, isolated=True)
        except Exception as error:
            for pending in group:
                pending.member.forget_call_effects()
            if len(group) == 1:
                _settle(group[0].answer, error=error)
                return
            log.warning("a group of %d CALLs failed; applying each alone", len(group))
            for pending in group:
                await self._apply_group([pending])
            return
        except BaseException:
            for pending in group:
                pending.answer.cancel()
            raise
        for pending, answer in zip(group, answers, strict=True):
            _settle(pending.answer, answer)


async def _applied(group: Sequence[_Pending], *, isolated: bool) -> list[str | None]:
    """Apply the group in one transaction; the answers, in the group's order. Not
    ``isolated``: a refused CALL in a group of several raises :class:`_IsolateError` (the
    transaction rolls back) instead of being undone alone in its savepoint."""
    runtime = group[0].member.runtime
    answers: list[str | None] = []
    kept: list[tuple[ReplyKey, StoredReply]] = []
    applied: list[_Pending] = []
    async with runtime.uow() as uow:
        if not isolated and len(group) > 1:
            # The sessions' conditional updates in one batch; a session another writer
            # changed meanwhile fails the batch, and the group goes again with savepoints.
            uow.sessions.defer_updates()
        keys = [pending.member.replay_key(pending.call) for pending in group]
        stored = await stored_replies(uow, [key for key in keys if key is not None])
        for pending, key in zip(group, keys, strict=True):
            earlier = None if key is None else stored.get(key)
            if earlier is not None:
                same = earlier.request_hash == pending.digest and (
                    earlier.action == pending.call.action
                )
                answers.append(earlier.response if same else None)
                continue
            try:
                async with uow.savepoint() if isolated else contextlib.nullcontext():
                    answer, keep = await pending.member.apply_new_call(
                        uow, pending.call, pending.digest
                    )
                    if keep is None:
                        if not isolated and len(group) > 1:
                            raise _IsolateError
                        raise _RefusedCallError(answer)
            except SessionsChangedError as changed:
                raise _IsolateError from changed
            except _RefusedCallError as undone:
                pending.member.forget_call_effects()
                answers.append(undone.answer)
                continue
            kept.append(keep)
            applied.append(pending)
            answers.append(answer)
        if kept:
            await keep_replies(uow, runtime.clock, kept)
            try:
                await uow.commit()
            except SessionsChangedError as changed:
                raise _IsolateError from changed
    for pending in applied:
        pending.member.call_committed(pending.call.unique_id)
    return answers


def _settle(
    future: asyncio.Future[str | None],
    answer: str | None = None,
    error: BaseException | None = None,
) -> None:
    if future.done():  # the connection stopped waiting; a retry gets the stored answer
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(answer)


_committers: weakref.WeakKeyDictionary[object, GroupCommitter] = weakref.WeakKeyDictionary()


def group_committer(runtime: Runtime) -> GroupCommitter:
    """The committer of ``runtime``'s database, shared by all its stations' connections."""
    committer = _committers.get(runtime.uow)
    if committer is None:
        sqlite = runtime.settings.uses_sqlite
        committer = GroupCommitter(1 if sqlite else PARALLEL_GROUPS_POSTGRES)
        _committers[runtime.uow] = committer
    return committer
