"""Repositories of customer accounts and tokens."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import RowMapping

from chargeledger.adapters.db.repositories.base import TableRepository
from chargeledger.adapters.db.tables import accounts, tokens
from chargeledger.domain.accounts import (
    Account,
    AccountKind,
    BillingCycle,
    BillingMode,
    Token,
    TokenStatus,
    TokenType,
)
from chargeledger.domain.geo import Address
from chargeledger.money import Currency
from chargeledger.services.paging import Page


class SqlAccountRepository(TableRepository[Account]):
    table = accounts

    def to_row(self, entity: Account) -> dict[str, Any]:
        return {
            "id": entity.id,
            "kind": entity.kind.value,
            "name": entity.name,
            "email": entity.email,
            "reference": entity.reference,
            "street": entity.billing_address.street,
            "postal_code": entity.billing_address.postal_code,
            "city": entity.billing_address.city,
            "country": entity.billing_address.country,
            "vat_id": entity.vat_id,
            "currency": entity.currency.code,
            "payment_terms_days": entity.payment_terms_days,
            "billing_mode": entity.billing_mode.value,
            "billing_cycle": entity.billing_cycle.value,
            "created_at": entity.created_at,
            "updated_at": entity.updated_at,
        }

    def from_row(self, row: RowMapping) -> Account:
        return Account(
            id=row["id"],
            kind=AccountKind(row["kind"]),
            name=row["name"],
            email=row["email"],
            reference=row["reference"],
            billing_address=Address(row["street"], row["postal_code"], row["city"], row["country"]),
            vat_id=row["vat_id"],
            currency=Currency.of(row["currency"]),
            payment_terms_days=row["payment_terms_days"],
            billing_mode=BillingMode(row["billing_mode"]),
            billing_cycle=BillingCycle(row["billing_cycle"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    async def list(
        self,
        *,
        kind: AccountKind | None,
        only_id: uuid.UUID | None,
        search: str | None,
        limit: int,
        offset: int,
    ) -> Page[Account]:
        query = select(accounts).order_by(accounts.c.name, accounts.c.id)
        if kind is not None:
            query = query.where(accounts.c.kind == kind.value)
        if only_id is not None:
            query = query.where(accounts.c.id == only_id)
        if search:
            needle = search.lower()
            query = query.where(
                or_(
                    *(
                        func.lower(column).contains(needle, autoescape=True)
                        for column in (accounts.c.name, accounts.c.email, accounts.c.reference)
                    )
                )
            )
        return await self._page(query, limit, offset)


class SqlTokenRepository(TableRepository[Token]):
    table = tokens

    def to_row(self, entity: Token) -> dict[str, Any]:
        return {
            "id": entity.id,
            "uid": entity.uid,
            "type": entity.type.value,
            "status": entity.status.value,
            "account_id": entity.account_id,
            "expires_at": entity.expires_at,
            "label": entity.label,
            "created_at": entity.created_at,
            "updated_at": entity.updated_at,
            "contract_id": entity.contract_id,
            "issuer_check": None if entity.issuer_check is None else entity.issuer_check.value,
        }

    def from_row(self, row: RowMapping) -> Token:
        return Token(
            id=row["id"],
            uid=row["uid"],
            type=TokenType(row["type"]),
            status=TokenStatus(row["status"]),
            account_id=row["account_id"],
            expires_at=row["expires_at"],
            label=row["label"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            contract_id=row["contract_id"],
            issuer_check=row["issuer_check"],
        )

    async def get_by_uid(self, uid: str) -> Token | None:
        return await self._one(select(tokens).where(tokens.c.uid == uid.upper()))

    async def asking_issuer(self) -> list[str]:
        result = await self._connection.execute(
            select(tokens.c.uid).where(tokens.c.issuer_check.is_not(None))
        )
        return list(result.scalars())

    async def list(
        self,
        *,
        account_id: uuid.UUID | None,
        status: TokenStatus | None,
        limit: int,
        offset: int,
    ) -> Page[Token]:
        query = select(tokens).order_by(tokens.c.uid)
        if account_id is not None:
            query = query.where(tokens.c.account_id == account_id)
        if status is not None:
            query = query.where(tokens.c.status == status.value)
        return await self._page(query, limit, offset)

    async def exists_for_account(self, account_id: uuid.UUID) -> bool:
        return await self._exists(account_id=account_id)
