"""A bad network between us and the PSP, for the payment retry storm (issue 6).

:class:`FlakyGateway` wraps the real sandbox PSP (``adapters/gateways/sandbox.py``) and lets
each call, by the draw of a seeded generator:

* go through and be answered (``ok``);
* be delayed a little before it reaches the PSP (``delayed``; combines with the rest);
* be done by the PSP and then time out: the answer is lost (``answer_lost``);
* time out before the PSP saw it: the request is lost (``request_lost``);
* be sent twice with the same idempotency key, as a network retry would (``duplicated``);
* take the process down with it, before or after the PSP did it (``crashed``): the caller
  never records an answer nor a timeout, only that it asked.

:class:`WebhookStorm` takes the sandbox's signed webhooks instead of the application and
delivers them late, out of order and two or three times each; a share is held back until the
storm is over (delivered after the janitor has already resolved what they report) and a share
is lost for good (the PSP gave up), so nothing may depend on a webhook arriving. It also
counts the captures the PSP performed, from the ``payment.captured`` events the PSP emits
exactly once per capture it does.

Only the PSP is simulated; our storage (SQLite, PostgreSQL) and services are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from chargeledger.adapters.gateways.sandbox import SandboxGateway
from chargeledger.domain.payout_reconciliation import PayoutItem
from chargeledger.money import Money
from chargeledger.services.payments.gateway import (
    CardDetails,
    GatewayResult,
    GatewayTimeoutError,
    Payout,
    ProviderView,
    WebhookEvent,
    WebhookRejectedError,
)

T = TypeVar("T")
Deliver = Callable[[bytes, Mapping[str, str]], Awaitable[object]]


class ProcessCrash(Exception):  # noqa: N818 - it is not an error of the code under test
    """The process died while the PSP call was under way (a deploy, an OOM kill)."""


@dataclass(frozen=True)
class FaultPlan:
    """Shares of calls that meet each fault (timeouts: ``answer_lost + request_lost``)."""

    answer_lost: float = 0.15
    request_lost: float = 0.10
    crashed: float = 0.04
    duplicated: float = 0.20
    delayed: float = 0.30
    max_delay_s: float = 0.004


@dataclass
class FlakyGateway:
    """The PaymentGateway port over the sandbox, through a network that misbehaves."""

    inner: SandboxGateway
    rng: random.Random
    plan: FaultPlan = field(default_factory=FaultPlan)
    reliable: bool = False
    faults: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    answer_mismatches: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def supports_increment(self) -> bool:
        return self.inner.supports_increment

    @property
    def timeouts(self) -> int:
        return self.faults["answer_lost"] + self.faults["request_lost"]

    async def _through(self, method: str, perform: Callable[[], Awaitable[T]]) -> T:
        self.calls[method] += 1
        if self.reliable:
            return await perform()
        await self._maybe_delay()
        roll = self.rng.random()
        lost, answered, crashed = (
            self.plan.request_lost,
            self.plan.request_lost + self.plan.answer_lost,
            self.plan.request_lost + self.plan.answer_lost + self.plan.crashed,
        )
        if roll < lost:
            self.faults["request_lost"] += 1
            raise GatewayTimeoutError(f"flaky network: {method} request lost")
        if answered <= roll < crashed and self.rng.random() < 0.5:
            self.faults["crashed"] += 1
            raise ProcessCrash(f"died before sending {method}")
        result = await perform()
        if self.rng.random() < self.plan.duplicated:
            self.faults["duplicated"] += 1
            again = await perform()  # the same call, the same idempotency key
            if again != result:
                self.answer_mismatches.append(f"{method}: {result!r} then {again!r}")
        await self._maybe_delay()  # the answer takes its time, too
        if roll < answered:
            self.faults["answer_lost"] += 1
            raise GatewayTimeoutError(f"flaky network: {method} answer lost")
        if roll < crashed:
            self.faults["crashed"] += 1
            raise ProcessCrash(f"died before recording the answer to {method}")
        return result

    async def _maybe_delay(self) -> None:
        if self.rng.random() < self.plan.delayed / 2:
            self.faults["delayed"] += 1
            await asyncio.sleep(self.rng.uniform(0, self.plan.max_delay_s))

    async def authorise(
        self,
        *,
        amount: Money,
        method_token: str,
        idempotency_key: str,
        reference: str,
        capture: bool = False,
    ) -> GatewayResult:
        return await self._through(
            "authorise",
            lambda: self.inner.authorise(
                amount=amount,
                method_token=method_token,
                idempotency_key=idempotency_key,
                reference=reference,
                capture=capture,
            ),
        )

    async def increment(
        self, *, provider_ref: str, new_total: Money, idempotency_key: str
    ) -> GatewayResult:
        return await self._through(
            "increment",
            lambda: self.inner.increment(
                provider_ref=provider_ref, new_total=new_total, idempotency_key=idempotency_key
            ),
        )

    async def capture(
        self, *, provider_ref: str, amount: Money, idempotency_key: str
    ) -> GatewayResult:
        return await self._through(
            "capture",
            lambda: self.inner.capture(
                provider_ref=provider_ref, amount=amount, idempotency_key=idempotency_key
            ),
        )

    async def release(self, *, provider_ref: str, idempotency_key: str) -> GatewayResult:
        return await self._through(
            "release",
            lambda: self.inner.release(provider_ref=provider_ref, idempotency_key=idempotency_key),
        )

    async def refund(
        self, *, provider_ref: str, amount: Money, idempotency_key: str, reason: str
    ) -> GatewayResult:
        return await self._through(
            "refund",
            lambda: self.inner.refund(
                provider_ref=provider_ref,
                amount=amount,
                idempotency_key=idempotency_key,
                reason=reason,
            ),
        )

    async def lookup(self, *, reference: str, provider_ref: str | None) -> ProviderView | None:
        return await self._through(
            "lookup", lambda: self.inner.lookup(reference=reference, provider_ref=provider_ref)
        )

    async def card_details(self, token: str) -> CardDetails:
        return await self.inner.card_details(token)

    def verify_webhook(
        self, payload: bytes, headers: Mapping[str, str], now: datetime
    ) -> WebhookEvent:
        return self.inner.verify_webhook(payload, headers, now)

    async def payouts(self, since: datetime) -> list[Payout]:
        return await self._through("payouts", lambda: self.inner.payouts(since))

    async def payout_items(self, payout_id: str) -> tuple[PayoutItem, ...]:
        return await self._through("payout_items", lambda: self.inner.payout_items(payout_id))


@dataclass
class WebhookStorm:
    """Receives what the sandbox sends and delivers it badly to ``deliver``."""

    sandbox: SandboxGateway
    rng: random.Random
    deliver: Deliver
    late_share: float = 0.15
    lost_share: float = 0.10
    max_delay_s: float = 0.02
    emitted: list[dict[str, object]] = field(default_factory=list)
    captures_done: Counter[str] = field(default_factory=Counter)
    late: list[dict[str, object]] = field(default_factory=list)
    lost: int = 0
    deliveries: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def attach(self) -> None:
        self.sandbox.deliver_webhooks_to(self._receive)

    async def _receive(self, payload: bytes, headers: Mapping[str, str]) -> int:
        """The sandbox's sink: accept at once (so the sandbox does not retry by itself)."""
        body = json.loads(payload)
        self.emitted.append(body)
        if body["type"] == "payment.captured":
            self.captures_done[str(body["provider_ref"])] += 1
        roll = self.rng.random()
        if roll < self.lost_share:
            self.lost += 1
        elif roll < self.lost_share + self.late_share:
            self.late.append(body)
        else:
            self._scatter(body)
        return 200

    def _scatter(self, body: dict[str, object]) -> None:
        """Two or three copies, each after its own random delay: duplicated and reordered."""
        for _ in range(self.rng.choice((2, 2, 3))):
            delay = self.rng.uniform(0, self.max_delay_s)
            task = asyncio.ensure_future(self._deliver_later(body, delay))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver_later(self, body: dict[str, object], delay: float) -> None:
        await asyncio.sleep(delay)
        await self._deliver_now(body)

    async def _deliver_now(self, body: dict[str, object]) -> None:
        # Like a PSP's retry, each attempt is signed when it is sent (timestamp tolerance).
        payload, headers = self.sandbox.signed(body)
        self.deliveries += 1
        try:
            await self.deliver(payload, headers)
        except WebhookRejectedError:
            self.rejected += 1
        except Exception as exc:  # a webhook the application failed on: a finding
            self.errors.append(f"webhook {body['type']}: {type(exc).__name__}: {exc}")

    def release_late(self) -> None:
        """The held-back webhooks, shuffled, two or three times each."""
        late, self.late = self.late, []
        self.rng.shuffle(late)
        for body in late:
            self._scatter(body)

    async def settle(self) -> None:
        """Until the sandbox has nothing more to send and every delivery has been made."""
        while self._tasks or self.sandbox.busy:
            await self.sandbox.settle()
            if self._tasks:
                await asyncio.gather(*list(self._tasks))

    def captured_total(self, provider_ref: str) -> Decimal:
        return sum(
            (
                Decimal(str(b["amount"]))
                for b in self.emitted
                if b["type"] == "payment.captured" and b["provider_ref"] == provider_ref
            ),
            Decimal(0),
        )
