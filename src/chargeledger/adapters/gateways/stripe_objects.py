"""Reading Stripe's objects in our terms: amounts in minor units, what a PaymentIntent holds
and has captured, refusals, and webhook events (split from ``stripe_gateway.py``)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import stripe

from chargeledger.domain.payout_reconciliation import PayoutItem
from chargeledger.errors import ConflictError, InvalidInputError
from chargeledger.money import ZERO, Money
from chargeledger.services.payments.gateway import (
    DisputeNotice,
    DisputePhase,
    GatewayResult,
    GatewayTimeoutError,
    Outcome,
    Payout,
    WebhookEvent,
    WebhookKind,
)

log = logging.getLogger(__name__)
Obj = dict[str, Any]
MAX_PAGES = 10  # without Stripe's Search API a lookup scans at most 1,000 recent payments
# httpx failures raised before a byte of the request left: Stripe certainly did nothing.
NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
PAYMENT_EVENTS = {
    "payment_intent.amount_capturable_updated": WebhookKind.AUTHORISED,
    "payment_intent.succeeded": WebhookKind.CAPTURED,
    "payment_intent.canceled": WebhookKind.RELEASED,
    "payment_intent.payment_failed": WebhookKind.DECLINED,
}
REFUND_EVENTS = {"charge.refunded", "refund.created", "refund.updated", "charge.refund.updated"}
HOLDING = ("requires_capture", "succeeded")  # a hold stands or money was taken
PAID_OUT = ("pending", "in_transit", "paid")  # failed or cancelled payouts move no money


def to_minor_units(money: Money) -> int:
    """Stripe's integer ``amount``, exactly: a sub-cent amount is refused, not rounded, since
    rounding happens at named points before money reaches the PSP (DESIGN §2)."""
    units = money.amount.scaleb(money.currency.minor_units)
    if units != units.to_integral_value():
        raise InvalidInputError(
            f"{money} has more decimals than {money.currency.code} allows",
            code="invalid_amount",
            field="amount",
        )
    return int(units)


def major_units(units: int, currency: str) -> Decimal:
    return Money.from_minor_units(int(units), currency.upper()).amount


def listed(value: Any) -> list[Obj]:
    """The ``data`` of an embedded list (absent where Stripe does not expand it)."""
    return list(value.get("data") or []) if isinstance(value, dict) else []


def meta(obj: Obj, key: str) -> str | None:
    return (obj.get("metadata") or {}).get(key)


def decline_code_of(error: Obj | None) -> str:
    """The issuer's reason (``insufficient_funds``) where given, else Stripe's error code."""
    error = error or {}
    return str(error.get("decline_code") or error.get("code") or "card_declined")


def is_capture_remainder(refund: Obj) -> bool:
    """localstripe captures less than the hold as "capture all, refund the rest" with an
    unlabelled refund; the refunds we make always carry ``metadata.operation``."""
    return meta(refund, "operation") is None


def captured_units(intent: Obj) -> int:
    """Stripe reports ``amount_received``; the emulator does not, so there it is the charge
    less the automatic refund of the uncaptured remainder."""
    if intent.get("status") != "succeeded":
        return 0
    if intent.get("amount_received") is not None:
        return int(intent["amount_received"])
    charge = intent.get("latest_charge")
    if not isinstance(charge, dict):
        return int(intent["amount"])
    refunds = listed(charge.get("refunds"))
    return int(charge["amount"]) - sum(int(r["amount"]) for r in refunds if is_capture_remainder(r))


def held_units(intent: Obj) -> int:
    """``amount_capturable`` while the hold stands (the emulator lacks it: the amount)."""
    if intent.get("status") != "requires_capture":
        return 0
    capturable = intent.get("amount_capturable")
    return int(intent["amount"] if capturable is None else capturable)


def result_of(intent: Obj) -> GatewayResult:
    """A PaymentIntent status in our terms. An in-between status (``processing``) means the
    outcome is not known yet, which is what a timeout tells the caller: ask again later."""
    status, ref, currency = intent.get("status"), str(intent["id"]), str(intent["currency"])
    if status == "requires_capture":
        return GatewayResult(Outcome.AUTHORISED, major_units(held_units(intent), currency), ref)
    if status == "succeeded":
        return GatewayResult(Outcome.CAPTURED, major_units(captured_units(intent), currency), ref)
    if status == "canceled":
        return GatewayResult(Outcome.RELEASED, ZERO, ref)
    if status == "requires_payment_method":
        code = decline_code_of(intent.get("last_payment_error"))
        return GatewayResult(Outcome.DECLINED, ZERO, ref, decline_code=code)
    if status == "requires_action":  # 3-D Secure wanted; no cardholder here to complete it
        return GatewayResult(Outcome.DECLINED, ZERO, ref, decline_code="authentication_required")
    raise GatewayTimeoutError(f"Stripe payment {ref} is still {status}")


class RefusedError(ConflictError):
    """Stripe answered 4xx: it did nothing (a 402 card decline holds no money either). No
    SDK exception leaves the adapter; callers that expect a refusal catch this one."""

    def __init__(self, exc: stripe.StripeError) -> None:
        self.error: Obj = exc.error.to_dict() if exc.error is not None else {}
        self.status = exc.http_status
        self.declined = isinstance(exc, stripe.CardError)
        stripe_code = self.error.get("code")
        details = {"stripe_code": stripe_code, "http_status": self.status}
        super().__init__(
            f"Stripe refused: {exc.user_message}", code="gateway_refused", details=details
        )

    @property
    def reason(self) -> str:
        """The issuer's decline reason, else Stripe's error code."""
        return (
            decline_code_of(self.error)
            if self.declined
            else str(self.error.get("code") or "invalid_request")
        )


def object_id(value: Any) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the expanded object."""
    return str(value["id"]) if isinstance(value, dict) else value


