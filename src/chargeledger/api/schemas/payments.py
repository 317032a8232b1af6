"""Shapes of payments, stored cards, wallets and refunds. No field can carry a card number:
cards come in as PSP tokens and go out as brand, last four and expiry."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from chargeledger.api.schemas.common import UPPER_BOUNDS, Amount, Input, coded
from chargeledger.domain.ledger import JournalEntry, Posting
from chargeledger.domain.payments import Payment, PaymentEvent, PaymentState, StoredCard
from chargeledger.domain.wallets import MAX_TOP_UP, WALLET_LIMIT
from chargeledger.services.payments.wallets import WalletView


class PaymentEventOut(BaseModel):
    kind: str
    amount: Decimal
    at: datetime
    operation: str | None
    detail: str | None

    @classmethod
    def of(cls, event: PaymentEvent) -> PaymentEventOut:
        return cls(
            kind=event.kind.value,
            amount=event.amount,
            at=event.at,
            operation=event.operation,
            detail=event.detail,
        )


class PaymentOut(BaseModel):
    id: uuid.UUID
    purpose: str
    method: str
    gateway: str
    currency: str
    status: str
    account_id: uuid.UUID | None
    session_id: uuid.UUID | None
    invoice_id: uuid.UUID | None
    authorised: Decimal
    captured: Decimal
    refunded: Decimal
    provider_ref: str | None
    decline_code: str | None
    created_at: datetime | None
    events: list[PaymentEventOut] | None = None

    @classmethod
    def of(
        cls, payment: Payment, state: PaymentState, events: list[PaymentEvent] | None = None
    ) -> PaymentOut:
        return cls(
            id=payment.id,
            purpose=payment.purpose.value,
            method=payment.method.value,
            gateway=payment.gateway,
            currency=payment.currency,
            status=state.status.value,
            account_id=payment.account_id,
            session_id=payment.session_id,
            invoice_id=payment.invoice_id,
            authorised=state.authorised,
            captured=state.captured,
            refunded=state.refunded,
            provider_ref=state.provider_ref,
            decline_code=state.decline_code,
            created_at=payment.created_at,
            events=None if events is None else [PaymentEventOut.of(e) for e in events],
        )


# The codes the services give these mistakes; the lower bounds were in the schema before.
RefundAmount = Annotated[Amount, coded("invalid_refund_amount")]
TopUpAmount = Annotated[Amount, coded("invalid_top_up", UPPER_BOUNDS)]
# The domain's wallet bounds (``domain.wallets``), refused under its code.
WalletLimit = Annotated[
    Decimal,
    Field(ge=0, le=WALLET_LIMIT, decimal_places=4),
    coded("invalid_wallet_settings", UPPER_BOUNDS),
]
WalletTopUp = Annotated[
    Decimal,
    Field(gt=0, le=MAX_TOP_UP, decimal_places=4),
    coded("invalid_wallet_settings", UPPER_BOUNDS),
]


class RefundIn(Input):
    amount: RefundAmount | None = Field(None, description="Omit to refund all that is left")
    reason: str = Field(min_length=1, max_length=255)


class CardIn(Input):
    token: str = Field(min_length=1, max_length=255, description="The PSP's token of the card")
    gateway: str | None = None
    make_default: bool = True


class CardOut(BaseModel):
    id: uuid.UUID
    gateway: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool

    @classmethod
    def of(cls, card: StoredCard) -> CardOut:
        return cls(
            id=card.id,
            gateway=card.gateway,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            is_default=card.is_default,
        )


class WalletOut(BaseModel):
    account_id: uuid.UUID
    currency: str
    balance: Decimal
    minimum_balance: Decimal | None = Field(
        description="The driver's own minimum (null: none), never below the floor"
    )
    floor: Decimal = Field(description="The operator's floor that applies to this wallet")
    account_floor: Decimal | None = Field(
        description="The floor finance set for this account (null: the operator-wide default)"
    )
    effective_minimum: Decimal = Field(
        description="The higher of floor and minimum_balance: Authorize is refused and a "
        "running session is stopped below it"
    )
    auto_top_up: bool
    top_up_below: Decimal
    top_up_amount: Decimal


class WalletSettingsIn(Input):
    """The driver's own rules. ``minimum_balance`` may only raise the operator's floor
    (422 ``minimum_below_floor``); null leaves the floor alone to apply."""

    minimum_balance: WalletLimit | None
    auto_top_up: bool = False
    top_up_below: WalletLimit = Decimal("10.00")
    top_up_amount: WalletTopUp = Decimal("25.00")


class WalletFloorIn(Input):
    """The operator's floor of one wallet (finance); null: the operator-wide default."""

    floor: WalletLimit | None


class TopUpIn(Input):
    amount: TopUpAmount
    payment_method_id: uuid.UUID | None = None


class PayInvoiceIn(Input):
    payment_method_id: uuid.UUID | None = None


class WalletLineOut(BaseModel):
    booked_on: date
    kind: str
    description: str
    amount: Decimal  # + money in, - money out (the driver's view)

    @classmethod
    def of(cls, entry: JournalEntry, posting: Posting) -> WalletLineOut:
        return cls(
            booked_on=entry.booked_on,
            kind=entry.kind.value,
            description=entry.description,
            amount=-posting.units.amount,
        )


def wallet_out(view: WalletView) -> WalletOut:
    settings = view.settings
    return WalletOut(
        account_id=view.account_id,
        currency=view.currency,
        balance=view.balance,
        minimum_balance=settings.minimum_balance,
        floor=view.floor,
        account_floor=settings.floor,
        effective_minimum=view.minimum,
        auto_top_up=settings.auto_top_up,
        top_up_below=settings.top_up_below,
        top_up_amount=settings.top_up_amount,
    )
