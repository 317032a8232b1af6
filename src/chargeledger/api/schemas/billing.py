"""Invoices, receipts, credit notes and ledger views as the API shows them (issue 5)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from chargeledger.api.schemas.common import Amount, Input, LinePosition, coded
from chargeledger.domain.invoicing import Invoice, InvoiceLine, Layout, Party
from chargeledger.domain.ledger import Balance
from chargeledger.services.billing.ledger import Statement


class PartyOut(BaseModel):
    name: str
    street: str
    postal_code: str
    city: str
    country: str
    vat_id: str | None
    email: str | None

    @classmethod
    def of(cls, party: Party) -> PartyOut:
        return cls(
            name=party.name,
            street=party.street,
            postal_code=party.postal_code,
            city=party.city,
            country=party.country,
            vat_id=party.vat_id,
            email=party.email,
        )


class InvoiceLineOut(BaseModel):
    position: int
    description: str
    net: Decimal
    vat_category: str
    vat_percent: Decimal
    session_id: uuid.UUID | None
    site: str
    station: str
    local_start: datetime | None
    energy_kwh: Decimal
    charging_hours: Decimal
    idle_hours: Decimal
    components: dict[str, Decimal]

    @classmethod
    def of(cls, line: InvoiceLine) -> InvoiceLineOut:
        return cls(
            position=line.position,
            description=line.description,
            net=line.net,
            vat_category=line.vat_category.value,
            vat_percent=line.vat_percent,
            session_id=line.session_id,
            site=line.site_name,
            station=line.station_name,
            local_start=line.local_start,
            energy_kwh=line.energy_kwh,
            charging_hours=line.charging_hours,
            idle_hours=line.idle_hours,
            components=dict(line.components),
        )


class VatSubtotalOut(BaseModel):
    category: str
    percent: Decimal
    taxable: Decimal
    tax: Decimal
    note: str | None


class InvoiceOut(BaseModel):
    id: uuid.UUID
    kind: str
    number: str | None
    status: str = Field(
        description="derived: draft, issued (a credit note), open, partially_paid, paid, "
        "overdue, credited or written_off"
    )
    account_id: uuid.UUID | None
    seller: PartyOut
    buyer: PartyOut
    currency: str
    period_start: date
    period_end: date
    issue_date: date | None
    due_date: date | None
    layout: str
    original_number: str | None
    reason: str | None
    lines: list[InvoiceLineOut]
    annex: list[InvoiceLineOut]
    vat: list[VatSubtotalOut]
    net_total: Decimal
    tax_total: Decimal
    gross_total: Decimal
    outstanding: Decimal = Field(
        description="what is still to pay: gross less credit notes, payments and write-offs"
    )
    payment_reference: str | None = Field(
        description="ISO 11649 creditor reference a transfer paying the invoice quotes"
    )

    @classmethod
    def of(cls, invoice: Invoice, status: str, outstanding: Decimal) -> InvoiceOut:
        return cls(
            id=invoice.id,
            kind=invoice.kind.value,
            number=invoice.number,
            status=status,
            outstanding=outstanding,
            payment_reference=invoice.payment_reference,
            account_id=invoice.account_id,
            seller=PartyOut.of(invoice.seller),
            buyer=PartyOut.of(invoice.buyer),
            currency=invoice.currency,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            layout=invoice.layout.value,
            original_number=invoice.original_number,
            reason=invoice.reason,
            lines=[InvoiceLineOut.of(line) for line in invoice.document_lines()],
            annex=[InvoiceLineOut.of(line) for line in invoice.lines]
            if invoice.layout is Layout.PER_SITE
            else [],
            vat=[
                VatSubtotalOut(
                    category=s.category.value,
                    percent=s.percent,
                    taxable=s.taxable,
                    tax=s.tax,
                    note=s.note,
                )
                for s in invoice.vat_subtotals
            ],
            net_total=invoice.net_total,
            tax_total=invoice.tax_total,
            gross_total=invoice.gross_total,
        )


class CreditNoteIn(Input):
    reason: Annotated[str, Field(min_length=1, examples=["meter fault on EVSE 2"])]
    positions: Annotated[
        list[LinePosition] | None,
        Field(description="lines to credit; all when neither is given", max_length=100_000),
    ] = None
    net_amount: Annotated[
        Annotated[Amount, coded("invalid_amount")] | None,
        Field(description="a net amount to credit instead of lines"),
    ] = None


class InvoiceRunIn(Input):
    period: Annotated[str, Field(examples=["2026-10"], description="the month")]
    layout: Layout = Layout.PER_SESSION
    draft: bool = False


class InvoiceRunOut(BaseModel):
    period_start: date
    period_end: date
    issued: list[str]
    drafts: list[uuid.UUID]
    receipts: list[str]
    already_invoiced: int


class BalanceOut(BaseModel):
    account: str
    currency: str
    debit: Decimal
    credit: Decimal
    balance: Decimal

    @classmethod
    def of(cls, b: Balance) -> BalanceOut:
        return cls(
            account=b.account,
            currency=b.currency,
            debit=b.debit,
            credit=b.credit,
            balance=b.balance,
        )


class TrialBalanceOut(BaseModel):
    accounts: list[BalanceOut]
    totals: dict[str, Decimal]


class StatementLineOut(BaseModel):
    booked_on: date
    description: str
    kind: str
    amount: Decimal
    balance: Decimal


class StatementOut(BaseModel):
    account: str
    currency: str
    opening: Decimal
    lines: list[StatementLineOut]
    closing: Decimal

    @classmethod
    def of(cls, statement: Statement) -> StatementOut:
        return cls(
            account=statement.account,
            currency=statement.currency,
            opening=statement.opening,
            lines=[
                StatementLineOut(
                    booked_on=line.entry.booked_on,
                    description=line.entry.description,
                    kind=line.entry.kind.value,
                    amount=line.posting.units.amount,
                    balance=line.running_balance,
                )
                for line in statement.lines
            ],
            closing=statement.closing,
        )


class LedgerCheckOut(BaseModel):
    ok: bool
    problems: list[str]
    entries: int
    postings: int
