"""What a roaming partner's eMSP answered when asked whether its token may charge here now:
real-time authorisation of OCPI 2.2.1 (§12.2.1.2, ``POST {tokens}/{uid}/authorize``).

Each question is kept with its answer (append-only, but for the session it let start, noted
once in that start's transaction): the Authorize that follows reads it in its own
transaction, and the session it let start names its ``authorization_reference`` (§9.3.1,
§10.3.1: "SHALL contain the same value" as the eMSP gave). An eMSP that could not be
reached, or answered with something we cannot use, is kept as no answer (``allowed`` None),
so a token whose eMSP must be asked (``IssuerCheck.REQUIRED``) is refused then, never let
through on an older answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from chargeledger.domain.ids import new_id

# One arrival at a station (its Authorize, then its start) asks once: an answer younger than
# this is used again rather than asked anew.
ASK_AGAIN_AFTER = timedelta(seconds=60)
# How long an answer decides the station's messages: past ``ASK_AGAIN_AFTER`` with room for
# the question itself, so a message never finds the answer its edge just relied on expired.
ANSWER_DECIDES_FOR = timedelta(minutes=5)
# A session that starts up to this long after an answer that allowed its token (drivers
# dawdle between badge and plug) is the one that answer let start, and carries its reference.
STARTED_WITHIN = timedelta(minutes=15)


class AnswerKind(StrEnum):
    """How the eMSP said it: asked in real time (§12.2.1.2), or by commanding the start
    itself (START_SESSION, §13.3.5: its ``authorization_reference`` is the session's too)."""

    AUTHORIZE = "authorize"
    COMMAND = "command"


class Allowed(StrEnum):
    """§12.4.1 AllowedType."""

    ALLOWED = "ALLOWED"
    BLOCKED = "BLOCKED"
    EXPIRED = "EXPIRED"
    NO_CREDIT = "NO_CREDIT"
    NOT_ALLOWED = "NOT_ALLOWED"


@dataclass(frozen=True, slots=True)
class IssuerAnswer:
    uid: str
    partner_id: uuid.UUID
    asked_at: datetime
    allowed: Allowed | None  # None: no usable answer (unreachable, refused, malformed)
    reference: str | None = None
    session_id: uuid.UUID | None = None  # the session this answer let start, once it did
    kind: AnswerKind = AnswerKind.AUTHORIZE
    id: uuid.UUID = field(default_factory=new_id)


def read_authorization_info(raw: Any) -> tuple[Allowed, str | None] | None:
    """§12.3.2 AuthorizationInfo: its ``allowed`` and ``authorization_reference``
    (CiString(36)); None when it is not one."""
    if not isinstance(raw, Mapping):
        return None
    try:
        allowed = Allowed(str(raw.get("allowed")))
    except ValueError:
        return None
    reference = raw.get("authorization_reference")
    if reference is not None and (not isinstance(reference, str) or not 0 < len(reference) <= 36):
        return None
    return allowed, reference


def issuer_verdict(answer: IssuerAnswer | None, must_ask: bool) -> Allowed | None:
    """What a token's eMSP's latest answer (within ``ANSWER_DECIDES_FOR``) means now: its
    ``allowed``; without one, refused (None) when the eMSP must be asked (NEVER), else ALLOWED
    (ALLOWED_OFFLINE: the list decides when the eMSP cannot be reached, §12.4.6)."""
    if answer is not None and answer.allowed is not None:
        return answer.allowed
    return None if must_ask else Allowed.ALLOWED
