"""What the outbox needs from storage and from the outside world (``adapters/db`` and
``adapters/notify``). Nothing here imports ``services.ports``: that module imports this one."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from chargeledger.domain.outbox import Channel, MessageState, OutboxMessage
from chargeledger.services.paging import Page


class OutboxRepository(Protocol):
    """The one outbox table. Every state change is conditional on the state it leaves, and
    answers whether it happened (False: another worker or person got there first)."""

    async def add(self, messages: Sequence[OutboxMessage]) -> int:
        """Keep new messages; one whose dedupe key exists is skipped. How many were new."""
        ...

    async def add_many(self, messages: Sequence[OutboxMessage]) -> None:
        """``add`` in batches (a bank statement's confirmations), without the count."""
        ...

    async def get(self, message_id: uuid.UUID) -> OutboxMessage | None: ...

    async def due(
        self, channels: Sequence[Channel], now: datetime, limit: int
    ) -> list[OutboxMessage]:
        """Messages of ``channels`` whose attempt is due: pending and due, or claimed by a
        worker whose lease ran out (it died mid-attempt). Oldest first."""
        ...

    async def mark_fanned_out(self, message_id: uuid.UUID, now: datetime) -> bool:
        """An announcement whose deliveries were made: ``delivered``, once."""
        ...

    async def claim(
        self, message_id: uuid.UUID, attempts: int, now: datetime, lease_until: datetime
    ) -> bool:
        """Take the next attempt (``attempts`` is what the caller read): state ``sending``."""
        ...

    async def settle(
        self,
        message_id: uuid.UUID,
        attempt: int,
        state: MessageState,
        now: datetime,
        next_attempt_at: datetime | None,
        error: str | None,
    ) -> bool:
        """End attempt number ``attempt`` (delivered, pending again, or dead); nothing
        happens when the message is no longer in that attempt."""
        ...

    async def list(
        self, state: MessageState | None, *, limit: int, offset: int
    ) -> Page[OutboxMessage]: ...

    async def retry(self, message_id: uuid.UUID, now: datetime, by: str) -> bool:
        """A dead message back to pending, due now, with its attempts counted anew."""
        ...


class DeliveryFailedError(Exception):
    """A delivery attempt failed; ``permanent`` when trying again cannot help (SMTP 5xx)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class OcpiPusher(Protocol):
    """Sends one OCPI push (``services.roaming.pushes``) to the roaming partner
    ``destination`` (its id); ``DeliveryFailedError`` when it did not take it."""

    async def push(self, destination: str, data: Mapping[str, object]) -> None: ...


OCPI_TOPIC_PREFIX = "ocpi."  # notices of these topics go to a roaming partner, nowhere else


@dataclass(frozen=True, slots=True)
class MailFile:
    filename: str
    content: bytes
    mime_type: str = "application/pdf"


@dataclass(frozen=True, slots=True)
class Mail:
    """One e-mail; ``message_id`` is the delivery's id, so a receiver can drop a copy that a
    worker dying between sending and recording sent again (RFC 5322 §3.6.4)."""

    message_id: str
    to: str
    subject: str
    text: str
    attachments: tuple[MailFile, ...] = ()


class MailSender(Protocol):
    async def send(self, mail: Mail) -> None:
        """Hand the mail to the relay; ``DeliveryFailedError`` when it does not take it."""
        ...


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """A partner's receiver: its own secret, and the topics it wants (empty: all)."""

    name: str
    url: str
    secret: str
    topics: frozenset[str] = field(default_factory=frozenset)

    def wants(self, topic: str) -> bool:
        return not self.topics or topic in self.topics


class WebhookSender(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> None:
        """POST; ``DeliveryFailedError`` unless the receiver answers 2xx."""
        ...
