"""Stripe behind the :class:`PaymentGateway` port, through the official SDK's async client.

A payment is one PaymentIntent. Created and confirmed with ``capture_method=manual`` it holds
the money (status ``requires_capture``); capture takes ``amount_to_capture`` ≤
``amount_capturable`` and Stripe releases the rest; cancel releases it all. Our payment id
travels as ``metadata.payment_id``; our operation key as the Idempotency-Key (Stripe replays
the first answer for 24 h) and, on refunds, as ``metadata.operation``. Money-moving calls read
the PSP's state first, so a retry is safe where keys are not honoured (the localstripe
emulator) or have expired. The SDK never retries (``max_network_retries=0``): our layer does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import stripe
from stripe.params import PaymentIntentCreateParams, RefundCreateParams

from chargeledger.errors import ConfigurationError, ConflictError, InvalidInputError, NotFoundError
from chargeledger.money import Money
from chargeledger.services.payment_gateway import (
    WEBHOOK_TOLERANCE_SECONDS,
    CardDetails,
    GatewayResult,
    GatewayTimeoutError,
    GatewayUnavailableError,
    Outcome,
    Payout,
    ProviderView,
    WebhookEvent,
    WebhookKind,
    WebhookRejectedError,
)

log = logging.getLogger(__name__)
Obj = dict[str, Any]
ZERO = Decimal(0)
_MAX_PAGES = 10  # without Stripe's Search API a lookup scans at most 1,000 recent payments
# httpx failures raised before a byte of the request left: Stripe certainly did nothing.
_NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_PAYMENT_EVENTS = {
    "payment_intent.amount_capturable_updated": WebhookKind.AUTHORISED,
    "payment_intent.succeeded": WebhookKind.CAPTURED,
    "payment_intent.canceled": WebhookKind.RELEASED,
    "payment_intent.payment_failed": WebhookKind.DECLINED,
}
_REFUND_EVENTS = {"charge.refunded", "refund.created", "refund.updated", "charge.refund.updated"}
_HOLDING = ("requires_capture", "succeeded")  # a hold stands or money was taken
_PAID_OUT = ("pending", "in_transit", "paid")  # failed or cancelled payouts move no money


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


def _major(units: int, currency: str) -> Decimal:
    return Money.from_minor_units(int(units), currency.upper()).amount


def _listed(value: Any) -> list[Obj]:
    """The ``data`` of an embedded list (absent where Stripe does not expand it)."""
    return list(value.get("data") or []) if isinstance(value, dict) else []


def _meta(obj: Obj, key: str) -> str | None:
    return (obj.get("metadata") or {}).get(key)


def _decline_code(error: Obj | None) -> str:
    """The issuer's reason (``insufficient_funds``) where given, else Stripe's error code."""
    error = error or {}
    return str(error.get("decline_code") or error.get("code") or "card_declined")


def _is_capture_remainder(refund: Obj) -> bool:
    """localstripe captures less than the hold as "capture all, refund the rest" with an
    unlabelled refund; the refunds we make always carry ``metadata.operation``."""
    return _meta(refund, "operation") is None


def _captured_units(intent: Obj) -> int:
    """Stripe reports ``amount_received``; the emulator does not, so there it is the charge
    less the automatic refund of the uncaptured remainder."""
    if intent.get("status") != "succeeded":
        return 0
    if intent.get("amount_received") is not None:
        return int(intent["amount_received"])
    charge = intent.get("latest_charge")
    if not isinstance(charge, dict):
        return int(intent["amount"])
    refunds = _listed(charge.get("refunds"))
    return int(charge["amount"]) - sum(
        int(r["amount"]) for r in refunds if _is_capture_remainder(r)
    )


def _held_units(intent: Obj) -> int:
    """``amount_capturable`` while the hold stands (the emulator lacks it: the amount)."""
    if intent.get("status") != "requires_capture":
        return 0
    capturable = intent.get("amount_capturable")
    return int(intent["amount"] if capturable is None else capturable)


def _result_of(intent: Obj) -> GatewayResult:
    """A PaymentIntent status in our terms. An in-between status (``processing``) means the
    outcome is not known yet, which is what a timeout tells the caller: ask again later."""
    status, ref, currency = intent.get("status"), str(intent["id"]), str(intent["currency"])
    if status == "requires_capture":
        return GatewayResult(Outcome.AUTHORISED, _major(_held_units(intent), currency), ref)
    if status == "succeeded":
        return GatewayResult(Outcome.CAPTURED, _major(_captured_units(intent), currency), ref)
    if status == "canceled":
        return GatewayResult(Outcome.RELEASED, ZERO, ref)
    if status == "requires_payment_method":
        code = _decline_code(intent.get("last_payment_error"))
        return GatewayResult(Outcome.DECLINED, ZERO, ref, decline_code=code)
    if status == "requires_action":  # 3-D Secure wanted; no cardholder here to complete it
        return GatewayResult(Outcome.DECLINED, ZERO, ref, decline_code="authentication_required")
    raise GatewayTimeoutError(f"Stripe payment {ref} is still {status}")


class _RefusedError(ConflictError):
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
            _decline_code(self.error)
            if self.declined
            else str(self.error.get("code") or "invalid_request")
        )


def _id(value: Any) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the expanded object."""
    return str(value["id"]) if isinstance(value, dict) else value


