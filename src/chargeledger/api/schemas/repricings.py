"""Bodies and answers of ``/api/v1/sessions/{id}/reprice`` and ``/repricings`` (issue 15)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from chargeledger.api.schemas.common import Input, MeterWh
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.repricing import PricedAs
from chargeledger.services.payments.repricing_views import RefundView, RepricingView


class RepriceIn(Input):
    reason: str = Field(min_length=1, max_length=200, examples=["meter display showed 60 kWh"])
    tariff_id: uuid.UUID | None = Field(
        None, description="the tariff version to price with; omit to keep the session's"
    )
    corrected_meter_start_wh: MeterWh | None = Field(None, description="omit to keep it")
    corrected_meter_stop_wh: MeterWh | None = Field(None, description="omit to keep it")


def _plain(number: Decimal) -> Decimal:
    """A reading or a quantity as written: ``60000``, ``12.5`` (never ``6E+4``)."""
    return (
        number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()
    )


class PriceOut(BaseModel):
    tariff_id: uuid.UUID | None
    meter_start_wh: Decimal
    meter_stop_wh: Decimal
    energy_kwh: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal

    @classmethod
    def of(cls, priced: PricedAs) -> PriceOut:
        return cls(
            tariff_id=priced.tariff_id,
            meter_start_wh=_plain(priced.meter_start_wh),
            meter_stop_wh=_plain(priced.meter_stop_wh),
            energy_kwh=_plain(priced.energy_kwh),
            net=priced.net,
            vat=priced.tax,
            gross=priced.gross,
        )


class DocumentRefOut(BaseModel):
    id: uuid.UUID
    kind: str
    number: str | None
    gross_total: Decimal

    @classmethod
    def of(cls, document: Invoice | None) -> DocumentRefOut | None:
        if document is None:
            return None
        return cls(
            id=document.id,
            kind=document.kind.value,
            number=document.number,
            gross_total=document.gross_total,
        )


class RefundOut(BaseModel):
    payment_id: uuid.UUID
    status: str = Field(description="not_asked, asked, refunded or declined")
    refunded: Decimal

    @classmethod
    def of(cls, refund: RefundView | None) -> RefundOut | None:
        if refund is None:
            return None
        return cls(payment_id=refund.payment_id, status=refund.status, refunded=refund.refunded)


class RepricingOut(BaseModel):
    id: uuid.UUID
    session_id: uuid.UUID
    sequence: int = Field(description="the session's re-pricings are numbered from 1")
    outcome: str = Field(description="nothing, credit_note, refund, next_invoice or owed")
    currency: str
    before: PriceOut = Field(description="what the session stood at")
    after: PriceOut = Field(description="its new price")
    amount: Decimal = Field(
        description="what it moves for the customer, VAT included: negative is credited or "
        "given back, positive is to pay (on the next invoice) or owed"
    )
    owed: Decimal = Field(description="what is owed for the session after it, unbilled")
    reason: str
    created_by: str
    created_at: datetime
    credit_note: DocumentRefOut | None = Field(
        description="the credit note it issued, or its refund's"
    )
    invoice: DocumentRefOut | None = Field(description="the invoice that billed its correction")
    refund: RefundOut | None

    @classmethod
    def of(cls, view: RepricingView) -> RepricingOut:
        r = view.repricing
        cents = r.currency.quantum
        return cls(
            id=r.id,
            session_id=r.session_id,
            sequence=r.sequence,
            outcome=r.outcome.value,
            currency=r.currency.code,
            before=PriceOut.of(r.before),
            after=PriceOut.of(r.after),
            amount=r.amount.quantize(cents),
            owed=r.owed_after.quantize(cents),
            reason=r.reason,
            created_by=r.created_by,
            created_at=r.created_at,
            credit_note=DocumentRefOut.of(view.credit_note),
            invoice=DocumentRefOut.of(view.invoice),
            refund=RefundOut.of(view.refund),
        )
