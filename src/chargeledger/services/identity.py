"""Use cases of users and API keys: create, authenticate, revoke."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable

from chargeledger.domain.identity import (
    ApiKey,
    Principal,
    Role,
    Scope,
    User,
    user_password,
)
from chargeledger.errors import (
    AuthenticationError,
    DuplicateError,
    InvalidInputError,
    NotFoundError,
)
from chargeledger.services.common import page_bounds
from chargeledger.services.ports import Clock, Page, PasswordHasher, UnitOfWork

API_KEY_PREFIX = "clk"


async def create_user(
    uow: UnitOfWork,
    clock: Clock,
    hasher: PasswordHasher,
    *,
    email: str,
    password: str,
    role: Role,
    account_id: uuid.UUID | None = None,
    name: str | None = None,
) -> User:
    now = clock.now()
    user = User(
        email=email,
        password_hash=hasher.hash(user_password(password)),
        role=role,
        account_id=account_id,
        name=name,
        created_at=now,
        updated_at=now,
    )
    if await uow.users.get_by_email(user.email) is not None:
        raise DuplicateError(
            f"a user with e-mail {user.email} exists", code="duplicate_email", field="email"
        )
    if account_id is not None and await uow.accounts.get(account_id) is None:
        raise InvalidInputError(
            f"account {account_id} does not exist", code="unknown_account", field="account_id"
        )
    await uow.users.add(user)
    await uow.commit()
    return user


async def authenticate_user(
    uow: UnitOfWork, hasher: PasswordHasher, email: str, password: str
) -> User:
    """OAuth2 password grant: the same answer for unknown e-mail and wrong password."""
    user = await uow.users.get_by_email(email.strip().lower())
    if user is None or not user.active or not hasher.verify(user.password_hash, password):
        raise AuthenticationError("wrong e-mail or password", code="invalid_credentials")
    return user


async def list_users(uow: UnitOfWork, *, limit: int = 100, offset: int = 0) -> Page[User]:
    limit, offset = page_bounds(limit, offset)
    return await uow.users.list(limit=limit, offset=offset)


async def set_user_active(uow: UnitOfWork, clock: Clock, user_id: uuid.UUID, active: bool) -> User:
    user = await uow.users.get(user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} not found", code="user_not_found")
    user = dataclasses.replace(user, active=active, updated_at=clock.now())
    await uow.users.update(user)
    await uow.commit()
    return user


def principal_for_user(user: User) -> Principal:
    return Principal(subject=f"user:{user.id}", role=user.role, account_id=user.account_id)


# --- API keys ----------------------------------------------------------------------------


def _secret_hash(secret: str) -> str:
    """API secrets are 256-bit random, so a plain SHA-256 is enough (no brute force)."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(
    uow: UnitOfWork, clock: Clock, *, name: str, scopes: Iterable[Scope]
) -> tuple[ApiKey, str]:
    """Create a key; returns it with the full secret, which is shown once and never stored."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        prefix=prefix,
        secret_hash=_secret_hash(secret),
        scopes=frozenset(scopes),
        created_at=clock.now(),
    )
    await uow.api_keys.add(key)
    await uow.commit()
    return key, f"{API_KEY_PREFIX}_{prefix}_{secret}"


async def authenticate_api_key(uow: UnitOfWork, presented: str) -> Principal:
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        raise AuthenticationError("malformed API key", code="invalid_api_key")
    key = await uow.api_keys.get_by_prefix(parts[1])
    if (
        key is None
        or not key.active
        or not hmac.compare_digest(key.secret_hash, _secret_hash(parts[2]))
    ):
        raise AuthenticationError("unknown or revoked API key", code="invalid_api_key")
    return Principal(subject=f"api_key:{key.id}", role=Role.INTEGRATION, scopes=key.scopes)


async def revoke_api_key(uow: UnitOfWork, clock: Clock, key_id: uuid.UUID) -> ApiKey:
    key = await uow.api_keys.get(key_id)
    if key is None:
        raise NotFoundError(f"API key {key_id} not found", code="api_key_not_found")
    if key.revoked_at is None:
        key = dataclasses.replace(key, revoked_at=clock.now())
        await uow.api_keys.update(key)
        await uow.commit()
    return key


async def list_api_keys(uow: UnitOfWork, *, limit: int = 100, offset: int = 0) -> Page[ApiKey]:
    limit, offset = page_bounds(limit, offset)
    return await uow.api_keys.list(limit=limit, offset=offset)
