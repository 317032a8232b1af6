"""Dispute cases as the API shows them (issue 15)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, field_validator

from chargeledger.api.schemas.common import Input
from chargeledger.domain.disputes import Dispute, DisputeEvent, DisputeReason, Resolution
from chargeledger.services.disputes.case_ports import StoredAttachment
from chargeledger.services.disputes.cases import Attachment, CaseFile
from chargeledger.services.disputes.resolution import ResolutionRequest

# Base64 grows a file by a third: a 5 MiB attachment needs about 7 MiB of JSON.
DISPUTE_BODY_BYTES = 7 * 1024 * 1024 + 4096


class AttachmentIn(Input):
    name: str = Field(min_length=1, max_length=200)
    media_type: str = Field(description="application/pdf, image/jpeg, image/png or text/plain")
    content_base64: str = Field(description="the file, base64-encoded (at most 5 MiB)")

    @field_validator("content_base64")
    @classmethod
    def _decodes(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("content_base64 is not base64") from exc
        return value

    def attachment(self) -> Attachment:
        return Attachment(self.name, self.media_type, base64.b64decode(self.content_base64))


class DisputeIn(Input):
    session_id: uuid.UUID | None = Field(None, description="the disputed charging session")
    invoice_id: uuid.UUID | None = Field(None, description="the disputed invoice")
    line: int | None = Field(None, ge=1, le=100_000, description="a position on the invoice")
    payment_id: uuid.UUID | None = Field(None, description="the disputed payment")
    reason: DisputeReason = Field(
        description="energy, price, duplicate, not_mine, service or other"
    )
    description: str = Field(min_length=1, max_length=2000, description="what is wrong")
    amount: Decimal | None = Field(
        None, gt=0, le=Decimal("1000000"), decimal_places=2, description="the amount disputed"
    )
    attachment: AttachmentIn | None = None


class CaseNoteIn(Input):
    note: str | None = Field(None, min_length=1, max_length=2000)
    attachment: AttachmentIn | None = None


class ResolveIn(Input):
    resolution: Resolution = Field(description="refund, credit_note, reprice or rejected")
    note: str | None = Field(
        None, max_length=2000, description="why (required for a rejection; the customer reads it)"
    )
    amount: Decimal | None = Field(
        None,
        gt=0,
        le=Decimal("1000000"),
        decimal_places=2,
        description="refund: gross amount back (default all); credit note: net amount "
        "(default the disputed line or document)",
    )
    tariff_id: uuid.UUID | None = Field(None, description="reprice: the corrected tariff")
    corrected_meter_start_wh: Decimal | None = Field(
        None, ge=0, le=Decimal("1e12"), decimal_places=3, description="reprice: start reading"
    )
    corrected_meter_stop_wh: Decimal | None = Field(
        None, ge=0, le=Decimal("1e12"), decimal_places=3, description="reprice: stop reading"
    )

    def request(self) -> ResolutionRequest:
        return ResolutionRequest(
            self.resolution,
            self.note,
            self.amount,
            tariff_id=self.tariff_id,
            meter_start_wh=self.corrected_meter_start_wh,
            meter_stop_wh=self.corrected_meter_stop_wh,
        )


class DisputeOut(BaseModel):
    id: uuid.UUID
    number: str
    origin: str
    reason: str
    description: str
    state: str = Field(description="open, under_review, resolved, won or lost")
    account_id: uuid.UUID | None
    session_id: uuid.UUID | None
    invoice_id: uuid.UUID | None
    line: int | None
    payment_id: uuid.UUID | None
    currency: str
    amount: Decimal | None
    opened_by: str
    opened_at: dt.datetime
    respond_by: dt.datetime = Field(description="the SLA deadline (a chargeback's: the PSP's)")
    resolution: str | None
    resolution_note: str | None
    resolved_at: dt.datetime | None
    outcome: str | None = Field(description="the credit note, refund or re-pricing it produced")
    chargeback: dict[str, Any] | None = Field(
        description="the PSP's dispute id, status, reason and fee"
    )

    @classmethod
    def of(cls, d: Dispute) -> DisputeOut:
        cb = d.chargeback
        return cls(
            id=d.id,
            number=d.number,
            origin=d.origin.value,
            reason=d.reason.value,
            description=d.description,
            state=d.state.value,
            account_id=d.account_id,
            session_id=d.subject.session_id,
            invoice_id=d.subject.invoice_id,
            line=d.subject.line,
            payment_id=d.subject.payment_id,
            currency=d.currency.code,
            amount=d.amount,
            opened_by=d.opened_by,
            opened_at=d.opened_at,
            respond_by=d.respond_by,
            resolution=None if d.resolution is None else d.resolution.value,
            resolution_note=d.resolution_note,
            resolved_at=d.resolved_at,
            outcome=d.outcome_ref,
            chargeback=None
            if cb is None
            else {
                "psp_dispute_id": cb.psp_dispute_id,
                "gateway": cb.gateway,
                "status": cb.status,
                "reason": cb.psp_reason,
                "fee": str(cb.fee),
                "evidence_due_by": None
                if cb.evidence_due_by is None
                else cb.evidence_due_by.isoformat(),
            },
        )


class DisputeEventOut(BaseModel):
    kind: str
    at: dt.datetime
    by: str
    note: str | None
    data: dict[str, Any]

    @classmethod
    def of(cls, e: DisputeEvent) -> DisputeEventOut:
        return cls(kind=e.kind.value, at=e.at, by=e.by, note=e.note, data=e.data)


class AttachmentOut(BaseModel):
    id: uuid.UUID
    name: str
    media_type: str
    sha256: str
    size: int
    added_by: str
    added_at: dt.datetime

    @classmethod
    def of(cls, a: StoredAttachment) -> AttachmentOut:
        return cls(
            id=a.id,
            name=a.name,
            media_type=a.media_type,
            sha256=a.sha256,
            size=a.size,
            added_by=a.added_by,
            added_at=a.added_at,
        )


class CaseOut(DisputeOut):
    events: list[DisputeEventOut]
    attachments: list[AttachmentOut]

    @classmethod
    def of_file(cls, found: CaseFile) -> CaseOut:
        return cls(
            **DisputeOut.of(found.dispute).model_dump(),
            events=[DisputeEventOut.of(e) for e in found.events],
            attachments=[AttachmentOut.of(a) for a in found.attachments],
        )
