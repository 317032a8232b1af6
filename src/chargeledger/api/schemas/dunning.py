"""Dunning runs, notices and disputes as the API shows them (issue 13)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from pydantic import BaseModel, Field

from chargeledger.api.schemas.common import Input
from chargeledger.domain.dunning import DunningEvent
from chargeledger.money import Money
from chargeledger.services.billing.dunning import DunningReport


def _amount(money: Money | None) -> Decimal | None:
    """In the currency's minor unit (storage keeps four places)."""
    return None if money is None else money.amount.quantize(money.currency.quantum)


class DunningRunIn(Input):
    date: dt.date | None = Field(
        None, description="the day to run for (default: the operator's today; never later)"
    )


class DisputeIn(Input):
    note: str | None = Field(None, max_length=500, description="what the customer disputes")


class WaiveIn(Input):
    note: str = Field(min_length=1, max_length=500, description="why the claim is waived")


class DunningEventOut(BaseModel):
    id: uuid.UUID
    kind: str = Field(
        description="notice, disputed, undisputed, or waived (a notice's claim given up: "
        "the level and the amounts it claimed)"
    )
    invoice_id: uuid.UUID
    date: dt.date
    at: dt.datetime
    level: int | None
    title: str | None
    final: bool
    tokens_blocked: bool = Field(description="this notice blocks the account's tokens")
    currency: str | None
    outstanding: Decimal | None
    fee: Decimal | None
    compensation: Decimal | None = Field(description="B2B: Directive 2011/7/EU art. 6")
    interest: Decimal | None
    interest_percent: Decimal | None
    by: str | None
    note: str | None

    @classmethod
    def of(cls, event: DunningEvent) -> DunningEventOut:
        amounts = (event.outstanding, event.fee, event.compensation, event.interest)
        currency = next((m.currency.code for m in amounts if m is not None), None)
        return cls(
            id=event.id,
            kind=event.kind.value,
            invoice_id=event.invoice_id,
            date=event.on,
            at=event.at,
            level=event.level,
            title=event.title,
            final=event.final,
            tokens_blocked=event.blocks_tokens,
            currency=currency,
            outstanding=_amount(event.outstanding),
            fee=_amount(event.fee),
            compensation=_amount(event.compensation),
            interest=_amount(event.interest),
            interest_percent=event.interest_percent,
            by=event.by,
            note=event.note,
        )


class DunningRunOut(BaseModel):
    date: dt.date
    overdue: int = Field(description="invoices overdue on the day")
    disputed: int = Field(description="overdue invoices skipped while disputed")
    notices: list[DunningEventOut]

    @classmethod
    def of(cls, report: DunningReport) -> DunningRunOut:
        return cls(
            date=report.on,
            overdue=report.overdue,
            disputed=report.disputed,
            notices=[DunningEventOut.of(n) for n in report.notices],
        )
