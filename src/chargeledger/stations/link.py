"""What both protocol versions share on one station connection: frames parsed with exact
numbers, every CALL applied exactly once, bad frames answered with a CALLERROR and kept.

OCPP-J (1.6J §4, 2.0.1 Part 4 §4): a CALL is ``[2, messageId, action, payload]``. A message id
we have answered before gets the stored answer again and changes nothing; the effects of a
CALL and its stored answer commit in one transaction, and the answer is sent after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar, cast

from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallError, MessageType, unpack, validate_payload
from ocpp.routing import on

from chargeledger.bootstrap import Runtime
from chargeledger.domain.catalog import Station
from chargeledger.domain.station_link import StoredReply
from chargeledger.services.ports import UnitOfWork

log = logging.getLogger("chargeledger.stations")

MAX_MESSAGE_ID_LENGTH = 36
HEARTBEAT_INTERVAL_S = 300  # told to stations at boot (1.6 §4.2, 2.0.1 B01)
DRAIN_SECONDS = 10.0  # how long a closed connection's received CALLs may still take
Handler = TypeVar("Handler", bound=Callable[..., Any])


def handles(action: str) -> Callable[[Handler], Handler]:
    """The ``ocpp`` library's ``@on`` route decorator, typed so mypy keeps the signature."""
    return cast(Callable[[Handler], Handler], on(action))


# OCPP-J: messageId is at most 36 characters


class Connection:
    """The ``ocpp`` library's view of a websocket: ``recv`` and ``send`` of text frames."""

    def __init__(self, receive: Any, send: Any) -> None:
        self.recv = receive
        self.send = send


def _is_answer(raw_msg: str) -> bool:
    """A CALLRESULT (3) or CALLERROR (4), told from the frame's first element without parsing
    the rest; anything else (CALLs, garbage) goes through the ordered path."""
    head = raw_msg.lstrip()
    return head.startswith("[") and head[1:].lstrip()[:1] in ("3", "4")


