"""Reading an OCPP-J frame before anything else touches it: its size, its kind (text or
binary), its JSON, how deeply it nests and its shape; and the error codes in the spelling of
each protocol version.

Everything here is defensive because a frame is untrusted input (DESIGN §6): a frame is
refused with a ``FrameRefusedError`` that says what to answer, and the link answers it with a
CALLERROR and keeps the frame (DESIGN §2: nothing lost, nothing silent). Nothing in here may
raise anything else, whatever the bytes: a RecursionError from the JSON parser or a KeyError
from a binary frame would end the station's connection.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from ocpp.messages import Call, CallError, CallResult, MessageType

MAX_MESSAGE_ID_LENGTH = 36  # OCPP-J 1.6 §4.1.3, 2.0.1 Part 4 §4.1.3
# Deeper than any OCPP 1.6 or 2.0.1 message (a TransactionEvent's signed meter value is 8
# levels down): the schema check, the library's key conversion and our request hash all
# recurse, so an absurdly deep payload is refused before any of them sees it.
MAX_NESTING = 32
KEPT_CHARS = 65536  # how much of a refused frame is kept for inspection
KEPT_OVERSIZED_CHARS = 4096  # of a frame above the size limit: its head says what it was
UNKNOWN_ID = "-1"  # OCPP-J: the message id of a CALLERROR when none can be read

# OCPP-J error codes, 1.6 §4.2.3 and 2.0.1 Part 4 §4.3. Internally we use the 2.0.1 names.
CODES_16 = frozenset(
    {
        "NotImplemented",
        "NotSupported",
        "InternalError",
        "ProtocolError",
        "SecurityError",
        "FormationViolation",
        "PropertyConstraintViolation",
        "OccurenceConstraintViolation",
        "TypeConstraintViolation",
        "GenericError",
    }
)
CODES_201 = frozenset(
    {
        "FormatViolation",
        "GenericError",
        "InternalError",
        "MessageTypeNotSupported",
        "NotImplemented",
        "NotSupported",
        "OccurrenceConstraintViolation",
        "PropertyConstraintViolation",
        "ProtocolError",
        "RpcFrameworkError",
        "SecurityError",
        "TypeConstraintViolation",
    }
)
# 1.6 has no RpcFrameworkError and no MessageTypeNotSupported: a frame that is not an OCPP-J
# message does not "conform to the PDU structure", which 1.6 calls a FormationViolation.
_TO_16 = MappingProxyType(
    {
        "FormatViolation": "FormationViolation",
        "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
        "RpcFrameworkError": "FormationViolation",
        "MessageTypeNotSupported": "FormationViolation",
    }
)
_TO_201 = MappingProxyType(
    {
        "FormationViolation": "FormatViolation",
        "OccurenceConstraintViolation": "OccurrenceConstraintViolation",
    }
)
_SPELLING: Mapping[str, tuple[frozenset[str], Mapping[str, str]]] = MappingProxyType(
    {"1.6": (CODES_16, _TO_16), "2.0.1": (CODES_201, _TO_201)}
)

# The frame's type and message id, read from its first characters without parsing it.
_HEAD = re.compile(r'\A\s*\[\s*([234])\s*,\s*"([^"\\]{1,' + str(MAX_MESSAGE_ID_LENGTH) + r'})"')
_HEAD_CHARS = 200


def spelled(code: str, version: str) -> str:
    """``code`` as the station's protocol version spells it; GenericError when that version
    has no such code (a 1.6 station must never see a 2.0.1-only code, and vice versa)."""
    known, renamed = _SPELLING[version]
    code = renamed.get(code, code)
    return code if code in known else "GenericError"


class FrameRefusedError(Exception):
    """A frame we do not process. ``code`` in the 2.0.1 spelling; ``message_id`` is what the
    CALLERROR names (``-1`` when none can be read). ``answer``: the frame answers one of our
    CALLs (it gets no CALLERROR: the waiting command fails instead)."""

    def __init__(
        self, code: str, message_id: str, description: str, *, answer: bool = False
    ) -> None:
        super().__init__(description)
        self.code = code
        self.message_id = message_id
        self.description = description
        self.answer = answer


def peek(raw: str) -> tuple[int, str] | None:
    """(message type, message id) from the head of a frame, or None when it does not start
    like an OCPP-J message. Cheap whatever the frame's size or nesting."""
    match = _HEAD.match(raw[:_HEAD_CHARS])
    return None if match is None else (int(match.group(1)), match.group(2))


def is_answer(raw_msg: str | bytes) -> bool:
    """A CALLRESULT (3) or CALLERROR (4), told from the frame's first element without parsing
    the rest; anything else (CALLs, garbage) goes through the ordered path."""
    if not isinstance(raw_msg, str):
        return False
    head = raw_msg[:16].lstrip()
    return head.startswith("[") and head[1:].lstrip()[:1] in ("3", "4")


