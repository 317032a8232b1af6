"""``sandbox``: a built-in payment service provider simulator for demos and tests.

It behaves like a card PSP with manual capture: tokenised cards, holds, incremental holds,
captures, releases, refunds, signed asynchronous webhooks and payouts with fees; its test
cards and rules are in ``sandbox_cards.py``. Like a real PSP it remembers all of it across
our restarts: its state lives in a store (``sandbox_store.py``; the server's database, tables
``sandbox_*``). Ids come from the store's sequence, which never restarts, through an HMAC
keyed with the webhook secret and the seed: repeatable for one installation and seed, never
colliding with stored ones, not guessable from outside. The card number is looked at once,
when it is tokenised, and never kept: the simulator stores the test behaviour it stands for,
brand and last four. Amounts are in the currency's minor units, as a PSP takes them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal

from chargeledger.adapters.gateways.sandbox_cards import (
    TEST_CARDS,
    exact,
    hold_decline,
    read_card,
    time_out_if,
)
from chargeledger.adapters.gateways.sandbox_delivery import WebhookCourier, WebhookSink
from chargeledger.adapters.gateways.sandbox_disputes import DisputingPsp, SandboxDispute
from chargeledger.adapters.gateways.sandbox_events import SIGNATURE_HEADER, sign, verify
from chargeledger.adapters.gateways.sandbox_payouts import adjustment, settle
from chargeledger.adapters.gateways.sandbox_store import (
    MemorySandboxStore,
    PendingWebhook,
    SandboxCard,
    SandboxHold,
    SandboxStore,
    SandboxTransaction,
    SandboxTurn,
    StoredAnswer,
)
from chargeledger.domain.payout_reconciliation import PayoutItem
from chargeledger.errors import InvalidInputError
from chargeledger.money import Money
from chargeledger.services.payments.gateway import (
    CardDetails,
    GatewayResult,
    Outcome,
    Payout,
    ProviderView,
    WebhookEvent,
)
from chargeledger.services.ports import Clock

__all__ = ["SIGNATURE_HEADER", "TEST_CARDS", "SandboxGateway", "WebhookSink", "sign"]

MAX_KEY = 255  # the longest idempotency key or reference the PSP accepts

_ID_LETTERS = 18  # 26**18 > 2**80: every value has its own id


class SandboxGateway(DisputingPsp):
    """The simulator and its client in one object (both live in this process)."""

    supports_increment = True

    def __init__(
        self,
        clock: Clock,
        webhook_secret: str,
        seed: int = 7,
        name: str = "sandbox",
        store: SandboxStore | None = None,
    ) -> None:
        if not webhook_secret:
            raise ValueError("the sandbox PSP needs a webhook secret")
        self._clock = clock
        self._secret = webhook_secret
        self._seed = seed
        self._name = name
        self._store: SandboxStore = store or MemorySandboxStore()
        self._courier = WebhookCourier(self._store, clock, webhook_secret, random.Random(seed))
        self._disputes: dict[str, SandboxDispute] = {}

    @property
    def name(self) -> str:
        return self._name

    def _id(self, prefix: str, number: int) -> str:
        """``prefix_`` and 18 lower-case letters (80 bits of the HMAC in base 26). Letters only:
        a hex id can hold 13+ digits in a row that pass Luhn, and the card-data guard would then
        rightly refuse to store our own token (``domain/card_data.py``)."""
        mac = hmac.new(self._secret.encode(), f"{self._seed}:{number}".encode(), hashlib.sha256)
        value = int.from_bytes(mac.digest()[:10], "big")
        letters = []
        for _ in range(_ID_LETTERS):
            value, digit = divmod(value, 26)
            letters.append(chr(ord("a") + digit))
        return f"{prefix}_{''.join(letters)}"

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[SandboxTurn]:
        async with self._store.change() as tx:
            turn = SandboxTurn(tx)
            yield turn
        self._courier.send(turn.sent)

    # --- the PSP's side: tokens, webhooks, payouts ------------------------------------------

    async def tokenise(self, number: str, exp_month: int, exp_year: int, cvc: str) -> CardDetails:
        """The PSP's hosted card field: card data in, a token out. Nothing else sees it."""
        brand, behaviour, last4 = read_card(number, exp_month, exp_year, cvc, self._clock.now())
        async with self._turn() as turn:
            token = self._id("tok", await turn.tx.next_number())
            await turn.tx.add_card(SandboxCard(token, brand, last4, exp_month, exp_year, behaviour))
        return CardDetails(token, brand, last4, exp_month, exp_year)

    def deliver_webhooks_to(self, sink: WebhookSink | None) -> None:
        self._courier.deliver_to(sink)

    @property
    def max_webhook_delay(self) -> float:
        return self._courier.max_delay

    @max_webhook_delay.setter
    def max_webhook_delay(self, seconds: float) -> None:
        self._courier.max_delay = seconds

    @property
    def busy(self) -> bool:
        return self._courier.busy

    async def settle(self) -> None:
        """Wait until every webhook sent so far was delivered (for demos and tests)."""
        await self._courier.settle()

    async def resend_pending_webhooks(self) -> int:
        """Send again what the receiver has not accepted yet (a PSP's retry schedule)."""
        return await self._courier.resend_pending()

    async def aclose(self) -> None:
        await self._courier.aclose()

    def signed(
        self, body: dict[str, object], at: datetime | None = None
    ) -> tuple[bytes, dict[str, str]]:
        payload = json.dumps(body, sort_keys=True).encode()
        return payload, self._courier.headers(payload, at)

    async def _emit(
        self, turn: SandboxTurn, kind: str, hold: SandboxHold | None, **data: object
    ) -> None:
        number = await turn.tx.next_number()
        body: dict[str, object] = {
            "id": self._id("evt", number),
            "type": kind,
            "created": int(self._clock.now().timestamp()),
            "provider_ref": None if hold is None else hold.provider_ref,
            **data,
        }
        if hold is not None:
            body.update(reference=hold.reference, currency=hold.currency)
        text = json.dumps(body, sort_keys=True)
        await turn.tx.add_webhook(str(body["id"]), number, text, self._clock.now())
        turn.sent.append(PendingWebhook(str(body["id"]), text, 1))

    async def pay_out(self, currency: str = "EUR") -> Payout | None:
        """Send what was captured and not yet paid out, less fees and refunds, plus the
        operator's adjustments, to the operator's bank (``sandbox_payouts.py``)."""
        async with self._turn() as turn:

            async def new_id(prefix: str) -> tuple[str, int]:
                number = await turn.tx.next_number()
                return self._id(prefix, number), number

            payout = await settle(turn.tx, currency, new_id, self._clock.now().date())
            if payout is None:
                return None
            await self._emit(
                turn,
                "payout.paid",
                None,
                payout_id=payout.payout_id,
                gross=str(payout.gross.amount),
                fee=str(payout.fee.amount),
                currency=currency,
                arrival=payout.arrival.isoformat(),
            )
        return payout

    async def adjust(self, provider_ref: str, amount: Money, reason: str) -> PayoutItem:
        """The PSP's operator corrects the balance of a payment (a chargeback: negative); the
        next payout of its currency includes it, as a real PSP withdraws disputed money."""
        async with self._turn() as turn:
            hold = await self._hold(turn.tx, provider_ref)
            if amount.currency.code != hold.currency:
                raise InvalidInputError("adjustment in another currency", code="invalid_currency")
            item = adjustment(self._id("txn", await turn.tx.next_number()), hold, amount, reason)
            await turn.tx.add_adjustment(item)
        return item

    async def holds(self) -> list[SandboxHold]:
        """Every payment the PSP knows, oldest first (to compare our books with the PSP's)."""
        async with self._store.read() as tx:
            return await tx.holds()

    # --- the client side: PaymentGateway ------------------------------------------------------

    async def _once(
        self,
        turn: SandboxTurn,
        key: str,
        request: str,
        act: Callable[[], Awaitable[GatewayResult]],
    ) -> GatewayResult:
        """Idempotency: the same key with the same request gets the first answer again."""
        if not key or len(key) > MAX_KEY:
            raise InvalidInputError("invalid idempotency key", code="invalid_idempotency_key")
        fingerprint = hashlib.sha256(request.encode()).hexdigest()
        known = await turn.tx.answer(key)
        if known is not None:
            if known.fingerprint != fingerprint:
                raise InvalidInputError(
                    "idempotency key reused with other parameters", code="idempotency_mismatch"
                )
            return known.result
        result = await act()
        await turn.tx.save_answer(key, StoredAnswer(fingerprint, result))
        return result

    async def _hold(self, tx: SandboxTransaction, provider_ref: str) -> SandboxHold:
        hold = await tx.hold(provider_ref, lock=True)
        if hold is None:
            raise InvalidInputError(f"no payment {provider_ref}", code="unknown_payment")
        return hold

    async def authorise(
        self,
        *,
        amount: Money,
        method_token: str,
        idempotency_key: str,
        reference: str,
        capture: bool = False,
    ) -> GatewayResult:
        value = exact(amount)
        if not reference or len(reference) > MAX_KEY:
            raise InvalidInputError("invalid payment reference", code="invalid_reference")
        currency = amount.currency.code
        request = f"auth:{value}:{currency}:{method_token}:{reference}:{capture}"
        async with self._turn() as turn:
            card = await turn.tx.card(method_token, lock=True)
            if card is None:
                raise InvalidInputError("unknown card token", code="unknown_card_token")

            async def act() -> GatewayResult:
                number = await turn.tx.next_number()
                hold = SandboxHold(
                    self._id("sbx_pi", number),
                    number,
                    reference,
                    currency,
                    card.token,
                    card.behaviour,
                )
                decline = hold_decline(card.behaviour, value)
                if decline is not None:
                    hold.declined = decline
                    await turn.tx.add_hold(hold)
                    await self._emit(turn, "payment.declined", hold, decline_code=decline)
                    return GatewayResult(Outcome.DECLINED, Decimal(0), hold.provider_ref, decline)
                hold.held = value
                hold.captured = value if capture else Decimal(0)
                await turn.tx.add_hold(hold)
                kind = "payment.captured" if capture else "payment.authorised"
                await self._emit(turn, kind, hold, amount=str(value))
                outcome = Outcome.CAPTURED if capture else Outcome.AUTHORISED
                return GatewayResult(outcome, value, hold.provider_ref)

            result = await self._once(turn, idempotency_key, request, act)
        time_out_if(card.behaviour)
        return result

    async def increment(
        self, *, provider_ref: str, new_total: Money, idempotency_key: str
    ) -> GatewayResult:
        value = exact(new_total)
        async with self._turn() as turn:
            hold = await self._hold(turn.tx, provider_ref)

            async def act() -> GatewayResult:
                if hold.released or hold.captured or hold.declined:
                    return GatewayResult(Outcome.DECLINED, hold.held, provider_ref, "not_held")
                if hold_decline(hold.behaviour, value):
                    return GatewayResult(
                        Outcome.DECLINED, hold.held, provider_ref, "insufficient_funds"
                    )
                hold.held = max(hold.held, value)
                await turn.tx.save_hold(hold)
                return GatewayResult(Outcome.AUTHORISED, hold.held, provider_ref)

            request = f"raise:{provider_ref}:{value}"
            result = await self._once(turn, idempotency_key, request, act)
        time_out_if(hold.behaviour)
        return result

    async def capture(
        self, *, provider_ref: str, amount: Money, idempotency_key: str
    ) -> GatewayResult:
        value = exact(amount)
        async with self._turn() as turn:
            hold = await self._hold(turn.tx, provider_ref)

            async def act() -> GatewayResult:
                if hold.captured:  # one capture per hold: a second one is refused, never repeated
                    return GatewayResult(Outcome.CAPTURED, hold.captured, provider_ref)
                if hold.released or hold.declined:
                    return GatewayResult(Outcome.DECLINED, Decimal(0), provider_ref, "not_held")
                if value > hold.held:
                    raise InvalidInputError("capture above the hold", code="capture_above_hold")
                hold.captured = value
                await turn.tx.save_hold(hold)
                await self._emit(turn, "payment.captured", hold, amount=str(value))
                return GatewayResult(Outcome.CAPTURED, value, provider_ref)

            request = f"capture:{provider_ref}:{value}"
            result = await self._once(turn, idempotency_key, request, act)
        time_out_if(hold.behaviour)
        return result

    async def release(self, *, provider_ref: str, idempotency_key: str) -> GatewayResult:
        async with self._turn() as turn:
            hold = await self._hold(turn.tx, provider_ref)

            async def act() -> GatewayResult:
                if hold.captured:
                    return GatewayResult(Outcome.DECLINED, Decimal(0), provider_ref, "captured")
                if not hold.released:
                    hold.released = True
                    await turn.tx.save_hold(hold)
                    await self._emit(turn, "payment.released", hold)
                return GatewayResult(Outcome.RELEASED, Decimal(0), provider_ref)

            result = await self._once(turn, idempotency_key, f"release:{provider_ref}", act)
        time_out_if(hold.behaviour)
        return result

    async def refund(
        self, *, provider_ref: str, amount: Money, idempotency_key: str, reason: str
    ) -> GatewayResult:
        value = exact(amount)
        async with self._turn() as turn:
            hold = await self._hold(turn.tx, provider_ref)

            async def act() -> GatewayResult:
                if value <= 0 or value > hold.captured - hold.refunded:
                    return GatewayResult(Outcome.DECLINED, Decimal(0), provider_ref, "over_refund")
                number = await turn.tx.next_number()
                refund_ref = self._id("sbx_re", number)
                await turn.tx.add_refund(hold, refund_ref, number, value)
                hold.refunds.append((refund_ref, value))
                await turn.tx.save_hold(hold)
                await self._emit(
                    turn,
                    "payment.refunded",
                    hold,
                    amount=str(value),
                    refund_ref=refund_ref,
                    operation=idempotency_key,
                )
                return GatewayResult(Outcome.REFUNDED, value, provider_ref, None, refund_ref)

            request = f"refund:{provider_ref}:{value}"
            result = await self._once(turn, idempotency_key, request, act)
        time_out_if(hold.behaviour)
        return result

    async def lookup(self, *, reference: str, provider_ref: str | None) -> ProviderView | None:
        async with self._store.read() as tx:
            if provider_ref:
                hold = await tx.hold(provider_ref)
            else:
                hold = await tx.newest_hold(reference)
        if hold is None:
            return None
        return ProviderView(
            provider_ref=hold.provider_ref,
            authorised=Decimal(0) if hold.declined else hold.held,
            captured=hold.captured,
            refunds=tuple(hold.refunds),
            released=hold.released,
            declined=hold.declined is not None,
            decline_code=hold.declined,
        )

    async def card_details(self, token: str) -> CardDetails:
        async with self._store.read() as tx:
            card = await tx.card(token)
        if card is None:
            raise InvalidInputError("unknown card token", code="unknown_card_token")
        return CardDetails(token, card.brand, card.last4, card.exp_month, card.exp_year)

    def verify_webhook(
        self, payload: bytes, headers: Mapping[str, str], now: datetime
    ) -> WebhookEvent:
        return verify(self._secret, payload, headers, now)

    async def payouts(self, since: datetime) -> list[Payout]:
        async with self._store.read() as tx:
            return await tx.payouts(since.date())

    async def payout_items(self, payout_id: str) -> tuple[PayoutItem, ...]:
        async with self._store.read() as tx:
            return await tx.payout_items(payout_id)
