"""A page of the sessions list and its keyset cursor (issue 17).

The cursor is opaque to clients: the URL-safe base64 of the last session's start time and id.
A page's ``next_cursor`` asks for the page after it (``?cursor=``); ``next_offset`` is still
given when the client pages by ``offset`` (the first page included), for the clients written
before the cursor. A cursor page costs the same wherever it is in the list; an offset page
reads and skips every session before it.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel
from pydantic_core import to_json

from chargeledger.api.schemas.sessions import SessionOut, session_fields
from chargeledger.domain.charging import Session
from chargeledger.domain.station_link import SessionCursor
from chargeledger.errors import InvalidInputError
from chargeledger.services.paging import Page

Cursor = Annotated[
    str | None,
    Query(max_length=200, description="the next_cursor of the page before (keyset paging)"),
]


class SessionPageOut(BaseModel):
    items: list[SessionOut]
    next_offset: int | None
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[Session], *, by_cursor: bool) -> SessionPageOut:
        more = page.next_offset is not None
        last = page.items[-1] if more and page.items else None
        return cls(
            items=[SessionOut.of(s) for s in page.items],
            next_offset=None if by_cursor else page.next_offset,
            next_cursor=None if last is None else encode_cursor(last),
        )


def page_json(page: Page[Session], *, by_cursor: bool) -> bytes:
    """The JSON of ``SessionPageOut.of(page, by_cursor=...)``, byte for byte, made from the
    sessions' plain fields by pydantic's own serialiser: no model is built or validated per
    row, which was a third of the list's own work (issue 17; ``test_session_pages`` holds the
    two to the same bytes)."""
    more = page.next_offset is not None
    last = page.items[-1] if more and page.items else None
    return to_json(
        {
            "items": [session_fields(s) for s in page.items],
            "next_offset": None if by_cursor else page.next_offset,
            "next_cursor": None if last is None else encode_cursor(last),
        }
    )


def encode_cursor(session: Session) -> str:
    text = f"{session.started_at.isoformat()}|{session.id.hex}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> SessionCursor:
    """The cursor a page handed out; anything else is a 422 ``invalid_cursor``."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        started, _, session_id = text.partition("|")
        started_at = datetime.fromisoformat(started)
        if started_at.tzinfo is None:
            raise ValueError("no offset")
        return SessionCursor(started_at, uuid.UUID(hex=session_id))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInputError(
            "the cursor is not one a page of this list handed out",
            code="invalid_cursor",
            field="cursor",
        ) from exc
