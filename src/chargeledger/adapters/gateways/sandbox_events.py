"""The sandbox PSP's webhooks: the signature scheme and the events, read into our terms
(split from ``sandbox.py``)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime
from decimal import Decimal

from chargeledger.money import Money
from chargeledger.services.payment_gateway import Payout, WebhookEvent, WebhookKind


def sign(secret: str, timestamp: int, payload: bytes) -> str:
    """``t=<unix>,v1=<hex hmac-sha256 of "t.payload">`` (the scheme Stripe uses)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


_KINDS = {
    "payment.authorised": WebhookKind.AUTHORISED,
    "payment.declined": WebhookKind.DECLINED,
    "payment.captured": WebhookKind.CAPTURED,
    "payment.released": WebhookKind.RELEASED,
    "payment.refunded": WebhookKind.REFUNDED,
    "payout.paid": WebhookKind.PAYOUT_PAID,
}


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
    )
