"""The sandbox PSP's webhooks: the signature scheme, its verification (signature and a
timestamp tolerance, DESIGN §6) and the events, read into our terms (split from
``sandbox.py``)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

from chargeledger.errors import InvalidInputError
from chargeledger.money import Money
from chargeledger.services.payments.gateway import (
    WEBHOOK_TOLERANCE_SECONDS,
    DisputeNotice,
    DisputePhase,
    Payout,
    WebhookEvent,
    WebhookKind,
    WebhookRejectedError,
)

SIGNATURE_HEADER = "sandbox-signature"


def sign(secret: str, timestamp: int, payload: bytes) -> str:
    """``t=<unix>,v1=<hex hmac-sha256 of "t.payload">`` (the scheme Stripe uses)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, payload: bytes, headers: Mapping[str, str], now: datetime) -> WebhookEvent:
    """The event of a delivery signed with ``secret`` within the tolerance of ``now``; any
    other delivery raises :class:`WebhookRejectedError` with its reason code."""
    lowered = {k.lower(): v for k, v in headers.items()}
    header = lowered.get(SIGNATURE_HEADER)
    if not header:
        raise WebhookRejectedError("no signature", code="webhook_unsigned")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError) as exc:
        raise WebhookRejectedError("bad signature header", code="webhook_forged") from exc
    expected = sign(secret, timestamp, payload).split("v1=", 1)[1]
    # Bytes: compare_digest raises TypeError on a non-ASCII str (a garbage header).
    if not hmac.compare_digest(expected.encode(), parts.get("v1", "").encode()):
        raise WebhookRejectedError("signature does not match", code="webhook_forged")
    if abs(now.timestamp() - timestamp) > WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookRejectedError("signature too old or too new", code="webhook_stale")
    try:
        return event_of(json.loads(payload))
    except (ValueError, KeyError, TypeError, ArithmeticError, InvalidInputError) as exc:
        # ArithmeticError: a Decimal that is no number, a timestamp out of range;
        # InvalidInputError: a payout's amount or currency that Money refuses.
        raise WebhookRejectedError("unreadable event", code="webhook_malformed") from exc


_KINDS = {
    "payment.authorised": WebhookKind.AUTHORISED,
    "payment.declined": WebhookKind.DECLINED,
    "payment.captured": WebhookKind.CAPTURED,
    "payment.released": WebhookKind.RELEASED,
    "payment.refunded": WebhookKind.REFUNDED,
    "payout.paid": WebhookKind.PAYOUT_PAID,
}
_DISPUTE_PREFIX = "dispute."


def event_of(body: dict[str, object]) -> WebhookEvent:
    kind = _KINDS.get(str(body["type"]), WebhookKind.IGNORED)
    created = datetime.fromtimestamp(int(str(body["created"])), tz=UTC)
    payout = None
    if kind is WebhookKind.PAYOUT_PAID:
        currency = str(body["currency"])
        payout = Payout(
            payout_id=str(body["payout_id"]),
            gross=Money.of(str(body["gross"]), currency),
            fee=Money.of(str(body["fee"]), currency),
            arrival=date.fromisoformat(str(body["arrival"])),
        )

    def text(name: str) -> str | None:
        value = body.get(name)
        return None if value is None else str(value)

    dispute = None
    if str(body["type"]).startswith(_DISPUTE_PREFIX):
        kind = WebhookKind.DISPUTE
        currency = str(body["currency"])
        due = body.get("evidence_due_by")
        dispute = DisputeNotice(
            dispute_id=str(body["dispute_id"]),
            phase=DisputePhase(str(body["type"]).removeprefix(_DISPUTE_PREFIX)),
            status=str(body["status"]),
            reason=str(body["reason"])[:100],
            amount=Money.of(str(body["amount"]), currency),
            fee=Money.of(str(body["fee"]), currency),
            evidence_due_by=None if due is None else datetime.fromtimestamp(int(str(due)), UTC),
        )

    amount = Decimal(str(body.get("amount", "0")))
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"invalid amount {amount}")
    return WebhookEvent(
        event_id=str(body["id"]),
        kind=kind,
        created=created,
        provider_ref=text("provider_ref"),
        reference=text("reference"),
        amount=amount,
        currency=text("currency"),
        refund_ref=text("refund_ref"),
        operation=text("operation"),
        decline_code=text("decline_code"),
        payout=payout,
        dispute=dispute,
    )
