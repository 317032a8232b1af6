"""The transactional outbox (issue 13 "Outbox and notifications"): what we tell customers and
partners, written in the transaction of the event it announces, delivered afterwards.

DESIGN §2 exactly-once: an event that is rolled back is never announced, and one that is
committed is announced once (its ``key`` is unique: announcing it again adds nothing). The
announcement row (channel ``event``) is fanned out by the delivery worker into one message
per channel and destination (the buyer's e-mail, each webhook endpoint that wants the topic),
each with its own state, attempts and backoff, so a failing endpoint never makes another
one receive a message twice.

A message moves ``pending`` → ``sending`` (claimed by one worker for one attempt) →
``delivered``, or back to ``pending`` with a later ``next_attempt_at`` (exponential backoff),
or ``dead`` after its last attempt or a permanent refusal. Finance may send a dead one again
(``pending``, attempts counted anew). Every transition is conditional on the state it leaves,
so two workers never both claim an attempt and a late answer never overwrites a newer state.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from chargeledger.domain.ids import new_id
from chargeledger.errors import InvalidInputError


class Channel(StrEnum):
    EVENT = "event"  # the announcement itself, fanned out by the worker
    EMAIL = "email"
    WEBHOOK = "webhook"
    OCPI = "ocpi"  # a push to a roaming partner's OCPI receiver (issue 18)


class MessageState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"


class AttachmentKind(StrEnum):
    """Documents rendered when the message is sent (they are reproducible: the same bytes
    every time, so storing a reference is as good as storing the file)."""

    INVOICE_PDF = "invoice_pdf"
    REMINDER_PDF = "reminder_pdf"


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: AttachmentKind
    ref: uuid.UUID  # the invoice or the dunning notice

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", AttachmentKind(self.kind))


@dataclass(frozen=True, slots=True)
class Notice:
    """An event worth telling: its topic (``dunning.notice``, ``invoice.issued``...), the
    e-mail to the customer (``recipient`` None: no e-mail), the data webhooks carry, and a
    natural ``key`` that makes announcing it idempotent."""

    topic: str
    key: str
    subject: str
    text: str
    data: Mapping[str, Any]
    recipient: str | None = None
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        if not self.topic or len(self.topic) > 64 or not self.key or len(self.key) > 150:
            raise InvalidInputError("a notice has a topic and a key", code="invalid_notice")


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One row of the outbox: the announcement (``Channel.EVENT``) or one delivery of it."""

    event_id: uuid.UUID
    notice: Notice
    channel: Channel
    destination: str  # an e-mail address, a webhook endpoint's name, "" for the event
    created_at: datetime
    state: MessageState = MessageState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    claimed_until: datetime | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    retried_by: str | None = None
    id: uuid.UUID = field(default_factory=new_id)

    def __post_init__(self) -> None:
        object.__setattr__(self, "channel", Channel(self.channel))
        object.__setattr__(self, "state", MessageState(self.state))

    @property
    def dedupe_key(self) -> str:
        """Unique in storage: one announcement per event key, one delivery per destination."""
        if self.channel is Channel.EVENT:
            return f"event:{self.notice.key}"
        return f"{self.channel.value}:{self.event_id}:{self.destination}"


def announcement(notice: Notice, at: datetime) -> OutboxMessage:
    """The row that announces ``notice``, written in the transaction of its event."""
    return OutboxMessage(
        event_id=uuid.uuid4(),
        notice=notice,
        channel=Channel.EVENT,
        destination="",
        created_at=at,
        next_attempt_at=at,
    )


def delivery(event: OutboxMessage, channel: Channel, destination: str) -> OutboxMessage:
    """One delivery of an announcement; it carries the announcement's content."""
    return OutboxMessage(
        event_id=event.event_id,
        notice=event.notice,
        channel=channel,
        destination=destination,
        created_at=event.created_at,
        next_attempt_at=event.created_at,
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: ``first_delay`` × 2^(attempt-1), at most ``max_delay``; after
    ``max_attempts`` attempts a message is dead (the dead-letter list finance works through).
    ``lease`` is how long one attempt may take before another worker may try again (a worker
    that died mid-attempt)."""

    max_attempts: int = 8
    first_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.first_delay <= timedelta(0):
            raise InvalidInputError("a retry policy tries at least once", code="invalid_setting")

    def delay_after(self, attempt: int) -> timedelta:
        """The wait after the ``attempt``-th failure (1-based)."""
        exponent = min(max(attempt - 1, 0), 40)  # 2**40 minutes is beyond any cap
        delay: timedelta = self.first_delay * (2**exponent)
        return min(delay, self.max_delay)


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where one failed attempt leaves a message."""

    state: MessageState
    next_attempt_at: datetime | None


def after_failure(policy: RetryPolicy, attempt: int, now: datetime, *, permanent: bool) -> Outcome:
    """Retry later, or dead: after the last attempt, or when the receiver refused for good
    (an SMTP 5xx: the address does not exist; trying again cannot help)."""
    if permanent or attempt >= policy.max_attempts:
        return Outcome(MessageState.DEAD, None)
    return Outcome(MessageState.PENDING, now + policy.delay_after(attempt))
