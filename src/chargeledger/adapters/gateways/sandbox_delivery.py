"""How the sandbox PSP delivers its webhooks: like a PSP, at least once.

Each event is kept in the simulator's store when it happens (in the same turn as the change
it reports). It is sent after that turn, signed at every attempt (the receiver checks the
signature's age), and tried again a few times while the receiver does not answer 2xx. An
event still undelivered (the receiver was down, the process ended) is sent again by
:meth:`WebhookCourier.resend_pending` - the server calls it from its payment janitor - in up
to ``MAX_ROUNDS`` rounds; receivers deduplicate by event id (DESIGN §2).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from chargeledger.adapters.gateways.sandbox_events import SIGNATURE_HEADER, sign
from chargeledger.adapters.gateways.sandbox_store import PendingWebhook, SandboxStore
from chargeledger.services.ports import Clock

log = logging.getLogger(__name__)
ATTEMPTS_PER_ROUND = 4
MAX_ROUNDS = 10
WebhookSink = Callable[[bytes, Mapping[str, str]], Awaitable[int]]


class WebhookCourier:
    """Sends the store's events to the sink (the application's webhook endpoint)."""

    def __init__(self, store: SandboxStore, clock: Clock, secret: str, rng: random.Random) -> None:
        self._store = store
        self._clock = clock
        self._secret = secret
        self._random = rng
        self._sink: WebhookSink | None = None
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self.max_delay = 0.05

    def deliver_to(self, sink: WebhookSink | None) -> None:
        self._sink = sink

    def headers(self, payload: bytes, at: datetime | None = None) -> dict[str, str]:
        timestamp = int((at or self._clock.now()).timestamp())
        return {SIGNATURE_HEADER: sign(self._secret, timestamp, payload)}

    @property
    def busy(self) -> bool:
        return bool(self._in_flight)

    async def settle(self) -> None:
        """Wait until every delivery under way has ended (for demos and tests)."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight.values()), return_exceptions=True)

    def send(self, webhooks: list[PendingWebhook]) -> None:
        """Start delivering (the events of a turn just committed, or pending ones)."""
        for webhook in webhooks:
            if self._sink is None or webhook.event_id in self._in_flight:
                continue
            delay = self._random.uniform(0, self.max_delay)
            task = asyncio.ensure_future(self._deliver(webhook, delay))
            self._in_flight[webhook.event_id] = task
            task.add_done_callback(functools.partial(self._done, webhook.event_id))

    def _done(self, event_id: str, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(event_id, None)

    async def resend_pending(self) -> int:
        """Another round for every event not delivered yet (and not under way here)."""
        if self._sink is None:
            return 0
        async with self._store.change() as turn:
            pending = [
                w
                for w in await turn.pending_webhooks(MAX_ROUNDS)
                if w.event_id not in self._in_flight
            ]
            for webhook in pending:
                await turn.webhook_round(webhook.event_id, webhook.rounds + 1)
        self.send(pending)
        return len(pending)

    async def _deliver(self, webhook: PendingWebhook, delay: float) -> None:
        payload = webhook.body.encode()
        for attempt in range(ATTEMPTS_PER_ROUND):
            await asyncio.sleep(delay * (attempt + 1))
            sink = self._sink
            if sink is None:
                return
            try:
                if 200 <= await sink(payload, self.headers(payload)) < 300:
                    break
            except Exception:
                log.warning("sandbox webhook delivery failed", exc_info=True)
        else:
            return  # still pending: the next round (resend_pending) tries again
        try:
            async with self._store.change() as turn:
                await turn.webhook_delivered(webhook.event_id, self._clock.now())
        except Exception:  # delivered all the same; at worst it is sent once more
            log.warning("could not record a delivered sandbox webhook", exc_info=True)

    async def aclose(self) -> None:
        """Stop delivering (at shutdown): what was not delivered stays pending in the store."""
        tasks = list(self._in_flight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
