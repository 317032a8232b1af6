"""``sandbox``: a built-in payment service provider simulator for demos and tests.

It behaves like a card PSP with manual capture: tokenised cards, holds, incremental holds,
captures, releases, refunds, signed asynchronous webhooks and payouts with fees. Everything
random (ids, webhook delays, which timed-out calls were done anyway) comes from one seeded
generator, so a run is repeatable. The card number is looked at once, when it is tokenised,
and never kept: the simulator stores the test behaviour it stands for, brand and last four.

Test cards (any future expiry, any 3-digit CVC):

| number | behaviour |
|---|---|
| 4242 4242 4242 4242, 5555 5555 5555 4444 | approved |
| 4000 0000 0000 0002 | declined (``card_declined``) |
| 4000 0000 0000 9995 | declined (``insufficient_funds``) |
| 4000 0000 0000 0069 | declined (``expired_card``) |
| 4000 0000 0000 0119 | every call times out after the PSP did it (``processing_error``) |
| 4000 0000 0000 5126 | approved up to 50.00; raising the hold above is declined |
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from chargeledger.adapters.gateways.sandbox_events import event_of, sign
from chargeledger.domain.payments import luhn_valid
from chargeledger.errors import InvalidInputError
from chargeledger.money import Money
from chargeledger.services.payment_gateway import (
    WEBHOOK_TOLERANCE_SECONDS,
    CardDetails,
    GatewayResult,
    GatewayTimeoutError,
    Outcome,
    Payout,
    ProviderView,
    WebhookEvent,
    WebhookRejectedError,
)
from chargeledger.services.ports import Clock

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "sandbox-signature"
APPROVED = "approved"
TIMEOUT = "timeout"
LIMITED = "limited"
LIMIT = Decimal("50.00")
TEST_CARDS: dict[str, tuple[str, str]] = {
    "4242424242424242": ("visa", APPROVED),
    "5555555555554444": ("mastercard", APPROVED),
    "4000000000000002": ("visa", "card_declined"),
    "4000000000009995": ("visa", "insufficient_funds"),
    "4000000000000069": ("visa", "expired_card"),
    "4000000000000119": ("visa", TIMEOUT),
    "4000000000005126": ("visa", LIMITED),
}
FEE_RATE = Decimal("0.014")  # 1.4 % + 0.25 per captured payment, as European card pricing
FEE_FIXED = Decimal("0.25")
WebhookSink = Callable[[bytes, Mapping[str, str]], Awaitable[int]]


@dataclass
class _Card:
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    behaviour: str


@dataclass
class _Hold:
    reference: str
    currency: str
    card: _Card
    held: Decimal = Decimal(0)
    captured: Decimal = Decimal(0)
    refunds: list[tuple[str, Decimal]] = field(default_factory=list)
    released: bool = False
    declined: str | None = None
    paid_out: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)


class SandboxGateway:
    """The simulator and its client in one object (both live in this process)."""

    supports_increment = True

    def __init__(
        self, clock: Clock, webhook_secret: str, seed: int = 7, name: str = "sandbox"
    ) -> None:
        self._clock = clock
        self._secret = webhook_secret
        self._random = random.Random(seed)
        self._name = name
        self._cards: dict[str, _Card] = {}
        self._holds: dict[str, _Hold] = {}
        self._by_reference: dict[str, str] = {}
        self._answers: dict[str, tuple[str, GatewayResult]] = {}
        self._payouts: list[Payout] = []
        self._sink: WebhookSink | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        self.max_webhook_delay = 0.05

    @property
    def name(self) -> str:
        return self._name

    # --- the PSP's side: tokens, webhooks, payouts ------------------------------------------

    def tokenise(self, number: str, exp_month: int, exp_year: int, cvc: str) -> CardDetails:
        """The PSP's hosted card field: card data in, a token out. Nothing else sees it."""
        digits = "".join(ch for ch in number if ch.isdigit())
        now = self._clock.now()
        if not 12 <= len(digits) <= 19 or not luhn_valid(digits):
            raise InvalidInputError("the card number is not valid", code="invalid_card_number")
        if not (cvc.isdigit() and 3 <= len(cvc) <= 4):
            raise InvalidInputError("the CVC is not valid", code="invalid_cvc")
        if not 1 <= exp_month <= 12 or (exp_year, exp_month) < (now.year, now.month):
            raise InvalidInputError("the card has expired", code="expired_card")
        brand, behaviour = TEST_CARDS.get(
            digits, ("visa" if digits[0] == "4" else "card", APPROVED)
        )
        token = f"tok_{self._random.getrandbits(64):016x}"
        self._cards[token] = _Card(brand, digits[-4:], exp_month, exp_year, behaviour)
        return CardDetails(token, brand, digits[-4:], exp_month, exp_year)

    def deliver_webhooks_to(self, sink: WebhookSink | None) -> None:
        self._sink = sink

    @property
    def busy(self) -> bool:
        return bool(self._deliveries)

    async def settle(self) -> None:
        """Wait until every webhook sent so far was delivered (for demos and tests)."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)

    def signed(
        self, body: dict[str, object], at: datetime | None = None
    ) -> tuple[bytes, dict[str, str]]:
        payload = json.dumps(body, sort_keys=True).encode()
        timestamp = int((at or self._clock.now()).timestamp())
        return payload, {SIGNATURE_HEADER: sign(self._secret, timestamp, payload)}

    def _emit(self, kind: str, hold_ref: str | None, **data: object) -> None:
        if self._sink is None:
            return
        body: dict[str, object] = {
            "id": f"evt_{self._random.getrandbits(64):016x}",
            "type": kind,
            "created": int(self._clock.now().timestamp()),
            "provider_ref": hold_ref,
            **data,
        }
        if hold_ref is not None:
            hold = self._holds[hold_ref]
            body.update(reference=hold.reference, currency=hold.currency)
        payload, headers = self.signed(body)
        delay = self._random.uniform(0, self.max_webhook_delay)
        task = asyncio.ensure_future(self._deliver(payload, headers, delay))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, payload: bytes, headers: Mapping[str, str], delay: float) -> None:
        """Like a PSP: retry a few times while the receiver does not answer 2xx."""
        for attempt in range(4):
            await asyncio.sleep(delay * (attempt + 1))
            sink = self._sink
            if sink is None:
                return
            try:
                if 200 <= await sink(payload, headers) < 300:
                    return
            except Exception:
                log.warning("sandbox webhook delivery failed", exc_info=True)

    def pay_out(self, currency: str = "EUR") -> Payout | None:
        """Send what was captured and not yet paid out, less fees, to the operator's bank."""
        gross = fee = Decimal(0)
        for hold in self._holds.values():
            if hold.currency != currency:
                continue
            owed = hold.captured - sum((a for _, a in hold.refunds), Decimal(0)) - hold.paid_out
            if owed or (hold.captured and not hold.fee):
                charge_fee = Decimal(0)
                if hold.captured and not hold.fee:
                    charge_fee = (hold.captured * FEE_RATE + FEE_FIXED).quantize(
                        Decimal("0.01"),
                        ROUND_HALF_UP,  # DESIGN §2: half-up, not the default
                    )
                    hold.fee = charge_fee
                gross += owed
                fee += charge_fee
                hold.paid_out += owed
        if not gross and not fee:
            return None
        payout = Payout(
            payout_id=f"po_{self._random.getrandbits(64):016x}",
            gross=Money.of(gross, currency),
            fee=Money.of(fee, currency),
            arrival=self._clock.now().date(),
        )
        self._payouts.append(payout)
        self._emit(
            "payout.paid",
            None,
            payout_id=payout.payout_id,
            gross=str(gross),
            fee=str(fee),
            currency=currency,
            arrival=payout.arrival.isoformat(),
        )
        return payout

    # --- the client side: PaymentGateway ------------------------------------------------------

    async def _once(
        self, key: str, fingerprint: str, act: Callable[[], GatewayResult], card: _Card | None
    ) -> GatewayResult:
        """Idempotency: the same key with the same request gets the first answer again."""
        await asyncio.sleep(0)
        known = self._answers.get(key)
        if known is not None:
            if known[0] != fingerprint:
                raise InvalidInputError(
                    "idempotency key reused with other parameters", code="idempotency_mismatch"
                )
            result = known[1]
        else:
            result = act()
            self._answers[key] = (fingerprint, result)
        if card is not None and card.behaviour == TIMEOUT:
            raise GatewayTimeoutError("the sandbox PSP did not answer in time")
        return result

    async def authorise(
        self,
        *,
        amount: Money,
        method_token: str,
        idempotency_key: str,
        reference: str,
        capture: bool = False,
    ) -> GatewayResult:
        card = self._cards.get(method_token)
        if card is None:
            raise InvalidInputError("unknown card token", code="unknown_card_token")

        def act() -> GatewayResult:
            ref = f"sbx_pi_{self._random.getrandbits(64):016x}"
            hold = _Hold(reference, amount.currency.code, card)
            self._holds[ref] = hold
            self._by_reference[reference] = ref
            decline = card.behaviour if card.behaviour not in (APPROVED, TIMEOUT, LIMITED) else None
            if decline is None and card.behaviour == LIMITED and amount.amount > LIMIT:
                decline = "insufficient_funds"
            if decline is not None:
                hold.declined = decline
                self._emit("payment.declined", ref, decline_code=decline)
                return GatewayResult(Outcome.DECLINED, Decimal(0), ref, decline_code=decline)
            if capture:
                hold.held = hold.captured = amount.amount
                self._emit("payment.captured", ref, amount=str(amount.amount))
                return GatewayResult(Outcome.CAPTURED, amount.amount, ref)
            hold.held = amount.amount
            self._emit("payment.authorised", ref, amount=str(amount.amount))
            return GatewayResult(Outcome.AUTHORISED, amount.amount, ref)

        fingerprint = f"auth:{amount.amount}:{amount.currency}:{method_token}:{reference}:{capture}"
        return await self._once(idempotency_key, fingerprint, act, card)

    def _hold(self, provider_ref: str) -> _Hold:
        hold = self._holds.get(provider_ref)
        if hold is None:
            raise InvalidInputError(f"no payment {provider_ref}", code="unknown_payment")
        return hold

    async def increment(
        self, *, provider_ref: str, new_total: Money, idempotency_key: str
    ) -> GatewayResult:
        hold = self._hold(provider_ref)

        def act() -> GatewayResult:
            if hold.released or hold.captured or hold.declined:
                return GatewayResult(Outcome.DECLINED, hold.held, provider_ref, "not_held")
            if hold.card.behaviour == LIMITED and new_total.amount > LIMIT:
                return GatewayResult(
                    Outcome.DECLINED, hold.held, provider_ref, decline_code="insufficient_funds"
                )
            hold.held = max(hold.held, new_total.amount)
            return GatewayResult(Outcome.AUTHORISED, hold.held, provider_ref)

        fingerprint = f"raise:{provider_ref}:{new_total.amount}"
        return await self._once(idempotency_key, fingerprint, act, hold.card)

    async def capture(
        self, *, provider_ref: str, amount: Money, idempotency_key: str
    ) -> GatewayResult:
        hold = self._hold(provider_ref)

        def act() -> GatewayResult:
            if hold.captured:  # one capture per hold: a second one is refused, never repeated
                return GatewayResult(Outcome.CAPTURED, hold.captured, provider_ref)
            if hold.released or hold.declined:
                return GatewayResult(Outcome.DECLINED, Decimal(0), provider_ref, "not_held")
            if amount.amount > hold.held:
                raise InvalidInputError("capture above the hold", code="capture_above_hold")
            hold.captured = amount.amount
            self._emit("payment.captured", provider_ref, amount=str(amount.amount))
            return GatewayResult(Outcome.CAPTURED, amount.amount, provider_ref)

        fingerprint = f"capture:{provider_ref}:{amount.amount}"
        return await self._once(idempotency_key, fingerprint, act, hold.card)

    async def release(self, *, provider_ref: str, idempotency_key: str) -> GatewayResult:
        hold = self._hold(provider_ref)

        def act() -> GatewayResult:
            if hold.captured:
                return GatewayResult(Outcome.DECLINED, Decimal(0), provider_ref, "captured")
            if not hold.released:
                hold.released = True
                self._emit("payment.released", provider_ref)
            return GatewayResult(Outcome.RELEASED, Decimal(0), provider_ref)

        return await self._once(idempotency_key, f"release:{provider_ref}", act, hold.card)

    async def refund(
        self, *, provider_ref: str, amount: Money, idempotency_key: str, reason: str
    ) -> GatewayResult:
        hold = self._hold(provider_ref)

        def act() -> GatewayResult:
            refunded = sum((a for _, a in hold.refunds), Decimal(0))
            if amount.amount <= 0 or amount.amount > hold.captured - refunded:
                return GatewayResult(Outcome.DECLINED, Decimal(0), provider_ref, "over_refund")
            refund_ref = f"sbx_re_{self._random.getrandbits(64):016x}"
            hold.refunds.append((refund_ref, amount.amount))
            self._emit(
                "payment.refunded",
                provider_ref,
                amount=str(amount.amount),
                refund_ref=refund_ref,
                operation=idempotency_key,
            )
            return GatewayResult(Outcome.REFUNDED, amount.amount, provider_ref, None, refund_ref)

        fingerprint = f"refund:{provider_ref}:{amount.amount}"
        return await self._once(idempotency_key, fingerprint, act, hold.card)

    async def lookup(self, *, reference: str, provider_ref: str | None) -> ProviderView | None:
        await asyncio.sleep(0)
        ref = provider_ref or self._by_reference.get(reference)
        hold = self._holds.get(ref) if ref else None
        if hold is None or ref is None:
            return None
        return ProviderView(
            provider_ref=ref,
            authorised=Decimal(0) if hold.declined else hold.held,
            captured=hold.captured,
            refunds=tuple(hold.refunds),
            released=hold.released,
            declined=hold.declined is not None,
            decline_code=hold.declined,
        )

    async def card_details(self, token: str) -> CardDetails:
        card = self._cards.get(token)
        if card is None:
            raise InvalidInputError("unknown card token", code="unknown_card_token")
        return CardDetails(token, card.brand, card.last4, card.exp_month, card.exp_year)

    def verify_webhook(
        self, payload: bytes, headers: Mapping[str, str], now: datetime
    ) -> WebhookEvent:
        lowered = {k.lower(): v for k, v in headers.items()}
        header = lowered.get(SIGNATURE_HEADER)
        if not header:
            raise WebhookRejectedError("no signature", code="webhook_unsigned")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            timestamp = int(parts["t"])
        except (KeyError, ValueError) as exc:
            raise WebhookRejectedError("bad signature header", code="webhook_forged") from exc
        expected = sign(self._secret, timestamp, payload).split("v1=", 1)[1]
        # Bytes: compare_digest raises TypeError on a non-ASCII str (a garbage header).
        if not hmac.compare_digest(expected.encode(), parts.get("v1", "").encode()):
            raise WebhookRejectedError("signature does not match", code="webhook_forged")
        if abs(now.timestamp() - timestamp) > WEBHOOK_TOLERANCE_SECONDS:
            raise WebhookRejectedError("signature too old or too new", code="webhook_stale")
        try:
            body = json.loads(payload)
            return event_of(body)
        except (ValueError, KeyError, TypeError, ArithmeticError, InvalidInputError) as exc:
            # ArithmeticError: a Decimal that is no number, a timestamp out of range;
            # InvalidInputError: a payout's amount or currency that Money refuses.
            raise WebhookRejectedError("unreadable event", code="webhook_malformed") from exc

    async def payouts(self, since: datetime) -> list[Payout]:
        await asyncio.sleep(0)
        return [p for p in self._payouts if p.arrival >= since.date()]
