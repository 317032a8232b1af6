"""Outbox messages as finance sees them (issue 13): the dead letters and their retries."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from chargeledger.domain.outbox import OutboxMessage


class OutboxMessageOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID = Field(description="the same in every delivery of one event")
    topic: str
    channel: str = Field(description="email, webhook or ocpi (a push to a roaming partner)")
    destination: str = Field(
        description="the e-mail address, the webhook endpoint's name or the roaming partner's id"
    )
    subject: str
    state: str = Field(description="pending, sending, delivered or dead")
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    retried_by: str | None

    @classmethod
    def of(cls, message: OutboxMessage) -> OutboxMessageOut:
        return cls(
            id=message.id,
            event_id=message.event_id,
            topic=message.notice.topic,
            channel=message.channel.value,
            destination=message.destination,
            subject=message.notice.subject,
            state=message.state.value,
            attempts=message.attempts,
            next_attempt_at=message.next_attempt_at,
            last_error=message.last_error,
            created_at=message.created_at,
            delivered_at=message.delivered_at,
            retried_by=message.retried_by,
        )
