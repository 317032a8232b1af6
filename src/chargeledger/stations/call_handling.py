"""A station's CALL handed to its handler as the ``ocpp`` library does (``ChargePoint.
_handle_call`` of ocpp 2.1), without the library's per-message CPU work that our handlers do not
need: the signature of the handler read again for every message, and every payload key run
through two regular expressions to make it snake_case.

Why: on the central system that work runs inside the group's transaction (the handlers run
there, ``stations/group_commit.py``), and on SQLite that transaction holds the one write lock:
in ``bench/ocpp_ingest.py`` (100 closed-loop stations) it was a fifth of a group's samples in
``py-spy``. The keys are converted by the library's own function, once per distinct key; the
answer is built by the library's own functions. A route the fast path does not cover (no
handler, one with an ``@after`` hook, or one whose answers the library validates) goes
through the library unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from ocpp.charge_point import (
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.messages import Call

# Distinct payload keys remembered: OCPP's schemas have a few hundred; a bound keeps a station
# that invents keys (customData is open in 2.0.1) from growing the memory.
KEYS_REMEMBERED = 4096


@functools.lru_cache(maxsize=KEYS_REMEMBERED)
def snake_key(key: str) -> str:
    """``key`` as the library's ``camel_to_snake_case`` spells it."""
    return str(next(iter(camel_to_snake_case({key: None}))))


def snake_case(data: Any) -> Any:
    """The library's ``camel_to_snake_case`` of a JSON payload, each key converted once."""
    if isinstance(data, dict):
        return {snake_key(key): snake_case(value) for key, value in data.items()}
    if isinstance(data, list):
        return [snake_case(value) for value in data]
    return data


@functools.lru_cache(maxsize=256)
def _wants_message_id(function: Callable[..., Any]) -> bool:
    return "call_unique_id" in inspect.signature(function).parameters


async def handle_call(link: Any, msg: Call, library: Callable[[Call], Awaitable[object]]) -> None:
    """Run ``msg``'s handler and send its answer (or the CALLERROR of its failure) through
    ``link._send``, as the library's ``_handle_call`` (``library``) does. ``link``: the
    ``ocpp`` ChargePoint (its ``route_map``, ``logger`` and ``_send``)."""
    handlers = link.route_map.get(msg.action)
    if (
        handlers is None
        or "_on_action" not in handlers
        or "_after_action" in handlers
        or not handlers.get("_skip_schema_validation", False)
    ):
        await library(msg)
        return
    handler = handlers["_on_action"]
    payload = snake_case(msg.payload)
    try:
        if _wants_message_id(getattr(handler, "__func__", handler)):
            response = handler(**payload, call_unique_id=msg.unique_id)
        else:
            response = handler(**payload)
        if inspect.isawaitable(response):
            response = await response
    except Exception as error:
        link.logger.exception("Error while handling request '%s'", msg)
        await link._send(msg.create_call_error(error).to_json())
        return
    answer = snake_to_camel_case(remove_nones(serialize_as_dict(response)))
    await link._send(msg.create_call_result(answer).to_json())
