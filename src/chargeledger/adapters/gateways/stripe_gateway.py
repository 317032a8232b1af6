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
from datetime import datetime
from typing import Any

import stripe
from stripe.params import PaymentIntentCreateParams, RefundCreateParams

from chargeledger.adapters.gateways.stripe_objects import (
    HOLDING,
    MAX_PAGES,
    NOTHING_SENT,
    PAID_OUT,
    Obj,
    RefusedError,
    captured_units,
    decline_code_of,
    event_of,
    expect_status,
    held_units,
    is_capture_remainder,
    major_units,
    meta,
    object_id,
    payout_of,
    result_of,
    signed_at,
    to_minor_units,
    with_key,
)
from chargeledger.adapters.gateways.stripe_payouts import payout_fee, payout_items
from chargeledger.domain.payout_reconciliation import PayoutItem
from chargeledger.errors import ConfigurationError, ConflictError, InvalidInputError, NotFoundError
from chargeledger.money import ZERO, Money
from chargeledger.services.payments.gateway import (
    WEBHOOK_TOLERANCE_SECONDS,
    CardDetails,
    GatewayResult,
    GatewayTimeoutError,
    GatewayUnavailableError,
    Outcome,
    Payout,
    ProviderView,
    WebhookEvent,
    WebhookRejectedError,
)