def with_key(idempotency_key: str) -> stripe.RequestOptions:
    return {"idempotency_key": idempotency_key}


def expect_status(intent: Obj, status: str, code: str) -> GatewayResult:
    if intent.get("status") != status:
        raise ConflictError(f"Stripe payment {intent['id']} is {intent.get('status')}", code=code)
    return result_of(intent)


def signed_at(header: str) -> int | None:
    """``t=`` of a header that also carries a ``v1=`` signature; None: not signed."""
    fields = dict(part.strip().split("=", 1) for part in header.split(",") if "=" in part)
    try:
        return int(fields["t"]) if "v1" in fields else None
    except (KeyError, ValueError):
        return None


def event_of(event: Obj) -> WebhookEvent:
    """Our reading of a Stripe event; a type we do not act on is IGNORED, not an error."""
    obj: Obj = event["data"]["object"]
    created = datetime.fromtimestamp(int(event["created"]), UTC)
    base = WebhookEvent(event_id=str(event["id"]), kind=WebhookKind.IGNORED, created=created)
    kind = PAYMENT_EVENTS.get(str(event["type"]))
    if kind is not None:
        # The snapshot's status matches its type: held while authorised, received once taken.
        units = held_units(obj) + captured_units(obj)
        error = obj.get("last_payment_error")
        return replace(
            base,
            kind=kind,
            provider_ref=str(obj["id"]),
            reference=meta(obj, "payment_id"),
            amount=major_units(units, str(obj["currency"])),
            currency=str(obj["currency"]).upper(),
            decline_code=decline_code_of(error) if kind is WebhookKind.DECLINED else None,
        )
    if event["type"] in REFUND_EVENTS:
        # A charge event lists its refunds (where expanded); it is about the newest one.
        refunds = [obj] if obj.get("object") == "refund" else listed(obj.get("refunds"))
        refund = max(refunds, key=lambda r: int(r.get("created") or 0), default=None)
        if refund is None or refund.get("status") in ("failed", "canceled"):
            log.warning("Stripe event %s carries no completed refund", base.event_id)
            return base
        return replace(
            base,
            kind=WebhookKind.REFUNDED,
            provider_ref=object_id(refund.get("payment_intent") or obj.get("payment_intent")),
            reference=meta(obj, "payment_id"),
            amount=major_units(int(refund["amount"]), str(refund["currency"])),
            currency=str(refund["currency"]).upper(),
            refund_ref=str(refund["id"]),
            operation=meta(refund, "operation"),
        )
    if str(event["type"]).startswith(DISPUTE_EVENT_PREFIX):
        return _dispute_event(base, str(event["type"]), obj)
    if event["type"] == "payout.paid":
        txn = obj.get("balance_transaction")
        payout = payout_of(obj, int(txn.get("fee") or 0) if isinstance(txn, dict) else 0)
        net = payout.net
        return replace(
            base,
            kind=WebhookKind.PAYOUT_PAID,
            amount=net.amount,
            currency=net.currency.code,
            payout=payout,
        )
    return base


DISPUTE_EVENT_PREFIX = "charge.dispute."


def _dispute_event(base: WebhookEvent, kind: str, obj: Obj) -> WebhookEvent:
    """``charge.dispute.{created,updated,funds_withdrawn,funds_reinstated,closed}``: each
    carries the whole Dispute object. The dispute fee is on its balance transactions (the
    withdrawal's ``fee``); ``evidence_details.due_by`` is the deadline for our evidence."""
    try:
        phase = DisputePhase(kind.removeprefix(DISPUTE_EVENT_PREFIX))
    except ValueError:
        return base
    currency = str(obj["currency"]).upper()
    moved = obj.get("balance_transactions")  # a plain array on a dispute, not a list object
    moved = moved if isinstance(moved, list) else listed(moved)
    fee_units = sum(int(t.get("fee") or 0) for t in moved if isinstance(t, dict))
    due = (obj.get("evidence_details") or {}).get("due_by")
    notice = DisputeNotice(
        dispute_id=str(obj["id"]),
        phase=phase,
        status=str(obj.get("status") or ""),
        reason=str(obj.get("reason") or "general")[:100],
        amount=Money.from_minor_units(int(obj["amount"]), currency),
        fee=Money.from_minor_units(fee_units, currency),
        evidence_due_by=None if due is None else datetime.fromtimestamp(int(due), UTC),
    )
    return replace(
        base,
        kind=WebhookKind.DISPUTE,
        provider_ref=object_id(obj.get("payment_intent")),
        amount=notice.amount.amount,
        currency=currency,
        dispute=notice,
    )


def payout_of(payout: Obj, fee_units: int, items: tuple[PayoutItem, ...] = ()) -> Payout:
    """Stripe's payout ``amount`` is what reaches the bank: gross is that plus the fees."""
    currency = str(payout["currency"]).upper()
    return Payout(
        payout_id=str(payout["id"]),
        gross=Money.from_minor_units(int(payout["amount"]) + fee_units, currency),
        fee=Money.from_minor_units(fee_units, currency),
        arrival=datetime.fromtimestamp(int(payout["arrival_date"]), UTC).date(),
        items=items,
    )
