"""What both protocol versions share on one station connection: frames read defensively,
every CALL applied exactly once within the station's boot, bad frames answered with a CALLERROR
in the station's own protocol spelling and kept.

OCPP-J (1.6J §4, 2.0.1 Part 4 §4): a CALL is ``[2, messageId, action, payload]``. A message id
we have answered before gets the stored answer again and changes nothing; the effects of a
CALL and its stored answer commit in one transaction, and the answer is sent after the commit.
That transaction is shared with the CALLs other stations sent meanwhile (``group_commit.py``:
one commit for a group, each CALL in its own savepoint).

Replay memory is scoped to the station's *boot*: each BootNotification (other than a repeat of
the one this connection already answered) starts a new epoch, and only answers stored in the
current epoch are replayed. A station that restarts its message-id counter after a reboot
therefore gets fresh handling, never an earlier boot's answer nor "id already used"; messages
it re-sends from before the reboot are made harmless by the sessions' own identities (1.6
transactionId and start reading, 2.0.1 transactionId and seqNo, a stop of a stopped
transaction). Stored answers are forgotten after ``CHARGELEDGER_OCPP_REPLY_RETENTION_HOURS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar, cast

from ocpp.exceptions import OCPPError, UnknownCallErrorCodeError
from ocpp.messages import Call, CallError, MessageType, validate_payload
from ocpp.routing import on

from chargeledger.bootstrap import Runtime
from chargeledger.domain.catalog import Station
from chargeledger.domain.station_link import StoredReply
from chargeledger.errors import ConflictError
from chargeledger.services.charging.station_messages import ReplyKey, keep_refused_frame
from chargeledger.services.charging.station_status import record_heartbeat
from chargeledger.services.ports import UnitOfWork
from chargeledger.services.transactions import in_transaction
from chargeledger.stations.call_handling import handle_call
from chargeledger.stations.frames import (
    UNKNOWN_ID,
    FrameRefusedError,
    binary_as_text,
    binary_refusal,
    check_size,
    code_and_description,
    is_answer,
    keepable,
    parse,
    request_hash,
    spelled,
)
from chargeledger.stations.group_commit import group_committer
from chargeledger.stations.held_sessions import HeldSessions
from chargeledger.stations.issuer_questions import ask_issuer_first
from chargeledger.stations.values import refuse_future_timestamps, wire_time

log = logging.getLogger("chargeledger.stations")

HEARTBEAT_INTERVAL_S = 300  # told to stations at boot (1.6 §4.2, 2.0.1 B01)
DRAIN_SECONDS = 10.0  # how long a closed connection's received CALLs may still take
BOOT = "BootNotification"
Handler = TypeVar("Handler", bound=Callable[..., Any])


def handles(action: str) -> Callable[[Handler], Handler]:
    """The ``ocpp`` library's ``@on`` route decorator, typed so mypy keeps the signature."""
    return cast(Callable[[Handler], Handler], on(action))


class Connection:
    """The ``ocpp`` library's view of a websocket: ``recv`` (text, or the bytes of a binary
    frame: the link refuses those itself), ``send`` of text and ``close``."""

    def __init__(
        self,
        receive: Callable[[], Awaitable[str | bytes]],
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
    ) -> None:
        self.recv = receive
        self.send = send
        self.close = close


