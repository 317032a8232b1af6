"""Repositories of users and API keys."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import RowMapping

from chargeledger.adapters.db.repositories.base import TableRepository
from chargeledger.adapters.db.tables import api_keys, users
from chargeledger.domain.identity import ApiKey, Role, Scope, User
from chargeledger.services.paging import Page


class SqlUserRepository(TableRepository[User]):
    table = users

    def to_row(self, entity: User) -> dict[str, Any]:
        return {
            "id": entity.id,
            "email": entity.email,
            "name": entity.name,
            "password_hash": entity.password_hash,
            "role": entity.role.value,
            "account_id": entity.account_id,
            "active": entity.active,
            "created_at": entity.created_at,
            "updated_at": entity.updated_at,
        }

    def from_row(self, row: RowMapping) -> User:
        return User(
            id=row["id"],
            email=row["email"],
            name=row["name"],
            password_hash=row["password_hash"],
            role=Role(row["role"]),
            account_id=row["account_id"],
            active=row["active"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    async def get_by_email(self, email: str) -> User | None:
        return await self._one(select(users).where(users.c.email == email))

    async def list(self, *, limit: int, offset: int) -> Page[User]:
        return await self._page(select(users).order_by(users.c.email), limit, offset)

    async def exists_for_account(self, account_id: uuid.UUID) -> bool:
        return await self._exists(account_id=account_id)

    async def lock_active_admins(self) -> frozenset[uuid.UUID]:
        """``FOR UPDATE`` in id order (one lock order, no deadlock between two callers). On
        PostgreSQL a waiting caller re-reads each row after the lock holder commits, so an
        admin deactivated meanwhile drops out; SQLite renders no ``FOR UPDATE`` and needs
        none (one writer at a time, BEGIN IMMEDIATE)."""
        query = (
            select(users.c.id)
            .where(users.c.role == Role.ADMIN.value, users.c.active.is_(True))
            .order_by(users.c.id)
            .with_for_update()
        )
        result = await self._connection.execute(query)
        return frozenset(row[0] for row in result.all())


class SqlApiKeyRepository(TableRepository[ApiKey]):
    table = api_keys

    def to_row(self, entity: ApiKey) -> dict[str, Any]:
        return {
            "id": entity.id,
            "name": entity.name,
            "prefix": entity.prefix,
            "secret_hash": entity.secret_hash,
            "scopes": sorted(scope.value for scope in entity.scopes),
            "created_at": entity.created_at,
            "revoked_at": entity.revoked_at,
        }

    def from_row(self, row: RowMapping) -> ApiKey:
        return ApiKey(
            id=row["id"],
            name=row["name"],
            prefix=row["prefix"],
            secret_hash=row["secret_hash"],
            scopes=frozenset(Scope(s) for s in row["scopes"]),
            created_at=row["created_at"],
            revoked_at=row["revoked_at"],
        )

    async def get_by_prefix(self, prefix: str) -> ApiKey | None:
        return await self._read_one(select(api_keys).where(api_keys.c.prefix == prefix))

    async def list(self, *, limit: int, offset: int) -> Page[ApiKey]:
        query = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
        return await self._page(query, limit, offset)
