"""OCPP-J framing on top of the ``ocpp`` library: CALL frames, their answers, raw frames.

The station's outgoing CALLs are framed here rather than through ``ChargePoint.call`` so that
(a) the duplicate fault can write the *same* frame (same message id) twice and consume both
answers (OCPP-J 1.6 §4.2.1 CALL: the message id identifies the request), and
(b) payloads skip ``dataclasses.asdict``'s deep copy, which dominated the simulator's CPU time
with thousands of stations. Keys are converted with the library's own ``snake_to_camel_case``
(cached per key), responses are parsed into the library's ``call_result`` classes and, when
validation is on, both are checked against the library's JSON schemas exactly as ``call`` does.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, cast

from ocpp.charge_point import (
    camel_to_snake_case,
    snake_to_camel_case,
)
from ocpp.messages import (
    Call,
    MessageType,
    validate_payload,
)
from ocpp.routing import after, on

F = TypeVar("F", bound=Callable[..., Any])
CLOSED = object()  # put on a ChargePoint's response queue when its socket is gone


class ConnectionLostError(Exception):
    """The websocket went away while a CALL was in flight; the message stays queued."""


def on_action(action: str) -> Callable[[F], F]:
    """``ocpp.routing.on`` with a type: the handler answering a CSMS-initiated CALL."""
    return cast(Callable[[F], F], on(action))


def after_action(action: str) -> Callable[[F], F]:
    """``ocpp.routing.after``: runs once the CALLRESULT has been sent."""
    return cast(Callable[[F], F], after(action))


def basic_auth(user: str, password: str) -> str:
    """OCPP security profile 1/2 (1.6 Security Whitepaper, 2.0.1 Part 2 §A00): HTTP Basic
    with the charge point id as user."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


@cache
def _camel_key(key: str) -> str:
    return str(next(iter(snake_to_camel_case({key: None}))))


def camel_payload(value: Any) -> Any:
    """A payload dataclass (or nested dicts/lists) as the camelCase JSON body, Nones dropped."""
    if isinstance(value, dict):
        return {_camel_key(k): camel_payload(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [camel_payload(v) for v in value if v is not None]
    if isinstance(value, str | int | float):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
        return {_camel_key(k): camel_payload(v) for k, v in items if v is not None}
    return value


def is_call_frame(raw: str) -> bool:
    try:
        msg = json.loads(raw)
    except ValueError:
        return False
    return isinstance(msg, list) and bool(msg) and msg[0] == MessageType.Call


class RawTap:
    """Mixin for the ``ocpp`` ChargePoint: hands the next non-CALL frame to ``raw_waiter`` as
    text, so tests can see the server's literal answer to a malformed frame."""

    raw_waiter: asyncio.Future[str] | None = None

    async def route_message(self, raw_msg: str) -> None:
        waiter = self.raw_waiter
        if waiter is not None and not waiter.done() and not is_call_frame(raw_msg):
            waiter.set_result(raw_msg)
            return
        await super().route_message(raw_msg)  # type: ignore[misc]


async def _answer(cp: Any, unique_id: str, wait_s: float) -> Any:
    """The CALLRESULT/CALLERROR for ``unique_id``; late answers to earlier calls are skipped."""
    async with asyncio.timeout(wait_s):
        while True:
            msg = await cp._response_queue.get()
            if msg is CLOSED:
                cp._response_queue.put_nowait(CLOSED)
                raise ConnectionLostError
            if msg.unique_id == unique_id:
                return msg


async def exchange(
    cp: Any, payload: Any, *, copies: int, wait_s: float, extra_wait_s: float, validate: bool
) -> Any:
    """Write one CALL frame ``copies`` times and return the first answer as a ``call_result``
    instance. Raises the library's OCPPError for a CALLERROR, TimeoutError without an answer,
    ConnectionLostError when the socket closes. A missing answer to a copy is tolerated."""
    action = type(payload).__name__
    frame = Call(unique_id=str(uuid.uuid4()), action=action, payload=camel_payload(payload))
    if validate:
        await validate_payload(frame, cp._ocpp_version)
    text = frame.to_json()
    async with cp._call_lock:  # one outstanding CALL per direction (OCPP-J §4.1.1)
        for _ in range(copies):
            await cp._send(text)
        first = await _answer(cp, frame.unique_id, wait_s)
        for _ in range(copies - 1):
            try:
                await _answer(cp, frame.unique_id, extra_wait_s)
            except TimeoutError:
                break
    if first.message_type_id == MessageType.CallError:
        raise first.to_exception()
    if validate:
        first.action = action
        await validate_payload(first, cp._ocpp_version)
    return getattr(cp._call_result, action)(**camel_to_snake_case(first.payload))
