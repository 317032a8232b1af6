"""Bodies of the login, users and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from chargeledger.api.schemas.common import Input, Patch
from chargeledger.domain.identity import ApiKey, Principal, Role, Scope, User


class AccessTokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserIn(Input):
    email: str
    password: str
    role: Role
    account_id: uuid.UUID | None = None
    name: str | None = None


class UserPatch(Patch):
    """What an admin may change; ``password`` sets a new one (write-only)."""

    nullable = frozenset({"name", "account_id"})

    active: bool | None = None
    role: Role | None = None
    account_id: uuid.UUID | None = None
    name: str | None = None
    password: Annotated[str | None, Field(description="a new password, 12+ characters")] = None


class PasswordChangeIn(Input):
    current_password: str
    new_password: Annotated[str, Field(description="12+ characters")]


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    name: str | None
    role: Role
    account_id: uuid.UUID | None
    active: bool
    created_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            account_id=user.account_id,
            active=user.active,
            created_at=user.created_at,
        )


class MeOut(BaseModel):
    subject: str
    role: Role
    account_id: uuid.UUID | None
    scopes: list[Scope]

    @classmethod
    def of(cls, principal: Principal) -> MeOut:
        return cls(
            subject=principal.subject,
            role=principal.role,
            account_id=principal.account_id,
            scopes=sorted(principal.scopes),
        )


class ApiKeyIn(Input):
    name: str
    scopes: list[Scope]


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            scopes=sorted(key.scopes),
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreatedOut(ApiKeyOut):
    key: str