class ExactlyOnce:
    """Mixed into the ``ocpp`` ChargePoint classes (central-system side).

    Handlers find the open unit of work in ``self.uow`` and must not commit it.
    """

    runtime: Runtime
    station: Station
    id: str
    _ocpp_version: str  # "1.6" or "2.0.1", set by the library's ChargePoint class
    _known_actions: frozenset[str]

    def __init__(
        self, charge_point_id: str, connection: Any, runtime: Runtime, station: Station
    ) -> None:
        # The ``ocpp`` ChargePoint comes next in the classes this is mixed into.
        super().__init__(charge_point_id, connection)  # type: ignore[call-arg]
        self._init_link(runtime, station)

    @property
    def wallet_floor(self) -> Decimal:
        """The operator-wide wallet floor, for accounts without one of their own."""
        return self.runtime.payments.wallet_floor

    def _init_link(self, runtime: Runtime, station: Station) -> None:
        self.runtime = runtime
        self.station = station
        self._limits = runtime.settings.ocpp
        self._uow: UnitOfWork | None = None
        self._held_replies: list[str] | None = None
        self._current_call_id: str | None = None
        self._after_commit: list[Callable[[], Awaitable[object]]] = []
        self._after_answer: list[Callable[[], Awaitable[object]]] = []
        self._answered: list[Callable[[], Awaitable[object]]] = []  # committed, not yet sent
        self._requests: set[asyncio.Task[object]] = set()  # our own CALLs, waiting
        self._epoch = 0  # the station's boot epoch; ``resume`` sets it when the link opens
        self._next_epoch: int | None = None
        self._boot_message_id: str | None = None  # the BootNotification this link answered
        self.held_sessions = HeldSessions()  # open sessions kept between meter values
        # Requests are validated against the OCPP JSON schemas in ``_apply`` before any
        # transaction opens (on SQLite transactions take turns; CPU work inside one would
        # hold up every other station), so the library need not validate them again.
        for handlers in self.route_map.values():  # type: ignore[attr-defined]
            handlers["_skip_schema_validation"] = True

    def resume(self, boot_epoch: int) -> None:
        """The station's current boot epoch, as stored when this connection opened."""
        self._epoch = boot_epoch

    def begin_epoch(self, boot_epoch: int) -> None:
        """Called by the BootNotification handler: this CALL's answer is the first of a new
        epoch; it takes effect when the CALL commits."""
        self._next_epoch = boot_epoch

    def accept_boot(self, boot_epoch: int) -> dict[str, Any]:
        """The fields of an accepted BootNotification's answer (1.6 §4.2, 2.0.1 B01: the
        CSMS time and the heartbeat interval); the answer starts epoch ``boot_epoch``."""
        self.begin_epoch(boot_epoch)
        return {
            "current_time": wire_time(self.runtime.clock.now()),
            "interval": HEARTBEAT_INTERVAL_S,
        }

    async def beat(self) -> str:
        """A Heartbeat (1.6 §4.6, 2.0.1 G02): note the station is alive; answer our time."""
        await record_heartbeat(self.uow, self.runtime.clock, self.station)
        return wire_time(self.runtime.clock.now())

    def after_commit(self, *jobs: Callable[[], Awaitable[object]]) -> None:
        """Run ``jobs`` in the background once this CALL's effects are committed (payment
        work that talks to a PSP must not hold the station's transaction open)."""
        self._after_commit.extend(jobs)

    def after_answer(self, *jobs: Callable[[], Awaitable[object]]) -> None:
        """Start ``jobs`` once this CALL's answer has gone out: a request of our own to the
        station follows the answer it waits on (1.6 §4.2, 2.0.1 B01: accepted, then asked).
        They wait on the station without a background slot and end with the connection."""
        self._after_answer.extend(jobs)

    async def ask(self, payload: Any) -> Any:
        """Send an operator's command and return the station's answer. A CALLERROR, or an
        answer we could not read (refused in ``route_message``), ends the command at once
        with a 409 ``station_call_error`` instead of an unhandled error."""
        try:
            return await self.call(payload, suppress=False)  # type: ignore[attr-defined]
        except OCPPError as error:
            detail = f"{error.code}: {error.description}"
        except UnknownCallErrorCodeError as error:  # a code no OCPP version defines
            detail = str(error)
        raise ConflictError(
            f"station {self.id} answered the command with an error ({detail})",
            code="station_call_error",
        )

    @property
    def uow(self) -> UnitOfWork:
        assert self._uow is not None, "handlers run inside route_message"
        return self._uow

    async def _send(self, message: str) -> None:
        """While a CALL is being applied its answer is held until the commit. Anything else
        (an operator's command to the station, sent meanwhile) goes out at once. A CALLERROR
        the library built (from an exception in a handler) is spelled for this version."""
        if message.startswith("[4"):
            message = self._respelled(message)
        if self._held_replies is not None and self._answers_current_call(message):
            self._held_replies.append(message)
            return
        await self._connection.send(message)  # type: ignore[attr-defined]

    def _answers_current_call(self, message: str) -> bool:
        frame = json.loads(message)
        return frame[0] in (MessageType.CallResult, MessageType.CallError) and (
            frame[1] == self._current_call_id
        )

    async def start(self) -> None:
        """Read frames until the station goes away. Answers to our own CALLs are routed at
        once; the station's CALLs are applied one after another by a worker, so an answer
        never waits behind a CALL being applied (OCPP-J allows one CALL outstanding in each
        direction: 1.6J §4.1.1, 2.0.1 Part 4 §4.1.1)."""
        calls: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        worker = asyncio.create_task(self._apply_in_order(calls))
        try:
            while True:
                raw_msg = await self._connection.recv()  # type: ignore[attr-defined]
                if worker.done():
                    worker.result()  # the worker failed: end the connection with its error
                if is_answer(raw_msg):
                    await self.route_message(raw_msg)
                else:
                    calls.put_nowait(raw_msg)
        finally:
            # The station is gone: finish what it already sent (its effects and stored
            # answers stay right for a retry), then stop; our own requests get no answer.
            for request in self._requests:
                request.cancel()
            calls.put_nowait(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(worker), DRAIN_SECONDS)

    async def _apply_in_order(self, calls: asyncio.Queue[str | bytes | None]) -> None:
        while (raw_msg := await calls.get()) is not None:
            try:
                await self.route_message(raw_msg)
            except Exception:
                # The answer could not be sent (the station left); its effects, if any, are
                # committed with the stored answer, which a retry will get.
                log.warning("could not finish a CALL from %s", self.id, exc_info=True)

    async def route_message(self, raw_msg: str | bytes) -> None:
        """Every frame passes here, whatever it is: nothing it contains may end the link."""
        try:
            if isinstance(raw_msg, bytes):
                raise binary_refusal()
            check_size(raw_msg, self._limits.max_frame_bytes)
            message = parse(raw_msg)
        except FrameRefusedError as refusal:
            await self._refused(raw_msg, refusal)
            return
        if isinstance(message, Call):
            await self._apply(raw_msg, message)
        else:
            # Answers to our own CALLs go to the waiting ``call()`` through the library.
            self._response_queue.put_nowait(message)  # type: ignore[attr-defined]

    async def _refused(self, raw_msg: str | bytes, refusal: FrameRefusedError) -> None:
        """A frame we do not process: kept, and answered as far as anything can be."""
        text = binary_as_text(raw_msg) if isinstance(raw_msg, bytes) else raw_msg
        code = spelled(refusal.code, self._ocpp_version)
        if refusal.answer:
            # An answer gets no CALLERROR (1.6J §4.2.3 answers CALLs only): the command
            # waiting for it fails instead of waiting for its timeout.
            await self._keep_rejected(text, code, refusal.description)
            if refusal.message_id != UNKNOWN_ID:
                failed = CallError(refusal.message_id, code, refusal.description, {})
                self._response_queue.put_nowait(failed)  # type: ignore[attr-defined]
        else:
            await self._refuse(text, refusal.message_id, code, refusal.description)

    async def _apply(self, raw_msg: str, call: Call) -> None:
        if call.action not in self.route_map:  # type: ignore[attr-defined]
            # OCPP-J (1.6 §4.2.3, 2.0.1 Part 4 §4.3): NotImplemented for an action the receiver
            # does not know, NotSupported for one it knows but does not take.
            known = call.action in self._known_actions
            code = "NotSupported" if known else "NotImplemented"
            await self._refuse(
                raw_msg, call.unique_id, code, f"{call.action} is not taken by this central system"
            )
            return
        try:
            await validate_payload(call, self._ocpp_version)
            latest = self.runtime.clock.now() + timedelta(
                minutes=self._limits.future_tolerance_minutes
            )
            refuse_future_timestamps(call.payload, latest)
        except OCPPError as error:
            refusal = self._call_error(call.unique_id, error)
            await self._keep_rejected(raw_msg, *code_and_description(refusal))
            await self._connection.send(refusal)  # type: ignore[attr-defined]
            return
        await ask_issuer_first(self.runtime, self.station, call)  # roaming tokens, outside
        # Applied with the CALLs of other stations that arrive meanwhile, in one transaction
        # (``group_commit.py``); the answer comes back after its commit.
        reply = await group_committer(self.runtime).apply(self, call, request_hash(call.payload))
        # The group's unit of work is closed here: on SQLite a second one may not open inside it.
        if reply is None:
            await self._refuse(
                raw_msg,
                call.unique_id,
                "ProtocolError",
                "this message id was already used for another message",
            )
            return
        if json.loads(reply)[0] != MessageType.CallResult:
            await self._keep_rejected(raw_msg, *code_and_description(reply))
        answered, self._answered = self._answered, []
        await self._connection.send(reply)  # type: ignore[attr-defined]
        for job in answered:
            request = self.runtime.spawn(job(), slot=False)
            self._requests.add(request)
            request.add_done_callback(self._requests.discard)

    async def _handle_call(self, msg: Call) -> None:
        """The library's dispatch without its per-message CPU work (``call_handling.py``)."""
        await handle_call(self, msg, super()._handle_call)  # type: ignore[misc]

    def replay_key(self, call: Call) -> ReplyKey | None:
        """Where an earlier answer to ``call`` in this boot is kept. A BootNotification that
        is not a repeat of the one this connection answered starts a new boot and a new epoch,
        whatever message ids the previous boot used: it is never replayed."""
        if call.action == BOOT and call.unique_id != self._boot_message_id:
            return None
        return (self.id, self._epoch, call.unique_id)

    async def apply_new_call(
        self, uow: UnitOfWork, call: Call, request_hash: str
    ) -> tuple[str, tuple[ReplyKey, StoredReply] | None]:
        """Run the handler in the group's unit of work: its answer, and for a CALLRESULT the
        answer to keep with its effects (the group commits both or neither)."""
        self._uow, self._held_replies, self._current_call_id = uow, [], call.unique_id
        self._next_epoch = None
        self.held_sessions.forget()  # left by a CALL that never finished (cancelled)
        try:
            try:
                await self._handle_call(call)
            except OCPPError as error:
                self._held_replies.append(self._call_error(call.unique_id, error))
            replies = self._held_replies
        finally:
            self._uow, self._held_replies, self._current_call_id = None, None, None
        reply = (
            replies[0]
            if replies
            else self._call_error(call.unique_id, OCPPError(description="no answer was produced"))
        )
        if json.loads(reply)[0] != MessageType.CallResult:
            return reply, None
        epoch = self._epoch if self._next_epoch is None else self._next_epoch
        return reply, (
            (self.id, epoch, call.unique_id),
            StoredReply(call.action, request_hash, reply),
        )

    def call_committed(self, message_id: str) -> None:
        """After the CALL's commit: a BootNotification's new epoch takes effect, the work its
        handler left for after the commit starts, and its requests wait for the answer."""
        if self._next_epoch is not None:
            self._epoch, self._boot_message_id = self._next_epoch, message_id
        for job in self._after_commit:
            self.runtime.spawn(job())
        self._answered = self._after_answer
        self.held_sessions.committed()
        self.forget_call_effects()

    def forget_call_effects(self) -> None:
        """The CALL's effects were undone or are done with: nothing of it is left to run."""
        self._after_commit, self._after_answer, self._next_epoch = [], [], None
        self.held_sessions.forget()

    async def _refuse(self, raw_msg: str, message_id: str, code: str, description: str) -> None:
        spelling = spelled(code, self._ocpp_version)
        reply = json.dumps([MessageType.CallError, message_id, spelling, description, {}])
        await self._keep_rejected(raw_msg, spelling, description)
        await self._connection.send(reply)  # type: ignore[attr-defined]

    async def _keep_rejected(self, raw_msg: str, code: str, description: str) -> None:
        """Nothing lost: a refused frame is kept with the error we answered."""
        log.warning("refused a frame from %s: %s %s", self.id, code, description)
        kept = keepable(raw_msg)
        await in_transaction(
            self.runtime.uow,
            keep_refused_frame,
            self.runtime.clock,
            self.id,
            kept,
            code,
            description,
        )

    def _call_error(self, message_id: str, error: OCPPError) -> str:
        """A CALLERROR in this version's spelling, with plain-JSON details (the library may
        put objects in them)."""
        details = {"cause": str(error.details.get("cause"))} if error.details else {}
        code = spelled(error.code, self._ocpp_version)
        return str(CallError(message_id, code, error.description, details).to_json())

    def _respelled(self, message: str) -> str:
        frame = json.loads(message)
        code = spelled(str(frame[2]), self._ocpp_version)
        if code == frame[2]:
            return message
        return str(CallError(frame[1], code, frame[3], frame[4]).to_json())
