"""Signatures of our outgoing webhooks (DESIGN §6: webhooks out are signed).

Header ``Chargeledger-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256 (RFC 2104, FIPS 180-4) with the endpoint's secret over the bytes
``<t>.<body>``: the timestamp is signed with the body, so a receiver that refuses old
timestamps (we suggest 5 minutes) cannot be fed a replayed request. The same scheme as the
PSPs' webhooks we verify ourselves, so integrators know it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from chargeledger.errors import InvalidInputError

SIGNATURE_HEADER = "Chargeledger-Signature"
SCHEME = "v1"


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, at: datetime, body: bytes) -> str:
    """The header value for ``body`` sent at ``at``."""
    timestamp = int(at.timestamp())
    return f"t={timestamp},{SCHEME}={_digest(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    now: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> None:
    """What a receiver does (and our tests do): ``invalid_signature`` unless the header
    signs ``body`` with ``secret`` within ``tolerance`` of ``now``."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
        given = parts[SCHEME]
    except (KeyError, ValueError) as exc:
        raise InvalidInputError("malformed signature header", code="invalid_signature") from exc
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        raise InvalidInputError("signature timestamp out of tolerance", code="invalid_signature")
    if not hmac.compare_digest(given, _digest(secret, timestamp, body)):
        raise InvalidInputError("signature does not match", code="invalid_signature")
