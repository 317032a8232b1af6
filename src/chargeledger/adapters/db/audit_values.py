"""Stored values as the JSON text of their canonical form (``domain.audit``), read straight
from the driver without SQLAlchemy's result processing.

Verification rehashes every chained record, so rows are read raw: SQLite hands back UUIDs as 32
hex digits, decimals as the fixed-scale text ``ExactDecimal`` stored, instants as
``YYYY-MM-DD HH:MM:SS.ffffff`` and JSON as text; asyncpg hands back ``UUID``, ``Decimal``,
aware ``datetime`` and ``date`` objects and JSON as text. Each writer below takes either form
and returns what :func:`chargeledger.domain.audit.json_fragment` returns for the canonical
value (a unit test holds them equal on both forms), so a record hashes the same on both back
ends and at write time and verification alike.

A value that is not what its column holds (text in a number column: an edit by hand) is
written as a JSON string of what was read: it never equals the value it replaced, and the
verification reports the record instead of stopping.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from json.encoder import encode_basestring as _json_string
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Date, Integer, String, Uuid
from sqlalchemy.types import TypeEngine

from chargeledger.adapters.db.types import ExactDecimal, UtcDateTime
from chargeledger.domain.audit import decimal_text, instant_text, json_fragment

Writer = Callable[[Any], str]
NULL = "null"
_ZERO = timedelta(0)


def _text(raw: Any) -> str:
    if raw is None:
        return NULL
    written: str = _json_string(raw if type(raw) is str else str(raw))
    return written


def _integer(raw: Any) -> str:
    if raw is None:
        return NULL
    if type(raw) is int:
        return str(raw)
    return _text(raw)


def _boolean(raw: Any) -> str:
    if raw is None:
        return NULL
    if raw is True or raw is False or (type(raw) is int and raw in (0, 1)):
        return "true" if raw else "false"
    return _text(raw)


def _uuid(raw: Any) -> str:
    if raw is None:
        return NULL
    if type(raw) is str:
        if len(raw) == 32 and raw.isalnum():  # SQLite: 32 hex digits (nothing to escape)
            raw = raw.lower()
            return f'"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"'
        return _text(raw.lower())  # PostgreSQL's text form: lower-case with hyphens
    return _text(str(raw))  # uuid.UUID, asyncpg's UUID: lower-case with hyphens


def _decimal(scale: int) -> Writer:
    def write(raw: Any) -> str:
        if raw is None:
            return NULL
        if type(raw) is str:
            # SQLite holds the text ExactDecimal wrote: already canonical unless negative.
            if len(raw) > scale and raw[-scale - 1] == "." and raw[0] != "-":
                return _text(raw)
            try:
                raw = Decimal(raw)
            except InvalidOperation:
                return _text(raw)
        if not isinstance(raw, Decimal | int):
            return _text(raw)
        return '"' + decimal_text(Decimal(raw), scale) + '"'

    return write


def _instant(raw: Any) -> str:
    if raw is None:
        return NULL
    if type(raw) is str:  # SQLite: "2026-01-31 22:50:00.000000", always UTC
        if len(raw) == 26 and raw[10] == " ":
            return _text(raw[:10] + "T" + raw[11:] + "Z")
        try:
            raw = datetime.fromisoformat(raw)
        except ValueError:
            return _text(raw)
        if raw.tzinfo is None:
            raw = raw.replace(tzinfo=UTC)
    if not isinstance(raw, datetime) or raw.tzinfo is None:
        return _text(raw)
    if raw.utcoffset() == _ZERO:  # asyncpg: always UTC
        return '"' + raw.isoformat(timespec="microseconds")[:26] + 'Z"'
    return '"' + instant_text(raw) + '"'


def _day(raw: Any) -> str:
    if raw is None:
        return NULL
    if type(raw) is date:
        return '"' + raw.isoformat() + '"'
    return _text(raw)


def _json(raw: Any) -> str:
    if raw is None:
        return NULL
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError:
            return _text(raw)
    return json_fragment(raw)


def writer_for(column_type: TypeEngine[Any]) -> Writer:
    """The fragment writer of a column of ``column_type``."""
    if isinstance(column_type, ExactDecimal):
        return _decimal(column_type.scale)
    if isinstance(column_type, UtcDateTime):
        return _instant
    if isinstance(column_type, Uuid):
        return _uuid
    if isinstance(column_type, JSON):
        return _json
    if isinstance(column_type, Boolean):
        return _boolean
    if isinstance(column_type, Date):
        return _day
    if isinstance(column_type, Integer):
        return _integer
    if isinstance(column_type, String):
        return _text
    raise TypeError(f"no canonical form for a {column_type!r} column")


def fast_writer_for(column: Column[Any]) -> Writer:
    """For a NOT NULL text or integer column, the C function that writes what it normally
    holds (a string, an integer); it raises ``TypeError`` on anything else, and the row is
    then written again with the :func:`writer_for` writers. Other columns: ``writer_for``."""
    if not column.nullable:
        if isinstance(column.type, String):
            return _json_string
        if isinstance(column.type, Integer):
            return int.__repr__
    return writer_for(column.type)


def select_expression(alias: str, column: Column[Any], dialect: str) -> str:
    """How a column is read for hashing. On PostgreSQL the server writes UUIDs, decimals,
    instants and days as text (in another process, in C; formats fixed here, not by the
    session's ``DateStyle``), in the very forms SQLite stores: asyncpg then builds no
    ``UUID``, ``Decimal`` or ``datetime`` per value, and both back ends share the writers."""
    name = f'{alias}."{column.name}"'
    if dialect != "postgresql":
        return name
    kind = column.type
    if isinstance(kind, Uuid | ExactDecimal):
        return f"CAST({name} AS TEXT)"
    if isinstance(kind, UtcDateTime):
        return f"to_char({name} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    if isinstance(kind, Date):
        return f"to_char({name}, 'YYYY-MM-DD')"
    return name