log = logging.getLogger(__name__)


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
            if isinstance(exc.__cause__, NOTHING_SENT):
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
                raise RefusedError(exc) from exc
            raise GatewayTimeoutError(f"Stripe answered {exc.http_status}") from exc

    async def _get(self, request: Awaitable[stripe.StripeObject], what: str) -> Obj:
        try:
            return await self._send(request)
        except RefusedError as exc:
            if exc.status == 404:
                raise NotFoundError(f"Stripe has no {what}") from exc
            raise

    async def _intent(self, ref: str) -> Obj:
        return await self._get(self._v1.payment_intents.retrieve_async(ref), f"payment {ref}")

    async def _each(
        self, lister: Callable[[Any], Awaitable[stripe.StripeObject]], params: Obj
    ) -> AsyncIterator[Obj]:
        """Page through a Stripe list by ``starting_after``, at most ``MAX_PAGES`` pages."""
        after: Obj = {}
        for _ in range(MAX_PAGES):
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
                params["customer"] = str(object_id(method["customer"]))
            create = self._v1.payment_intents.create_async(params, with_key(idempotency_key))
            intent = await self._send(create)
        except RefusedError as exc:  # e.g. amount_too_small, or a card token gone stale
            log.info("Stripe declined payment %s: %s", reference, exc.reason)
            ref = object_id(exc.error.get("payment_intent"))
            return GatewayResult(Outcome.DECLINED, ZERO, ref, decline_code=exc.reason)
        return result_of(intent)

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
                    provider_ref, {"amount": units}, with_key(idempotency_key)
                )
            )
        except RefusedError as exc:
            code = exc.reason if exc.declined else "increment_unsupported"
            log.info("Stripe did not raise the hold on %s: %s", provider_ref, code)
            return GatewayResult(Outcome.DECLINED, ZERO, provider_ref, decline_code=code)
        return result_of(intent)

    async def capture(
        self, *, provider_ref: str, amount: Money, idempotency_key: str
    ) -> GatewayResult:
        """Take ``amount`` ≤ ``amount_capturable``; Stripe releases the rest of the hold. The
        PaymentIntent is read first: one already captured (an earlier attempt whose answer was
        lost) is reported with what it received, never captured twice."""
        units = to_minor_units(amount)
        intent = await self._intent(provider_ref)
        if intent.get("status") == "requires_capture":
            if units > held_units(intent):
                raise InvalidInputError(
                    f"cannot capture {amount}: more than the hold on {provider_ref}",
                    code="capture_above_hold",
                    field="amount",
                )
            request = self._v1.payment_intents.capture_async(
                provider_ref, {"amount_to_capture": units}, with_key(idempotency_key)
            )
            try:
                intent = await self._send(request)
            except RefusedError:  # a concurrent capture may have won the race
                intent = await self._intent(provider_ref)
        return expect_status(intent, "succeeded", "not_capturable")

    async def release(self, *, provider_ref: str, idempotency_key: str) -> GatewayResult:
        """Cancel the PaymentIntent, releasing the whole hold. Stripe refuses to cancel one
        already cancelled; that is reported as released, which it is."""
        cancel = self._v1.payment_intents.cancel_async(
            provider_ref, options=with_key(idempotency_key)
        )
        try:
            intent = await self._send(cancel)
        except RefusedError:
            intent = await self._intent(provider_ref)
        return expect_status(intent, "canceled", "not_releasable")

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
        done = next((r for r in refunds if meta(r, "operation") == idempotency_key), None)
        if done is None:
            params: RefundCreateParams = {
                "payment_intent": provider_ref,
                "amount": to_minor_units(amount),
                "metadata": {"operation": idempotency_key, "reason": reason[:500]},
            }
            if not self._emulator:
                params["reason"] = "requested_by_customer"
            done = await self._send(
                self._v1.refunds.create_async(params, with_key(idempotency_key))
            )
        given = major_units(done["amount"], done["currency"])
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
        held = int(intent["amount"]) if status == "succeeded" else held_units(intent)
        return ProviderView(
            provider_ref=str(intent["id"]),
            authorised=major_units(held, currency),
            captured=major_units(captured_units(intent), currency),
            refunds=[
                (str(r["id"]), major_units(r["amount"], currency))
                for r in refunds
                if r.get("status") not in ("failed", "canceled")
                and not (emulated and is_capture_remainder(r))
            ],
            released=status == "canceled",
            declined=declined,
            decline_code=decline_code_of(error) if declined else None,
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
        except RefusedError:
            log.debug("Stripe search unavailable; scanning recent payments")
        if not matches:
            recent = self._each(self._v1.payment_intents.list_async, {})
            matches = [i async for i in recent if meta(i, "payment_id") == reference]
        return max(matches, key=lambda i: (i["status"] in HOLDING, i["created"]), default=None)

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
        """Payouts created since ``since``, except failed or cancelled ones (no money moved),
        each with the balance transactions it settled."""
        start, lister = int(since.timestamp()), self._v1.payouts.list_async
        try:
            found = [p async for p in self._each(lister, {"created": {"gte": start}})]
        except RefusedError:  # the emulator cannot filter payouts by date
            found = [p async for p in self._each(lister, {})]
        wanted = [p for p in found if p["created"] >= start and p.get("status") in PAID_OUT]
        paid = []
        for payout in wanted:
            settled = await self._settled_by(payout["id"])
            paid.append(payout_of(payout, payout_fee(settled), payout_items(settled)))
        return paid

    async def payout_items(self, payout_id: str) -> tuple[PayoutItem, ...]:
        return payout_items(await self._settled_by(payout_id))

    async def _settled_by(self, payout_id: str) -> list[Obj]:
        """The balance transactions the payout settled (the ``payout`` filter, automatic
        payouts only), their sources expanded (a charge's PaymentIntent). Manual payouts and
        the emulator (localstripe refuses the filter) give none: no fee, no items."""
        lister = self._v1.balance_transactions.list_async
        params = {"payout": payout_id, "expand": ["data.source"]}
        try:
            return [t async for t in self._each(lister, params)]
        except RefusedError:
            return []

    async def submit_dispute_evidence(
        self, *, dispute_id: str, evidence: Mapping[str, str], idempotency_key: str
    ) -> str:
        """``POST /v1/disputes/{id}`` with ``evidence[...]`` and ``submit=true``: Stripe
        forwards it to the card issuer; the answer is the dispute with its new status."""
        request = self._v1.disputes.update_async(
            dispute_id,
            {"evidence": dict(evidence), "submit": True},  # type: ignore[arg-type]
            with_key(idempotency_key),
        )
        dispute = await self._send(request)
        return str(dispute.get("status") or "")

    def verify_webhook(
        self, payload: bytes, headers: Mapping[str, str], now: datetime
    ) -> WebhookEvent:
        """Stripe signs ``f"{t}.{body}"`` with HMAC-SHA256 (``Stripe-Signature: t=…,v1=…``).
        The SDK checks the signature; the age is checked here, both ways, against the injected
        clock, because the SDK's own check reads the wall clock and only looks back."""
        header = next((v for k, v in headers.items() if k.lower() == "stripe-signature"), "")
        stamped = signed_at(header)
        if stamped is None:
            raise WebhookRejectedError("no Stripe signature", code="webhook_unsigned")
        try:
            body = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WebhookRejectedError("body is not UTF-8", code="webhook_malformed") from exc
        try:
            stripe.WebhookSignature.verify_header(body, header, self._webhook_secret, None)
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejectedError("signature mismatch", code="webhook_forged") from exc
        if abs(now.timestamp() - stamped) > WEBHOOK_TOLERANCE_SECONDS:
            raise WebhookRejectedError("signed too long ago or ahead", code="webhook_stale")
        try:
            event = event_of(json.loads(body))
        except (ValueError, LookupError, TypeError, AttributeError, InvalidInputError) as exc:
            raise WebhookRejectedError("not a Stripe event", code="webhook_malformed") from exc
        log.info("Stripe event %s: %s %s", event.event_id, event.kind, event.provider_ref)
        return event
