"""PSP payouts and their reconciliation as the API shows them (issue 13)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from chargeledger.domain.payout_reconciliation import ItemCheck
from chargeledger.services.payments.payout_reconciliation import PayoutView


class BankLineOut(BaseModel):
    entry_ref: str
    amount: Decimal
    booking_date: date | None
    difference: Decimal = Field(description="the bank line less the payout's net")


class PayoutOut(BaseModel):
    payout_id: str
    gateway: str
    booked_on: date
    currency: str
    gross: Decimal
    fee: Decimal
    net: Decimal
    status: str = Field(description="reconciled | differences | bank_line_missing | no_items")
    items: int = Field(description="how many balance transactions the payout settled")
    items_net: Decimal | None = Field(description="the items' amounts less their fees")
    bank_line: BankLineOut | None
    differences: list[str]

    @classmethod
    def of(cls, view: PayoutView) -> PayoutOut:
        payout, found = view.payout, view.reconciliation
        line = found.bank_line
        bank_line = None
        if line is not None:
            difference = line.amount - payout.net
            bank_line = BankLineOut(
                entry_ref=line.entry_ref,
                amount=line.amount.amount,
                booking_date=line.booking_date,
                difference=difference.amount,
            )
        return cls(
            payout_id=payout.payout_id,
            gateway=view.gateway,
            booked_on=payout.booked_on,
            currency=payout.net.currency.code,
            gross=payout.gross.amount,
            fee=payout.fee.amount,
            net=payout.net.amount,
            status=found.status.value,
            items=len(found.items),
            items_net=None if found.items_net is None else found.items_net.amount,
            bank_line=bank_line,
            differences=list(found.differences),
        )


class PayoutItemOut(BaseModel):
    item_id: str
    kind: str = Field(description="capture | refund | fee | adjustment")
    provider_ref: str | None
    payment_id: uuid.UUID | None
    amount: Decimal = Field(description="signed: a refund or a chargeback is negative")
    fee: Decimal
    description: str | None
    status: str = Field(description="matched | amount_differs | unknown_to_us")
    ours: Decimal | None = Field(description="what we booked, signed like amount")

    @classmethod
    def of(cls, check: ItemCheck) -> PayoutItemOut:
        item = check.item
        return cls(
            item_id=item.item_id,
            kind=item.kind.value,
            provider_ref=item.provider_ref,
            payment_id=check.payment_id,
            amount=item.amount.amount,
            fee=item.fee.amount,
            description=item.description,
            status=check.status.value,
            ours=None if check.ours is None else check.ours.quantize(item.amount.currency.quantum),
        )


class PayoutDetailOut(PayoutOut):
    lines: list[PayoutItemOut] = Field(description="the items and how each matched")

    @classmethod
    def of(cls, view: PayoutView) -> PayoutDetailOut:
        summary = PayoutOut.of(view).model_dump()
        lines = [PayoutItemOut.of(check) for check in view.reconciliation.items]
        return cls(**summary, lines=lines)