def _key(idempotency_key: str) -> stripe.RequestOptions:
    return {"idempotency_key": idempotency_key}


def _expect(intent: Obj, status: str, code: str) -> GatewayResult:
    if intent.get("status") != status:
        raise ConflictError(f"Stripe payment {intent['id']} is {intent.get('status')}", code=code)
    return _result_of(intent)


class StripeGateway:
    """The Stripe PSP. ``api_base`` points the SDK at another host (the settings name it for a
    local emulator, so ``emulator`` defaults to "``api_base`` is set"). ``emulator`` leaves out
    the parameters localstripe (an older API) refuses: ``allowed_payment_method_types``, which
    spares card-only confirmation a ``return_url`` on API 2026-09-30+, and refund ``reason``."""

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        name: str = "stripe",
        timeout_seconds: float = 20.0,
        *,
        emulator: bool | None = None,
    ) -> None:
        self._name = name
        self._webhook_secret = webhook_secret
        self._timeout = timeout_seconds
        self._emulator = api_base is not None if emulator is None else emulator
        self._http = stripe.HTTPXClient(timeout=timeout_seconds)
        self._v1 = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=0,
            http_client=self._http,
        ).v1

    @property
    def name(self) -> str:
        return self._name

    @property
    def supports_increment(self) -> bool:
        """Stripe can raise holds on eligible cards; ``increment`` answers DECLINED
        ``increment_unsupported`` where it cannot (SCA regions, the emulator)."""
        return True

    async def aclose(self) -> None:
        """Close the pooled HTTP connections (at shutdown)."""
        close: Callable[[], Awaitable[None]] = self._http.close_async  # untyped in the SDK
        await close()

    async def _send(self, request: Awaitable[stripe.StripeObject]) -> Obj:
        """Await one SDK call; transport failures in the port's terms: nothing sent →
        unavailable; sent but unanswered, or a 5xx (Stripe may have acted) → timeout."""
        try:
            async with asyncio.timeout(self._timeout):
                return (await request).to_dict()
        except TimeoutError as exc:
            raise GatewayTimeoutError("Stripe did not answer in time") from exc
        except stripe.APIConnectionError as exc:
            if isinstance(exc.__cause__, _NOTHING_SENT):
                raise GatewayUnavailableError("cannot reach Stripe") from exc
            raise GatewayTimeoutError("connection to Stripe lost mid-request") from exc
        except stripe.RateLimitError as exc:
            raise GatewayUnavailableError("Stripe rate limit reached") from exc
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            raise ConfigurationError("Stripe refused our API key") from exc
        except stripe.IdempotencyError as exc:
            raise ConflictError(str(exc), code="idempotency_conflict") from exc
        except stripe.StripeError as exc:  # card errors, invalid requests, other API errors
            if not isinstance(exc, stripe.APIError) or (exc.http_status or 500) < 500:
                raise _RefusedError(exc) from exc
            raise GatewayTimeoutError(f"Stripe answered {exc.http_status}") from exc

    async def _get(self, request: Awaitable[stripe.StripeObject], what: str) -> Obj:
        try:
            return await self._send(request)
        except _RefusedError as exc:
            if exc.status == 404:
                raise NotFoundError(f"Stripe has no {what}") from exc
            raise

    async def _intent(self, ref: str) -> Obj:
        return await self._get(self._v1.payment_intents.retrieve_async(ref), f"payment {ref}")

    async def _each(
        self, lister: Callable[[Any], Awaitable[stripe.StripeObject]], params: Obj
    ) -> AsyncIterator[Obj]:
        """Page through a Stripe list by ``starting_after``, at most ``_MAX_PAGES`` pages."""
        after: Obj = {}
        for _ in range(_MAX_PAGES):
            page = await self._send(lister({**params, **after, "limit": 100}))
            for item in page["data"]:
                yield item
            if not page.get("has_more") or not page["data"]:
                return
            after = {"starting_after": page["data"][-1]["id"]}

    async def authorise(
        self,
        *,
        amount: Money,
        method_token: str,
        idempotency_key: str,
        reference: str,
        capture: bool = False,
    ) -> GatewayResult:
        """Create and confirm a PaymentIntent. A decline is an answer, not an error: Stripe's
        402 card error, or any refusal of the request, becomes DECLINED with Stripe's reason."""
        params: PaymentIntentCreateParams = {
            "amount": to_minor_units(amount),
            "currency": amount.currency.code.lower(),
            "payment_method": method_token,
            "confirm": True,
            "capture_method": "automatic" if capture else "manual",
            "metadata": {"payment_id": reference},
        }
        if not self._emulator:
            params["allowed_payment_method_types"] = ["card"]
        if not capture:  # a hold can only be raised later if asked for now
            params["payment_method_options"] = {
                "card": {"request_incremental_authorization": "if_available"}
            }
        try:
            # A card saved on a Customer is only accepted together with that Customer.
            method = await self._send(self._v1.payment_methods.retrieve_async(method_token))
            if method.get("customer"):
                params["customer"] = str(_id(method["customer"]))
            create = self._v1.payment_intents.create_async(params, _key(idempotency_key))
            intent = await self._send(create)
        except _RefusedError as exc:  # e.g. amount_too_small, or a card token gone stale
            log.info("Stripe declined payment %s: %s", reference, exc.reason)
            ref = _id(exc.error.get("payment_intent"))
            return GatewayResult(Outcome.DECLINED, ZERO, ref, decline_code=exc.reason)
        return _result_of(intent)

    async def increment(
        self, *, provider_ref: str, new_total: Money, idempotency_key: str
    ) -> GatewayResult:
        """Raise the hold to ``new_total`` (``increment_authorization``). A card decline keeps
        its reason; where Stripe does not offer a raise for the card, region or account — or
        the emulator lacks the endpoint (404) — it is ``increment_unsupported``. Either way
        the old hold stands."""
        units = to_minor_units(new_total)
        try:
            intent = await self._send(
                self._v1.payment_intents.increment_authorization_async(
                    provider_ref, {"amount": units}, _key(idempotency_key)
                )
            )
        except _RefusedError as exc:
            code = exc.reason if exc.declined else "increment_unsupported"
            log.info("Stripe did not raise the hold on %s: %s", provider_ref, code)
            return GatewayResult(Outcome.DECLINED, ZERO, provider_ref, decline_code=code)
        return _result_of(intent)

    async def capture(
        self, *, provider_ref: str, amount: Money, idempotency_key: str
    ) -> GatewayResult:
        """Take ``amount`` ≤ ``amount_capturable``; Stripe releases the rest of the hold. The
        PaymentIntent is read first: one already captured (an earlier attempt whose answer was
        lost) is reported with what it received, never captured twice."""
        units = to_minor_units(amount)
        intent = await self._intent(provider_ref)
        if intent.get("status") == "requires_capture":
            if units > _held_units(intent):
                raise InvalidInputError(
                    f"cannot capture {amount}: more than the hold on {provider_ref}",
                    code="capture_above_hold",
                    field="amount",
                )
            request = self._v1.payment_intents.capture_async(
                provider_ref, {"amount_to_capture": units}, _key(idempotency_key)
            )
            try:
                intent = await self._send(request)
            except _RefusedError:  # a concurrent capture may have won the race
                intent = await self._intent(provider_ref)
        return _expect(intent, "succeeded", "not_capturable")

    async def release(self, *, provider_ref: str, idempotency_key: str) -> GatewayResult:
        """Cancel the PaymentIntent, releasing the whole hold. Stripe refuses to cancel one
        already cancelled; that is reported as released, which it is."""
        cancel = self._v1.payment_intents.cancel_async(provider_ref, options=_key(idempotency_key))
        try:
            intent = await self._send(cancel)
        except _RefusedError:
            intent = await self._intent(provider_ref)
        return _expect(intent, "canceled", "not_releasable")

    async def _refunds(self, provider_ref: str) -> list[Obj]:
        lister = self._v1.refunds.list_async
        return [r async for r in self._each(lister, {"payment_intent": provider_ref})]

    async def refund(
        self, *, provider_ref: str, amount: Money, idempotency_key: str, reason: str
    ) -> GatewayResult:
        """Give back part of a captured payment. A refund already carrying our operation key
        in its metadata is returned instead of refunding twice. Our free-text reason goes to
        metadata; Stripe's ``reason`` is an enum feeding Radar: ``requested_by_customer``."""
        refunds = await self._refunds(provider_ref)
        done = next((r for r in refunds if _meta(r, "operation") == idempotency_key), None)
        if done is None:
            params: RefundCreateParams = {
                "payment_intent": provider_ref,
                "amount": to_minor_units(amount),
                "metadata": {"operation": idempotency_key, "reason": reason[:500]},
            }
            if not self._emulator:
                params["reason"] = "requested_by_customer"
            done = await self._send(self._v1.refunds.create_async(params, _key(idempotency_key)))
        given = _major(done["amount"], done["currency"])
        return GatewayResult(Outcome.REFUNDED, given, provider_ref, refund_ref=str(done["id"]))

    async def lookup(self, *, reference: str, provider_ref: str | None) -> ProviderView | None:
        """Stripe's view of our payment, found by id or else by ``metadata.payment_id``.
        ``authorised`` is the hold while it stands and the original amount once captured."""
        try:
            intent = await (self._intent(provider_ref) if provider_ref else self._find(reference))
        except NotFoundError:
            return None
        if intent is None:
            return None
        status, currency = intent.get("status"), str(intent["currency"])
        refunds = await self._refunds(intent["id"]) if status == "succeeded" else []
        emulated = intent.get("amount_received") is None
        error = intent.get("last_payment_error")
        declined = status == "requires_payment_method" and error is not None
        held = int(intent["amount"]) if status == "succeeded" else _held_units(intent)
        return ProviderView(
            provider_ref=str(intent["id"]),
            authorised=_major(held, currency),
            captured=_major(_captured_units(intent), currency),
            refunds=[
                (str(r["id"]), _major(r["amount"], currency))
                for r in refunds
                if r.get("status") not in ("failed", "canceled")
                and not (emulated and _is_capture_remainder(r))
            ],
            released=status == "canceled",
            declined=declined,
            decline_code=_decline_code(error) if declined else None,
        )

    async def _find(self, reference: str) -> Obj | None:
        """Stripe's Search API first (it indexes within about a minute); where it is missing
        (the emulator) or has not indexed the payment yet, scan recent PaymentIntents. Of
        several attempts for one payment, the one holding or having taken money, newest."""
        quoted = reference.replace("\\", "\\\\").replace("'", "\\'")
        query = f"metadata['payment_id']:'{quoted}'"
        matches: list[Obj] = []
        try:
            found = await self._send(self._v1.payment_intents.search_async({"query": query}))
            matches = found["data"]
        except _RefusedError:
            log.debug("Stripe search unavailable; scanning recent payments")
        if not matches:
            recent = self._each(self._v1.payment_intents.list_async, {})
            matches = [i async for i in recent if _meta(i, "payment_id") == reference]
        return max(matches, key=lambda i: (i["status"] in _HOLDING, i["created"]), default=None)

    async def card_details(self, token: str) -> CardDetails:
        """Brand, last four and expiry: Stripe never returns the number, and we keep none."""
        retrieve = self._v1.payment_methods.retrieve_async(token)
        method = await self._get(retrieve, f"payment method {token}")
        card = method.get("card")
        if method.get("type") != "card" or not isinstance(card, dict):
            raise InvalidInputError(f"{token} is not a card", code="not_a_card")
        month, year = int(card["exp_month"]), int(card["exp_year"])
        return CardDetails(token, str(card["brand"]), str(card["last4"]), month, year)

    async def payouts(self, since: datetime) -> list[Payout]:
        """Payouts created since ``since``, except failed or cancelled ones (no money moved)."""
        start, lister = int(since.timestamp()), self._v1.payouts.list_async
        try:
            found = [p async for p in self._each(lister, {"created": {"gte": start}})]
        except _RefusedError:  # the emulator cannot filter payouts by date
            found = [p async for p in self._each(lister, {})]
        wanted = [p for p in found if p["created"] >= start and p.get("status") in _PAID_OUT]
        return [_payout_of(p, await self._payout_fee(p["id"])) for p in wanted]

    async def _payout_fee(self, payout_id: str) -> int:
        """Stripe pays out the net: the fees are those of the balance transactions settled by
        the payout (the ``payout`` filter, automatic payouts only). Manual payouts and the
        emulator (which charges no fees) give 0."""
        lister = self._v1.balance_transactions.list_async
        try:
            settled = [t async for t in self._each(lister, {"payout": payout_id})]
        except _RefusedError:
            return 0
        return sum(int(t.get("fee") or 0) for t in settled)

    def verify_webhook(
        self, payload: bytes, headers: Mapping[str, str], now: datetime
    ) -> WebhookEvent:
        """Stripe signs ``f"{t}.{body}"`` with HMAC-SHA256 (``Stripe-Signature: t=…,v1=…``).
        The SDK checks the signature; the age is checked here, both ways, against the injected
        clock, because the SDK's own check reads the wall clock and only looks back."""
        header = next((v for k, v in headers.items() if k.lower() == "stripe-signature"), "")
        signed_at = _signed_at(header)
        if signed_at is None:
            raise WebhookRejectedError("no Stripe signature", code="webhook_unsigned")
        try:
            body = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WebhookRejectedError("body is not UTF-8", code="webhook_malformed") from exc
        try:
            stripe.WebhookSignature.verify_header(body, header, self._webhook_secret, None)
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejectedError("signature mismatch", code="webhook_forged") from exc
        if abs(now.timestamp() - signed_at) > WEBHOOK_TOLERANCE_SECONDS:
            raise WebhookRejectedError("signed too long ago or ahead", code="webhook_stale")
        try:
            event = _event_of(json.loads(body))
        except (ValueError, LookupError, TypeError, AttributeError, InvalidInputError) as exc:
            raise WebhookRejectedError("not a Stripe event", code="webhook_malformed") from exc
        log.info("Stripe event %s: %s %s", event.event_id, event.kind, event.provider_ref)
        return event


