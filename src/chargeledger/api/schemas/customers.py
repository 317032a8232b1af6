"""Bodies of customer accounts and tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from chargeledger.api.schemas.catalog import AddressBody
from chargeledger.api.schemas.common import Input, Patch, PaymentTermsDays
from chargeledger.domain.accounts import (
    Account,
    AccountKind,
    BillingCycle,
    BillingMode,
    Token,
    TokenStatus,
    TokenType,
)


class AccountIn(Input):
    kind: AccountKind
    name: str
    email: str
    billing_address: AddressBody
    currency: Annotated[str, Field(description="ISO 4217", examples=["EUR"])]
    vat_id: Annotated[str | None, Field(examples=["DE136695976"])] = None
    payment_terms_days: PaymentTermsDays = 14
    billing_mode: BillingMode = BillingMode.POSTPAID
    billing_cycle: BillingCycle = BillingCycle.MONTHLY
    reference: Annotated[str | None, Field(description="your customer number")] = None


class AccountPatch(Patch):
    nullable = frozenset({"vat_id", "reference"})

    kind: AccountKind | None = None
    name: str | None = None
    email: str | None = None
    billing_address: AddressBody | None = None
    vat_id: str | None = None
    payment_terms_days: PaymentTermsDays | None = None
    billing_mode: BillingMode | None = None
    billing_cycle: BillingCycle | None = None
    reference: str | None = None


class AccountOut(BaseModel):
    id: uuid.UUID
    kind: AccountKind
    name: str
    email: str
    reference: str | None
    billing_address: AddressBody
    vat_id: str | None
    currency: str
    payment_terms_days: int
    billing_mode: BillingMode
    billing_cycle: BillingCycle
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        return cls(
            id=account.id,
            kind=account.kind,
            name=account.name,
            email=account.email,
            reference=account.reference,
            billing_address=AddressBody.of(account.billing_address),
            vat_id=account.vat_id,
            currency=account.currency.code,
            payment_terms_days=account.payment_terms_days,
            billing_mode=account.billing_mode,
            billing_cycle=account.billing_cycle,
            created_at=account.created_at,
            updated_at=account.updated_at,
        )


class TokenIn(Input):
    uid: Annotated[str, Field(examples=["04A2B3C4D5E6F7"])]
    type: TokenType
    account_id: uuid.UUID
    status: TokenStatus = TokenStatus.ACTIVE
    expires_at: datetime | None = None
    label: str | None = None


class TokenPatch(Patch):
    nullable = frozenset({"expires_at", "label"})

    status: TokenStatus | None = None
    expires_at: datetime | None = None
    label: str | None = None
    account_id: uuid.UUID | None = None


class TokenOut(BaseModel):
    id: uuid.UUID
    uid: str
    type: TokenType
    status: TokenStatus
    effective_status: TokenStatus
    account_id: uuid.UUID
    expires_at: datetime | None
    label: str | None
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, token: Token, now: datetime) -> TokenOut:
        return cls(
            id=token.id,
            uid=token.uid,
            type=token.type,
            status=token.status,
            effective_status=token.status_at(now),
            account_id=token.account_id,
            expires_at=token.expires_at,
            label=token.label,
            created_at=token.created_at,
            updated_at=token.updated_at,
        )
