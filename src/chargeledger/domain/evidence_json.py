"""An evidence pack as JSON-ready documents, one per file of its ZIP (issue 15: "ZIP of
JSON"), so that a PSP, an arbiter or the customer's own tools read the facts without our
software.

Numbers that are money or meter readings are strings of the exact ``Decimal`` (never a float,
DESIGN §2: ``0.1`` stays ``"0.1"``), instants are ISO 8601 in UTC with ``Z`` (RFC 3339), ids
are strings, and every field keeps the name it has in :mod:`chargeledger.domain.evidence`.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from chargeledger.domain.evidence import EvidencePack

# The JSON documents of a pack, in the order its ZIP lists them (``<name>.json``).
DOCUMENT_NAMES = (
    "session",
    "meter",
    "signed_readings",
    "ocpp_log",
    "transaction_events",
    "state_changes",
    "tariff",
    "price",
    "payments",
    "case",
)


def instant(value: datetime) -> str:
    """``2024-03-04T08:00:00Z``: UTC, fractions of a second only where there are some."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """``value`` in types the ``json`` module writes as they are (see the module docstring):
    dataclasses become objects of their fields, tuples lists, Decimals exact strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return instant(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    # A float is refused like any other type: no figure of ours is one (DESIGN §2).
    raise TypeError(f"no JSON form for {type(value).__name__}")


def pack_documents(pack: EvidencePack) -> dict[str, Any]:
    """The pack's JSON documents by name (:data:`DOCUMENT_NAMES`, in that order)."""
    price: dict[str, Any] = {"price": jsonable(pack.price), "note": pack.price_note}
    documents: dict[str, Any] = {
        "session": {
            "title": pack.title,
            "generated_at": instant(pack.generated_at),
            "session": jsonable(pack.session),
        },
        "meter": jsonable(pack.meter_series),
        "signed_readings": jsonable(pack.signed_readings),
        "ocpp_log": jsonable(pack.ocpp_log),
        "transaction_events": jsonable(pack.transaction_events),
        "state_changes": jsonable(pack.state_changes),
        "tariff": jsonable(pack.tariff),
        "price": price,
        "payments": jsonable(pack.payment_events),
        "case": jsonable(pack.case),
    }
    return {name: documents[name] for name in DOCUMENT_NAMES}