def request_hash(payload: Any) -> str:
    """What makes a repeated CALL the same request: its payload, canonically."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def code_and_description(callerror: str) -> tuple[str, str]:
    """The error code and description of a CALLERROR we wrote."""
    frame = json.loads(callerror)
    return str(frame[2]), str(frame[3])


def check_size(raw: str, limit: int) -> None:
    """Refuse a text frame above ``limit`` bytes (UTF-8, as it came over the wire) without
    parsing it (DESIGN §6: OCPP frames have size limits). The CALLERROR names the CALL when
    its message id can be read from the frame's head (FormatViolation: the payload cannot be
    taken as sent), else ``-1`` (RpcFrameworkError); the link stays up either way."""
    if len(raw) * 4 <= limit:  # no UTF-8 character takes more than 4 bytes
        return
    size = len(raw.encode("utf-8", "surrogatepass"))
    if size <= limit:
        return
    description = f"the frame has {size} bytes, above the limit of {limit}"
    head = peek(raw)
    if head is None:
        raise FrameRefusedError("RpcFrameworkError", UNKNOWN_ID, description)
    kind, message_id = head
    raise FrameRefusedError(
        "FormatViolation", message_id, description, answer=kind != MessageType.Call
    )


def binary_refusal() -> FrameRefusedError:
    """OCPP-J sends every message as a text frame (1.6J §4.1, 2.0.1 Part 4 §3.1)."""
    return FrameRefusedError(
        "RpcFrameworkError", UNKNOWN_ID, "a binary frame: OCPP-J messages are text frames"
    )


def binary_as_text(data: bytes) -> str:
    """A binary frame as it is kept: its bytes as far as they are UTF-8, the rest escaped."""
    return data[:KEPT_CHARS].decode("utf-8", "backslashreplace")


def keepable(text: str) -> str:
    """A refused frame as it is kept: whole up to ``KEPT_CHARS`` characters, else its first
    ``KEPT_OVERSIZED_CHARS`` (the head says what it was; a station sending oversized frames
    must not fill the database); NUL, which PostgreSQL's text cannot hold, as ``\\x00``."""
    kept = text if len(text) <= KEPT_CHARS else text[:KEPT_OVERSIZED_CHARS]
    return kept.replace("\x00", "\\x00")


def parse(raw: str) -> Call | CallResult | CallError:
    """The frame as the ``ocpp`` library's message object, numbers as Decimal (DESIGN §2).
    Parsed once: the library's ``unpack`` (which would parse again, and let a RecursionError
    through) is not used."""
    try:
        frame = json.loads(raw, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        head = peek(raw)
        if head is None:
            raise FrameRefusedError(
                "RpcFrameworkError", UNKNOWN_ID, "the frame is not JSON"
            ) from exc
        kind, message_id = head
        raise FrameRefusedError(
            "FormatViolation",
            message_id,
            "the frame is not JSON (or nests too deeply to read)",
            answer=kind != MessageType.Call,
        ) from exc
    if not isinstance(frame, list) or len(frame) < 3 or frame[0] not in (2, 3, 4):
        message_id = frame[1] if isinstance(frame, list) and len(frame) > 1 else UNKNOWN_ID
        code = "RpcFrameworkError"
        if (
            isinstance(frame, list)
            and frame
            and type(frame[0]) is int
            and frame[0] not in (2, 3, 4)
        ):
            code = "MessageTypeNotSupported"  # 2.0.1 Part 4 §4.3: a type we do not know
        raise FrameRefusedError(code, _readable_id(message_id), "not an OCPP-J message")
    if too_deep(frame, MAX_NESTING):
        raise FrameRefusedError(
            "FormatViolation",
            _readable_id(frame[1]),
            f"the frame nests deeper than {MAX_NESTING} levels",
            answer=frame[0] != MessageType.Call,
        )
    if frame[0] == MessageType.Call:
        return _call(frame)
    return _answer(frame)


def _readable_id(value: Any) -> str:
    return str(value)[:MAX_MESSAGE_ID_LENGTH] if value not in (None, "") else UNKNOWN_ID


def _call(frame: list[Any]) -> Call:
    if (
        len(frame) != 4
        or not isinstance(frame[1], str)
        or not 0 < len(frame[1]) <= MAX_MESSAGE_ID_LENGTH
        or not isinstance(frame[2], str)
        or not isinstance(frame[3], dict)
    ):
        raise FrameRefusedError(
            "FormatViolation", _readable_id(frame[1]), "a CALL is [2, messageId, action, payload]"
        )
    return Call(unique_id=frame[1], action=frame[2], payload=frame[3])


def _answer(frame: list[Any]) -> CallResult | CallError:
    """A CALLRESULT ``[3, id, payload]`` or CALLERROR ``[4, id, code, description, details]``
    (1.6J §4.2.2-4.2.3, 2.0.1 Part 4 §4.2.2-4.2.3)."""
    message_id = frame[1]
    if frame[0] == MessageType.CallResult:
        if len(frame) == 3 and isinstance(message_id, str) and isinstance(frame[2], dict):
            return CallResult(message_id, frame[2])
    elif (
        len(frame) == 5
        and isinstance(message_id, str)
        and isinstance(frame[2], str)
        and isinstance(frame[3], str)
        and isinstance(frame[4], dict)
    ):
        return CallError(message_id, frame[2], frame[3], frame[4])
    raise FrameRefusedError(
        "FormatViolation",
        _readable_id(message_id),
        "an answer is [3, messageId, payload] or [4, messageId, code, description, details]",
        answer=True,
    )


def too_deep(value: Any, limit: int) -> bool:
    """Whether lists and objects nest deeper than ``limit``; iterative, so a deep value
    cannot exhaust the stack here."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False
