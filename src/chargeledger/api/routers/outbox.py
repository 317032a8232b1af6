"""``/api/v1/outbox``: the messages the outbox delivers (e-mails, webhooks), e.g. the dead
letters (``?state=dead``), and sending a dead one again (issue 13). Finance only: messages
name customers and their addresses."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from chargeledger.api.deps import RuntimeDep
from chargeledger.api.routers.access import ReadOutbox, WriteOutbox
from chargeledger.api.schemas.common import ERROR_RESPONSES, Limit, Offset, PageOut
from chargeledger.api.schemas.outbox import OutboxMessageOut
from chargeledger.domain.outbox import MessageState
from chargeledger.services.notifications import outbox
from chargeledger.services.transactions import in_transaction, reading

router = APIRouter(prefix="/api/v1/outbox", tags=["outbox"], responses=ERROR_RESPONSES)


@router.get("", summary="Outbox deliveries, e.g. the dead letters (?state=dead)")
async def list_messages(
    _: ReadOutbox,
    rt: RuntimeDep,
    state: MessageState | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[OutboxMessageOut]:
    page = await reading(rt.uow, outbox.list_messages, state, limit, offset)
    return PageOut(items=[OutboxMessageOut.of(m) for m in page.items], next_offset=page.next_offset)


@router.post("/{message_id}/retry", summary="Send a dead message again (due at once)")
async def retry_message(
    message_id: uuid.UUID, principal: WriteOutbox, rt: RuntimeDep
) -> OutboxMessageOut:
    retried = await in_transaction(
        rt.uow, outbox.retry_message, rt.clock, message_id, principal.subject
    )
    return OutboxMessageOut.of(retried)
