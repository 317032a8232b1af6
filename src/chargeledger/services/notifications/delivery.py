"""The outbox's delivery worker (a periodic job of ``Runtime``; ``chargeledger outbox
deliver`` runs one pass by hand).

One pass: (1) fan every new announcement out into its deliveries (the buyer's e-mail when
SMTP is configured, each webhook endpoint that wants the topic), in one transaction with
marking the announcement done; (2) send every delivery that is due, each attempt claimed
first in a transaction of its own (so no two workers send the same attempt, and no
transaction stays open over the network call), then recorded as delivered, retried later
with backoff, or dead.

Exactly once, and where it stops: a message is sent at most once per claimed attempt, and a
recorded delivery is never sent again. A worker that dies after the relay accepted a mail but
before recording it leaves the attempt claimed; when its lease runs out the mail is sent once
more, carrying the same Message-ID (e-mail) or ``Chargeledger-Delivery-Id`` (webhooks), so
the receiver can drop the copy. No protocol can do better than this (the two generals).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from chargeledger.domain.outbox import (
    Attachment,
    Channel,
    MessageState,
    OutboxMessage,
    RetryPolicy,
    after_failure,
    delivery,
)
from chargeledger.domain.webhook_signatures import SIGNATURE_HEADER, signature_header
from chargeledger.services.notifications.ports import (
    OCPI_TOPIC_PREFIX,
    DeliveryFailedError,
    Mail,
    MailFile,
    MailSender,
    OcpiPusher,
    WebhookEndpoint,
    WebhookSender,
)
from chargeledger.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("chargeledger.outbox")

# Renders an attachment (an invoice's or a reminder's PDF) from storage.
AttachmentRenderer = Callable[[UnitOfWork, Attachment], Awaitable[MailFile]]
MAX_ERROR = 500


@dataclass(frozen=True)
class Deliveries:
    """What the worker delivers with (``bootstrap`` wires it from the settings)."""

    uows: UnitOfWorkFactory
    clock: Clock
    attachments: AttachmentRenderer
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    mail: MailSender | None = None  # None: SMTP not configured, no e-mail is made
    webhooks: tuple[WebhookEndpoint, ...] = ()
    webhook_sender: WebhookSender | None = None
    ocpi: OcpiPusher | None = None  # pushes to roaming partners (issue 18)
    batch: int = 100

    @property
    def channels(self) -> list[Channel]:
        found = [Channel.EMAIL] if self.mail is not None else []
        if self.webhooks and self.webhook_sender is not None:
            found.append(Channel.WEBHOOK)
        if self.ocpi is not None:
            found.append(Channel.OCPI)
        return found


@dataclass
class DeliveryReport:
    fanned_out: int = 0  # deliveries made from announcements
    delivered: int = 0
    retrying: int = 0
    dead: int = 0


async def deliver_outbox(deliveries: Deliveries) -> DeliveryReport:
    """One pass of the worker; see the module docstring."""
    report = DeliveryReport()
    await _fan_out(deliveries, report)
    channels = deliveries.channels
    if not channels:
        return report
    async with deliveries.uows() as uow:
        due = await uow.outbox.due(channels, deliveries.clock.now(), deliveries.batch)
    for message in due:
        await _attempt(deliveries, message, report)
    return report


def _destinations(deliveries: Deliveries, event: OutboxMessage) -> list[OutboxMessage]:
    if event.notice.topic.startswith(OCPI_TOPIC_PREFIX):
        # Made whether or not this worker can push: it waits for one that can, never lost.
        return [delivery(event, Channel.OCPI, str(event.notice.data.get("partner_id", "")))]
    made = []
    if deliveries.mail is not None and event.notice.recipient:
        made.append(delivery(event, Channel.EMAIL, event.notice.recipient))
    if deliveries.webhook_sender is not None:
        made += [
            delivery(event, Channel.WEBHOOK, endpoint.name)
            for endpoint in deliveries.webhooks
            if endpoint.wants(event.notice.topic)
        ]
    return made


async def _fan_out(deliveries: Deliveries, report: DeliveryReport) -> None:
    """Deliveries of new announcements, made once: their keys are unique, and an
    announcement another worker fanned out meanwhile adds nothing."""
    clock = deliveries.clock
    async with deliveries.uows() as uow:
        events = await uow.outbox.due([Channel.EVENT], clock.now(), deliveries.batch)
        for event in events:
            made = await uow.outbox.add(_destinations(deliveries, event))
            now = clock.now()
            if await uow.outbox.mark_fanned_out(event.id, now):
                report.fanned_out += made
        await uow.commit()


async def _attempt(deliveries: Deliveries, message: OutboxMessage, report: DeliveryReport) -> None:
    clock, policy = deliveries.clock, deliveries.policy
    now = clock.now()
    async with deliveries.uows() as uow:
        claimed = await uow.outbox.claim(message.id, message.attempts, now, now + policy.lease)
        await uow.commit()
    if not claimed:
        return  # another worker has this attempt
    attempt = message.attempts + 1
    state, next_at, error = MessageState.DELIVERED, None, None
    try:
        await _send(deliveries, message, now)
    except DeliveryFailedError as exc:
        outcome = after_failure(policy, attempt, clock.now(), permanent=exc.permanent)
        state, next_at, error = outcome.state, outcome.next_attempt_at, str(exc)[:MAX_ERROR]
    except Exception as exc:  # a document that cannot be rendered: retried, never lost
        log.exception("outbox delivery failed", extra={"message_id": str(message.id)})
        outcome = after_failure(policy, attempt, clock.now(), permanent=False)
        state, next_at = outcome.state, outcome.next_attempt_at
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
    async with deliveries.uows() as uow:
        settled = await uow.outbox.settle(message.id, attempt, state, clock.now(), next_at, error)
        await uow.commit()
    if settled:
        if state is MessageState.DELIVERED:
            report.delivered += 1
        elif state is MessageState.DEAD:
            report.dead += 1
            log.warning("outbox message dead", extra={"message_id": str(message.id)})
        else:
            report.retrying += 1


async def _send(deliveries: Deliveries, message: OutboxMessage, now: datetime) -> None:
    notice = message.notice
    if message.channel is Channel.OCPI:
        if deliveries.ocpi is None:
            raise DeliveryFailedError("OCPI pushes are not configured")
        await deliveries.ocpi.push(message.destination, notice.data)
        return
    if message.channel is Channel.EMAIL:
        assert deliveries.mail is not None
        async with deliveries.uows() as uow:
            files = [await deliveries.attachments(uow, a) for a in notice.attachments]
        await deliveries.mail.send(
            Mail(
                message_id=f"<{message.id}@chargeledger>",
                to=message.destination,
                subject=notice.subject,
                text=notice.text,
                attachments=tuple(files),
            )
        )
        return
    endpoint = _endpoint(deliveries.webhooks, message.destination)
    if endpoint is None or deliveries.webhook_sender is None:
        raise DeliveryFailedError(f"no webhook endpoint {message.destination!r}", permanent=True)
    body = webhook_body(message)
    await deliveries.webhook_sender.post(
        endpoint.url, body, webhook_headers(endpoint.secret, message, body, now)
    )


def _endpoint(endpoints: Sequence[WebhookEndpoint], name: str) -> WebhookEndpoint | None:
    return next((e for e in endpoints if e.name == name), None)


def webhook_body(message: OutboxMessage) -> bytes:
    """``{"id", "type", "created", "data"}``: the event id is the same in every delivery of
    the event (to every endpoint, on every attempt), for the receiver's deduplication."""
    return json.dumps(
        {
            "id": str(message.event_id),
            "type": message.notice.topic,
            "created": message.created_at.isoformat(),
            "data": dict(message.notice.data),
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    ).encode("utf-8")


def webhook_headers(
    secret: str, message: OutboxMessage, body: bytes, now: datetime
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature_header(secret, now, body),
        "Chargeledger-Event-Id": str(message.event_id),
        "Chargeledger-Delivery-Id": str(message.id),
    }
