"""Where the sandbox PSP keeps what it knows: cards, payments, refunds, idempotency answers,
payouts and the webhooks it still has to deliver (issue 11 item 13).

A real PSP remembers everything across our restarts, so the simulator must too: the server
keeps this state in its own database (``adapters/db/repositories/sandbox.py``, tables
``sandbox_*``); :class:`MemorySandboxStore` holds it in memory for unit tests of the
simulator's rules. Every change runs in one :meth:`SandboxStore.change` block (a turn): turns
about the same card or payment take turns, and a block that raises leaves nothing behind
(SQL) or changed nothing before raising (memory; the simulator checks before it writes).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from chargeledger.domain.payout_reconciliation import PayoutItem
from chargeledger.money import ZERO
from chargeledger.services.payments.gateway import GatewayResult, Payout


@dataclass(frozen=True, slots=True)
class SandboxCard:
    """A tokenised test card: what it does, brand, last four and expiry (never the number)."""

    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    behaviour: str


@dataclass(slots=True)
class SandboxHold:
    """One payment at the PSP (a PaymentIntent), amounts in the currency's minor-unit scale."""

    provider_ref: str
    seq: int
    reference: str
    currency: str
    token: str
    behaviour: str
    held: Decimal = ZERO
    captured: Decimal = ZERO
    refunds: list[tuple[str, Decimal]] = field(default_factory=list)
    released: bool = False
    declined: str | None = None
    paid_out: Decimal = ZERO
    fee: Decimal = ZERO

    @property
    def refunded(self) -> Decimal:
        return sum((amount for _, amount in self.refunds), ZERO)

    @property
    def awaiting_payout(self) -> bool:
        """Captured money not yet paid out (less refunds), or its fee not yet charged."""
        return bool(self.captured) and (
            not self.fee or self.paid_out != self.captured - self.refunded
        )


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The first answer to an idempotency key, and a digest of the request it answered."""

    fingerprint: str
    result: GatewayResult


@dataclass(frozen=True, slots=True)
class PendingWebhook:
    event_id: str
    body: str  # the JSON as first written; signed again at every delivery (timestamp)
    rounds: int


class SandboxTransaction(Protocol):
    """What the simulator may read and write in one turn."""

    async def next_number(self) -> int:
        """The next number of the PSP's id sequence: never handed out twice, restarts
        included (ids are derived from it, so a new token never collides with a stored one)."""
        ...

    async def card(self, token: str, lock: bool = False) -> SandboxCard | None:
        """The card; ``lock``: the turn's subject (its authorisations take turns)."""
        ...

    async def add_card(self, card: SandboxCard) -> None: ...

    async def hold(self, provider_ref: str, lock: bool = False) -> SandboxHold | None:
        """The payment; ``lock``: the turn's subject (its changes take turns)."""
        ...

    async def newest_hold(self, reference: str) -> SandboxHold | None:
        """The newest payment the PSP made for our ``reference`` (metadata search)."""
        ...

    async def add_hold(self, hold: SandboxHold) -> None: ...

    async def save_hold(self, hold: SandboxHold) -> None:
        """Keep the payment's amounts and state (its refunds are added by :meth:`add_refund`)."""
        ...

    async def add_refund(
        self, hold: SandboxHold, refund_ref: str, seq: int, amount: Decimal
    ) -> None:
        """Keep a refund of ``hold``; the caller saves the hold (its refunded total) after."""
        ...

    async def answer(self, key: str) -> StoredAnswer | None: ...

    async def save_answer(self, key: str, answer: StoredAnswer) -> None: ...

    async def unsettled_holds(self, currency: str) -> list[SandboxHold]:
        """Captured payments with money or a fee not yet paid out, oldest first (locked)."""
        ...

    async def holds(self) -> list[SandboxHold]: ...

    async def add_payout(self, payout: Payout, seq: int) -> None:
        """Keep the payout and the items it settled (pending adjustments among them are
        marked paid out)."""
        ...

    async def payouts(self, since: date) -> list[Payout]: ...

    async def payout_items(self, payout_id: str) -> tuple[PayoutItem, ...]: ...

    async def add_adjustment(self, item: PayoutItem) -> None:
        """Keep an operator's adjustment until a payout settles it."""
        ...

    async def pending_adjustments(self, currency: str) -> list[PayoutItem]:
        """Adjustments of ``currency`` no payout settled yet, oldest first (locked)."""
        ...

    async def add_webhook(self, event_id: str, seq: int, body: str, at: datetime) -> None: ...

    async def pending_webhooks(self, max_rounds: int) -> list[PendingWebhook]: ...

    async def webhook_round(self, event_id: str, rounds: int) -> None: ...

    async def webhook_delivered(self, event_id: str, at: datetime) -> None: ...


@dataclass
class SandboxTurn:
    """One turn at the PSP and the webhooks it sends once the turn is kept."""

    tx: SandboxTransaction
    sent: list[PendingWebhook] = field(default_factory=list)