def _signed_at(header: str) -> int | None:
    """``t=`` of a header that also carries a ``v1=`` signature; None: not signed."""
    fields = dict(part.strip().split("=", 1) for part in header.split(",") if "=" in part)
    try:
        return int(fields["t"]) if "v1" in fields else None
    except (KeyError, ValueError):
        return None


def _event_of(event: Obj) -> WebhookEvent:
    """Our reading of a Stripe event; a type we do not act on is IGNORED, not an error."""
    obj: Obj = event["data"]["object"]
    created = datetime.fromtimestamp(int(event["created"]), UTC)
    base = WebhookEvent(event_id=str(event["id"]), kind=WebhookKind.IGNORED, created=created)
    kind = _PAYMENT_EVENTS.get(str(event["type"]))
    if kind is not None:
        # The snapshot's status matches its type: held while authorised, received once taken.
        units = _held_units(obj) + _captured_units(obj)
        error = obj.get("last_payment_error")
        return replace(
            base,
            kind=kind,
            provider_ref=str(obj["id"]),
            reference=_meta(obj, "payment_id"),
            amount=_major(units, str(obj["currency"])),
            currency=str(obj["currency"]).upper(),
            decline_code=_decline_code(error) if kind is WebhookKind.DECLINED else None,
        )
    if event["type"] in _REFUND_EVENTS:
        # A charge event lists its refunds (where expanded); it is about the newest one.
        refunds = [obj] if obj.get("object") == "refund" else _listed(obj.get("refunds"))
        refund = max(refunds, key=lambda r: int(r.get("created") or 0), default=None)
        if refund is None or refund.get("status") in ("failed", "canceled"):
            log.warning("Stripe event %s carries no completed refund", base.event_id)
            return base
        return replace(
            base,
            kind=WebhookKind.REFUNDED,
            provider_ref=_id(refund.get("payment_intent") or obj.get("payment_intent")),
            reference=_meta(obj, "payment_id"),
            amount=_major(int(refund["amount"]), str(refund["currency"])),
            currency=str(refund["currency"]).upper(),
            refund_ref=str(refund["id"]),
            operation=_meta(refund, "operation"),
        )
    if event["type"] == "payout.paid":
        txn = obj.get("balance_transaction")
        payout = _payout_of(obj, int(txn.get("fee") or 0) if isinstance(txn, dict) else 0)
        net = payout.net
        return replace(
            base,
            kind=WebhookKind.PAYOUT_PAID,
            amount=net.amount,
            currency=net.currency.code,
            payout=payout,
        )
    return base


def _payout_of(payout: Obj, fee_units: int) -> Payout:
    """Stripe's payout ``amount`` is what reaches the bank: gross is that plus the fees."""
    currency = str(payout["currency"]).upper()
    return Payout(
        payout_id=str(payout["id"]),
        gross=Money.from_minor_units(int(payout["amount"]) + fee_units, currency),
        fee=Money.from_minor_units(fee_units, currency),
        arrival=datetime.fromtimestamp(int(payout["arrival_date"]), UTC).date(),
    )
