"""Announcing events into the outbox, and the dead-letter list finance works through.

``announce`` is called by a use case inside its own transaction (DESIGN §3: it never
commits), so the announcement is kept exactly when the event is (issue 13: "written in the
same transaction as the event it announces").
"""

from __future__ import annotations

import uuid

from chargeledger.domain.outbox import MessageState, Notice, OutboxMessage, announcement
from chargeledger.errors import ConflictError, NotFoundError
from chargeledger.services.common import page_bounds
from chargeledger.services.paging import Page
from chargeledger.services.ports import Clock, UnitOfWork


async def announce(uow: UnitOfWork, clock: Clock, notice: Notice) -> bool:
    """Put ``notice`` in the outbox; False when its key was announced before (a replayed
    event announces nothing twice)."""
    return await uow.outbox.add([announcement(notice, clock.now())]) == 1


async def list_messages(
    uow: UnitOfWork, state: MessageState | None, limit: int, offset: int
) -> Page[OutboxMessage]:
    limit, offset = page_bounds(limit, offset)
    return await uow.outbox.list(state, limit=limit, offset=offset)


async def retry_message(
    uow: UnitOfWork, clock: Clock, message_id: uuid.UUID, retried_by: str
) -> OutboxMessage:
    """Finance sends a dead message again (the address was fixed, the endpoint is back): it
    is due at once and gets the policy's attempts anew. Only dead messages: a pending one is
    already on its way, a delivered one must not go twice."""
    found = await uow.outbox.get(message_id)
    if found is None:
        raise NotFoundError(
            f"outbox message {message_id} not found", code="outbox_message_not_found"
        )
    if found.state is not MessageState.DEAD or not await uow.outbox.retry(
        message_id, clock.now(), retried_by
    ):
        raise ConflictError(
            f"outbox message {message_id} is {found.state.value}: only dead messages are retried",
            code="outbox_message_not_dead",
        )
    kept = await uow.outbox.get(message_id)
    assert kept is not None
    return kept
