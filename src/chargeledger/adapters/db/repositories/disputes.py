"""Dispute cases with their append-only events and attachments (issue 15)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chargeledger.adapters.db.dispute_tables import dispute_attachments, dispute_events, disputes
from chargeledger.adapters.db.repositories.upsert import insert_ignoring_duplicates
from chargeledger.domain.disputes import (
    Chargeback,
    Dispute,
    DisputeEvent,
    DisputeOrigin,
    DisputeReason,
    DisputeState,
    EventKind,
    Resolution,
    Subject,
)
from chargeledger.services.disputes.case_ports import DisputeFilter, StoredAttachment


def _row(d: Dispute) -> dict[str, Any]:
    cb = d.chargeback
    return {
        "id": d.id,
        "number": d.number,
        "origin": d.origin.value,
        "reason": d.reason.value,
        "description": d.description,
        "account_id": d.account_id,
        "session_id": d.subject.session_id,
        "invoice_id": d.subject.invoice_id,
        "line": d.subject.line,
        "payment_id": d.subject.payment_id,
        "currency": d.currency.code,
        "amount": d.amount,
        "opened_by": d.opened_by,
        "opened_at": d.opened_at,
        "respond_by": d.respond_by,
        "state": d.state.value,
        "resolution": None if d.resolution is None else d.resolution.value,
        "resolution_note": d.resolution_note,
        "resolved_by": d.resolved_by,
        "resolved_at": d.resolved_at,
        "outcome_ref": d.outcome_ref,
        "psp_dispute_id": None if cb is None else cb.psp_dispute_id,
        "psp_gateway": None if cb is None else cb.gateway,
        "psp_status": None if cb is None else cb.status,
        "psp_reason": None if cb is None else cb.psp_reason,
        "psp_fee": None if cb is None else cb.fee,
        "evidence_due_by": None if cb is None else cb.evidence_due_by,
    }


def _dispute(row: Any) -> Dispute:
    chargeback = None
    if row.psp_dispute_id is not None:
        chargeback = Chargeback(
            psp_dispute_id=row.psp_dispute_id,
            gateway=row.psp_gateway,
            status=row.psp_status,
            psp_reason=row.psp_reason,
            fee=row.psp_fee,
            evidence_due_by=row.evidence_due_by,
        )
    return Dispute(
        id=row.id,
        number=row.number,
        origin=DisputeOrigin(row.origin),
        reason=DisputeReason(row.reason),
        description=row.description,
        subject=Subject(
            session_id=row.session_id,
            invoice_id=row.invoice_id,
            line=row.line,
            payment_id=row.payment_id,
        ),
        account_id=row.account_id,
        currency=row.currency,
        amount=row.amount,
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        respond_by=row.respond_by,
        state=DisputeState(row.state),
        resolution=None if row.resolution is None else Resolution(row.resolution),
        resolution_note=row.resolution_note,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        outcome_ref=row.outcome_ref,
        chargeback=chargeback,
    )


class SqlDisputeRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, dispute: Dispute) -> None:
        await self._connection.execute(disputes.insert().values(**_row(dispute)))

    async def update(self, dispute: Dispute) -> None:
        values = _row(dispute)
        del values["id"]
        await self._connection.execute(
            update(disputes).where(disputes.c.id == dispute.id).values(**values)
        )

    async def _one(self, condition: Any) -> Dispute | None:
        row = (await self._connection.execute(select(disputes).where(condition))).first()
        return None if row is None else _dispute(row)

    async def get(self, dispute_id: uuid.UUID) -> Dispute | None:
        return await self._one(disputes.c.id == dispute_id)

    async def by_number(self, number: str) -> Dispute | None:
        return await self._one(disputes.c.number == number)

    async def by_psp_dispute(self, psp_dispute_id: str) -> Dispute | None:
        return await self._one(disputes.c.psp_dispute_id == psp_dispute_id)

    async def last_number(self) -> int:
        counted = select(func.count()).select_from(disputes)
        return int((await self._connection.execute(counted)).scalar_one())

    async def search(self, criteria: DisputeFilter, limit: int, offset: int) -> list[Dispute]:
        query = select(disputes)
        if criteria.state is not None:
            query = query.where(disputes.c.state == criteria.state.value)
        if criteria.open_only:
            closed = [DisputeState.RESOLVED.value, DisputeState.WON.value, DisputeState.LOST.value]
            query = query.where(disputes.c.state.not_in(closed))
        if criteria.account_ids is not None:
            query = query.where(disputes.c.account_id.in_(criteria.account_ids))
        if criteria.session_id is not None:
            query = query.where(disputes.c.session_id == criteria.session_id)
        if criteria.invoice_id is not None:
            query = query.where(disputes.c.invoice_id == criteria.invoice_id)
        if criteria.reason is not None:
            query = query.where(disputes.c.reason == criteria.reason.value)
        if criteria.respond_by_before is not None:
            query = query.where(disputes.c.respond_by < criteria.respond_by_before)
        query = query.order_by(disputes.c.opened_at.desc(), disputes.c.number.desc())
        result = await self._connection.execute(query.limit(limit).offset(offset))
        return [_dispute(row) for row in result]

    async def add_event(self, event: DisputeEvent) -> bool:
        row = {
            "id": event.id,
            "dispute_id": event.dispute_id,
            "kind": event.kind.value,
            "at": event.at,
            "by": event.by,
            "note": event.note,
            "data": event.data,
            "event_key": event.key,
        }
        return await insert_ignoring_duplicates(self._connection, dispute_events, [row]) == 1

    async def events(self, dispute_id: uuid.UUID) -> list[DisputeEvent]:
        result = await self._connection.execute(
            select(dispute_events)
            .where(dispute_events.c.dispute_id == dispute_id)
            .order_by(dispute_events.c.at, dispute_events.c.id)
        )
        return [
            DisputeEvent(
                id=row.id,
                dispute_id=row.dispute_id,
                kind=EventKind(row.kind),
                at=row.at,
                by=row.by,
                note=row.note,
                data=dict(row.data),
                key=row.event_key,
            )
            for row in result
        ]

    async def add_attachment(self, attachment: StoredAttachment, content: bytes) -> None:
        await self._connection.execute(
            dispute_attachments.insert().values(
                id=attachment.id,
                dispute_id=attachment.dispute_id,
                name=attachment.name,
                media_type=attachment.media_type,
                sha256=attachment.sha256,
                content=content,
                added_by=attachment.added_by,
                added_at=attachment.added_at,
            )
        )

    async def attachments(self, dispute_id: uuid.UUID) -> list[StoredAttachment]:
        t = dispute_attachments
        result = await self._connection.execute(
            select(
                t.c.id,
                t.c.dispute_id,
                t.c.name,
                t.c.media_type,
                t.c.sha256,
                func.length(t.c.content).label("size"),
                t.c.added_by,
                t.c.added_at,
            )
            .where(t.c.dispute_id == dispute_id)
            .order_by(t.c.added_at)
        )
        return [StoredAttachment(**row._mapping) for row in result]

    async def attachment_content(self, attachment_id: uuid.UUID) -> bytes | None:
        result = await self._connection.execute(
            select(dispute_attachments.c.content).where(dispute_attachments.c.id == attachment_id)
        )
        content = result.scalar_one_or_none()
        return None if content is None else bytes(content)