class SandboxStore(Protocol):
    def change(self) -> AbstractAsyncContextManager[SandboxTransaction]:
        """One atomic turn at the PSP; turns about the same card or payment (the rows they
        read with ``lock``) never overlap, in this process nor in another."""
        ...

    def read(self) -> AbstractAsyncContextManager[SandboxTransaction]:
        """A read-only look (lookups, card details, payouts)."""
        ...


class MemorySandboxStore:
    """The simulator's state in this process only: for unit tests of its rules."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)
        self._turn = asyncio.Lock()
        self.cards: dict[str, SandboxCard] = {}
        self.payments: dict[str, SandboxHold] = {}
        self.answers: dict[str, StoredAnswer] = {}
        self.payout_list: list[Payout] = []
        self.adjustments: list[PayoutItem] = []  # not paid out yet
        self.webhooks: dict[str, tuple[str, int, bool]] = {}  # body, rounds, delivered

    @asynccontextmanager
    async def change(self) -> AsyncIterator[SandboxTransaction]:
        async with self._turn:
            yield _MemoryTransaction(self)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SandboxTransaction]:
        yield _MemoryTransaction(self)


class _MemoryTransaction:
    def __init__(self, store: MemorySandboxStore) -> None:
        self._store = store

    async def next_number(self) -> int:
        return next(self._store._numbers)

    async def card(self, token: str, lock: bool = False) -> SandboxCard | None:
        return self._store.cards.get(token)

    async def add_card(self, card: SandboxCard) -> None:
        self._store.cards[card.token] = card

    async def hold(self, provider_ref: str, lock: bool = False) -> SandboxHold | None:
        found = self._store.payments.get(provider_ref)
        return None if found is None else _copy(found)

    async def newest_hold(self, reference: str) -> SandboxHold | None:
        mine = [h for h in self._store.payments.values() if h.reference == reference]
        return _copy(max(mine, key=lambda h: h.seq)) if mine else None

    async def add_hold(self, hold: SandboxHold) -> None:
        self._store.payments[hold.provider_ref] = replace(hold, refunds=[])

    async def save_hold(self, hold: SandboxHold) -> None:
        known = self._store.payments[hold.provider_ref]
        self._store.payments[hold.provider_ref] = replace(hold, refunds=list(known.refunds))

    async def add_refund(
        self, hold: SandboxHold, refund_ref: str, seq: int, amount: Decimal
    ) -> None:
        self._store.payments[hold.provider_ref].refunds.append((refund_ref, amount))

    async def answer(self, key: str) -> StoredAnswer | None:
        return self._store.answers.get(key)

    async def save_answer(self, key: str, answer: StoredAnswer) -> None:
        self._store.answers[key] = answer

    async def unsettled_holds(self, currency: str) -> list[SandboxHold]:
        return [
            _copy(h)
            for h in sorted(self._store.payments.values(), key=lambda h: h.seq)
            if h.currency == currency and h.awaiting_payout
        ]

    async def holds(self) -> list[SandboxHold]:
        return [_copy(h) for h in sorted(self._store.payments.values(), key=lambda h: h.seq)]

    async def add_payout(self, payout: Payout, seq: int) -> None:
        self._store.payout_list.append(payout)
        settled = {item.item_id for item in payout.items}
        self._store.adjustments = [a for a in self._store.adjustments if a.item_id not in settled]

    async def payouts(self, since: date) -> list[Payout]:
        return [p for p in self._store.payout_list if p.arrival >= since]

    async def payout_items(self, payout_id: str) -> tuple[PayoutItem, ...]:
        found = [p.items for p in self._store.payout_list if p.payout_id == payout_id]
        return found[0] if found else ()

    async def add_adjustment(self, item: PayoutItem) -> None:
        self._store.adjustments.append(item)

    async def pending_adjustments(self, currency: str) -> list[PayoutItem]:
        return [a for a in self._store.adjustments if a.amount.currency.code == currency]

    async def add_webhook(self, event_id: str, seq: int, body: str, at: datetime) -> None:
        self._store.webhooks[event_id] = (body, 1, False)

    async def pending_webhooks(self, max_rounds: int) -> list[PendingWebhook]:
        return [
            PendingWebhook(event_id, body, rounds)
            for event_id, (body, rounds, delivered) in self._store.webhooks.items()
            if not delivered and rounds < max_rounds
        ]

    async def webhook_round(self, event_id: str, rounds: int) -> None:
        body, _, delivered = self._store.webhooks[event_id]
        self._store.webhooks[event_id] = (body, rounds, delivered)

    async def webhook_delivered(self, event_id: str, at: datetime) -> None:
        body, rounds, _ = self._store.webhooks[event_id]
        self._store.webhooks[event_id] = (body, rounds, True)


def _copy(hold: SandboxHold) -> SandboxHold:
    """Callers change what they read and save it back: never the stored object itself."""
    return replace(hold, refunds=list(hold.refunds))
