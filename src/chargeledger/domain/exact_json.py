"""JSON whose numbers keep every digit of their Decimal (DESIGN §2: money is never a float).

``json`` writes a Decimal only through ``default``, which must return a JSON value: a float
would round (``0.1`` is fine, ``1234567.8912345678`` is not), a string would be a string. So
each Decimal is written as a marked string and the marks are taken off afterwards, leaving
the plain number. The mark is random per process, so no text from outside can pose as one.
Instants are written in UTC with ``Z`` (OCPI 2.2.1 §16.2), to the second.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_MARK = secrets.token_hex(8)
_NUMBER = re.compile(f'"{_MARK}(-?[0-9.]+)"')


def utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(value: object) -> str:
    if isinstance(value, Decimal) and value.is_finite():
        return f"{_MARK}{value:f}"
    if isinstance(value, datetime):
        return utc_text(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(document: Any, indent: int | None = None) -> str:
    """``document`` as JSON (compact, or indented for reading), Decimals as exact numbers."""
    separators = (",", ":") if indent is None else None
    text = json.dumps(document, default=_value, separators=separators, indent=indent)
    return _NUMBER.sub(r"\1", text)