def _request_hash(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ExactlyOnce:
    """Mixed into the ``ocpp`` ChargePoint classes (central-system side).

    Handlers find the open unit of work in ``self.uow`` and must not commit it.
    """

    runtime: Runtime
    station: Station
    id: str
    _format_error_code: str  # 1.6: FormationViolation, 2.0.1: FormatViolation
    _rpc_error_code: str  # an unreadable frame; 1.6 has no RpcFrameworkError
    _known_actions: frozenset[str]
    # Codes the ``ocpp`` library's schema check uses, in the spelling of this version.
    _error_spelling: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def _init_link(self, runtime: Runtime, station: Station) -> None:
        self.runtime = runtime
        self.station = station
        self._uow: UnitOfWork | None = None
        self._held_replies: list[str] | None = None
        self._current_call_id: str | None = None
        self._after_commit: list[Callable[[], Awaitable[object]]] = []
        # Requests are validated against the OCPP JSON schemas in ``_apply`` before any
        # transaction opens (on SQLite transactions take turns; CPU work inside one would
        # hold up every other station), so the library need not validate them again.
        for handlers in self.route_map.values():  # type: ignore[attr-defined]
            handlers["_skip_schema_validation"] = True

    def after_commit(self, job: Callable[[], Awaitable[object]]) -> None:
        """Run ``job`` in the background once this CALL's effects are committed (payment
        work that talks to a PSP must not hold the station's transaction open)."""
        self._after_commit.append(job)

    @property
    def uow(self) -> UnitOfWork:
        assert self._uow is not None, "handlers run inside route_message"
        return self._uow

    async def _send(self, message: str) -> None:
        """While a CALL is being applied its answer is held until the commit. Anything else
        (an operator's command to the station, sent meanwhile) goes out at once."""
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
        calls: asyncio.Queue[str | None] = asyncio.Queue()
        worker = asyncio.create_task(self._apply_in_order(calls))
        try:
            while True:
                raw_msg = await self._connection.recv()  # type: ignore[attr-defined]
                if worker.done():
                    worker.result()  # the worker failed: end the connection with its error
                if _is_answer(raw_msg):
                    await self.route_message(raw_msg)
                else:
                    calls.put_nowait(raw_msg)
        finally:
            # The station is gone: finish what it already sent (its effects and stored
            # answers stay right for a retry), then stop.
            calls.put_nowait(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(worker), DRAIN_SECONDS)

    async def _apply_in_order(self, calls: asyncio.Queue[str | None]) -> None:
        while (raw_msg := await calls.get()) is not None:
            try:
                await self.route_message(raw_msg)
            except Exception:
                # The answer could not be sent (the station left); its effects, if any, are
                # committed with the stored answer, which a retry will get.
                log.warning("could not finish a CALL from %s", self.id, exc_info=True)

    async def route_message(self, raw_msg: str) -> None:
        try:
            frame = json.loads(raw_msg, parse_float=Decimal)
        except ValueError:
            await self._refuse(raw_msg, "-1", self._rpc_error_code, "the frame is not JSON")
            return
        if not isinstance(frame, list) or len(frame) < 3 or frame[0] not in (2, 3, 4):
            message_id = frame[1] if isinstance(frame, list) and len(frame) > 1 else "-1"
            await self._refuse(
                raw_msg,
                str(message_id)[:MAX_MESSAGE_ID_LENGTH],
                self._rpc_error_code,
                "not an OCPP-J message",
            )
            return
        if frame[0] != MessageType.Call:
            # Answers to our own CALLs go to the waiting ``call()`` through the library.
            try:
                self._response_queue.put_nowait(unpack(raw_msg))  # type: ignore[attr-defined]
            except OCPPError:
                log.warning("unparseable answer from %s: %s", self.id, raw_msg[:200])
            return
        if (
            len(frame) != 4
            or not isinstance(frame[1], str)
            or not 0 < len(frame[1]) <= MAX_MESSAGE_ID_LENGTH
            or not isinstance(frame[2], str)
            or not isinstance(frame[3], dict)
        ):
            message_id = str(frame[1])[:MAX_MESSAGE_ID_LENGTH] if frame[1] else "-1"
            await self._refuse(
                raw_msg,
                message_id,
                self._format_error_code,
                "a CALL is [2, messageId, action, payload]",
            )
            return
        await self._apply(raw_msg, Call(unique_id=frame[1], action=frame[2], payload=frame[3]))

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
            await validate_payload(call, self._ocpp_version)  # type: ignore[attr-defined]
        except OCPPError as error:
            refusal = self._call_error(call.unique_id, error)
            await self._keep_rejected(raw_msg, refusal)
            await self._connection.send(refusal)  # type: ignore[attr-defined]
            return
        request_hash = _request_hash(call.payload)
        async with self.runtime.uow() as uow:
            stored = await uow.station_links.stored_reply(self.id, call.unique_id)
            if stored is None:
                reply: str | None = await self._apply_new(uow, call, request_hash)
            elif stored.request_hash == request_hash and stored.action == call.action:
                reply = stored.response
            else:
                reply = None
        # The unit of work is closed here: on SQLite a second one may not open inside it.
        if reply is None:
            await self._refuse(
                raw_msg,
                call.unique_id,
                "ProtocolError",
                "this message id was already used for another message",
            )
            return
        if json.loads(reply)[0] != MessageType.CallResult:
            await self._keep_rejected(raw_msg, reply)
        await self._connection.send(reply)  # type: ignore[attr-defined]

    async def _apply_new(self, uow: UnitOfWork, call: Call, request_hash: str) -> str:
        """Run the handler; keep its effects and its answer together, or neither."""
        self._uow, self._held_replies, self._current_call_id = uow, [], call.unique_id
        try:
            try:
                await self._handle_call(call)  # type: ignore[attr-defined]
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
        if json.loads(reply)[0] == MessageType.CallResult:
            stored_reply = StoredReply(call.action, request_hash, reply)
            await uow.station_links.store_reply(
                self.id, call.unique_id, stored_reply, self.runtime.clock.now()
            )
            await uow.commit()
            for job in self._after_commit:
                self.runtime.spawn(job())
        else:
            await uow.rollback()
        self._after_commit = []
        return reply

    async def _refuse(self, raw_msg: str, message_id: str, code: str, description: str) -> None:
        reply = json.dumps([MessageType.CallError, message_id, code, description, {}])
        await self._keep_rejected(raw_msg, reply)
        await self._connection.send(reply)  # type: ignore[attr-defined]

    async def _keep_rejected(self, raw_msg: str, reply: str) -> None:
        """Nothing lost: a refused frame is kept with the error we answered."""
        answer = json.loads(reply)
        log.warning("refused a frame from %s: %s %s", self.id, answer[2], answer[3])
        async with self.runtime.uow() as uow:
            await uow.station_links.reject_frame(
                self.id,
                raw_msg[:65536],
                str(answer[2]),
                str(answer[3]),
                self.runtime.clock.now(),
            )
            await uow.commit()

    def _call_error(self, message_id: str, error: OCPPError) -> str:
        """A CALLERROR in this version's spelling, with plain-JSON details (the library may
        put objects in them)."""
        details = {"cause": str(error.details.get("cause"))} if error.details else {}
        code = self._error_spelling.get(error.code, error.code)
        return str(CallError(message_id, code, error.description, details).to_json())
