"""Use cases of users and API keys: create, authenticate, change, revoke."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

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
    ConflictError,
    DuplicateError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from chargeledger.services.common import apply_changes, page_bounds
from chargeledger.services.paging import Page
from chargeledger.services.ports import (
    Clock,
    PasswordHasher,
    UnitOfWork,
    UnitOfWorkFactory,
)
from chargeledger.services.throttling import CredentialGuard

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
    """Add a user. The input is checked before the (slow) hash, and the hash is made before
    the transaction opens, so no database lock is held while argon2 works."""
    now = clock.now()
    user = User(
        email=email,
        password_hash="",
        role=role,
        account_id=account_id,
        name=name,
        created_at=now,
        updated_at=now,
    )
    user = dataclasses.replace(user, password_hash=await hasher.hash(user_password(password)))
    if await uow.users.get_by_email(user.email) is not None:
        raise DuplicateError(
            f"a user with e-mail {user.email} exists", code="duplicate_email", field="email"
        )
    if account_id is not None and await uow.accounts.get(account_id) is None:
        raise InvalidInputError(
            f"account {account_id} does not exist", code="unknown_account", field="account_id"
        )
    await uow.users.add(user)
    return user


async def authenticate_user(
    uows: UnitOfWorkFactory,
    hasher: PasswordHasher,
    guard: CredentialGuard,
    email: str,
    password: str,
    client_host: str | None,
) -> User:
    """OAuth2 password grant, throttled per e-mail and per client address.

    Unknown, inactive and wrong all get the same answer after the same work: an unusable
    account is verified against the hasher's dummy hash (no user enumeration by timing,
    CWE-204). The user is read in a transaction of its own that ends before argon2 runs.
    """
    subject = email.strip().lower()
    attempt = guard.attempt(subject, client_host)
    async with uows() as uow:
        user = await uow.users.get_by_email(subject)
    usable = user if user is not None and user.active else None
    with attempt.verifying():
        verified = await hasher.verify(usable.password_hash if usable else None, password)
    if usable is None or not verified:
        attempt.failed()
        raise AuthenticationError("wrong e-mail or password", code="invalid_credentials")
    attempt.succeeded()
    return usable


async def change_own_password(
    uows: UnitOfWorkFactory,
    clock: Clock,
    hasher: PasswordHasher,
    guard: CredentialGuard,
    user_id: uuid.UUID,
    *,
    current_password: str,
    new_password: str,
    client_host: str | None,
) -> User:
    """A user replaces their password, proving the current one (throttled like a login)."""
    user_password(new_password)
    async with uows() as uow:
        user = await uow.users.get(user_id)
    if user is None or not user.active:
        raise AuthenticationError("the token's user is not active", code="invalid_token")
    try:
        await authenticate_user(uows, hasher, guard, user.email, current_password, client_host)
    except AuthenticationError as exc:
        raise InvalidInputError(
            "the current password is wrong", code="wrong_password", field="current_password"
        ) from exc
    new_hash = await hasher.hash(new_password)
    async with uows() as uow:
        # Read again: only the password changes, whatever an admin changed meanwhile.
        current = await uow.users.get(user_id)
        if current is None or not current.active:
            raise AuthenticationError("the token's user is not active", code="invalid_token")
        changed = dataclasses.replace(current, password_hash=new_hash, updated_at=clock.now())
        await uow.users.update(changed)
        await uow.commit()
    return changed


async def list_users(uow: UnitOfWork, *, limit: int = 100, offset: int = 0) -> Page[User]:
    limit, offset = page_bounds(limit, offset)
    return await uow.users.list(limit=limit, offset=offset)


async def find_user(uow: UnitOfWork, email_or_id: str) -> User:
    """A user by id or e-mail (the CLI names users by e-mail)."""
    try:
        user = await uow.users.get(uuid.UUID(email_or_id))
    except ValueError:
        user = await uow.users.get_by_email(email_or_id.strip().lower())
    if user is None:
        raise NotFoundError(f"user {email_or_id} not found", code="user_not_found")
    return user


USER_CHANGES = frozenset({"active", "role", "account_id", "name"})


async def update_user(
    uow: UnitOfWork,
    clock: Clock,
    hasher: PasswordHasher,
    user_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    password: str | None = None,
) -> User:
    """Activate, deactivate, change the role of, rename or set a new password for a user.

    At least one active admin always remains (else nobody could manage users again): the
    active admins are locked before the user is read, so two admins removing each other at
    once queue, and the second sees the first's change and is refused (409
    ``last_active_admin``). A new password is hashed before the transaction opens.
    """
    new_hash = await hasher.hash(user_password(password)) if password is not None else None
    needs_lock = bool({"active", "role"} & set(changes))
    admins = await uow.users.lock_active_admins() if needs_lock else frozenset()
    user = await uow.users.get(user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} not found", code="user_not_found")
    if new_hash is not None:
        changes = {**changes, "password_hash": new_hash}
    changed = apply_changes(user, changes, USER_CHANGES | {"password_hash"})
    if _is_active_admin(user) and not _is_active_admin(changed) and admins <= {user.id}:
        raise ConflictError(
            "this is the last active admin: make another user admin first",
            code="last_active_admin",
        )
    changed = dataclasses.replace(changed, updated_at=clock.now())
    await uow.users.update(changed)
    return changed


async def principal_of_user(uow: UnitOfWork, user_id: uuid.UUID) -> Principal:
    """The principal of an access token's user, read on every request so a deactivated user
    or a changed role takes effect at once, not when the token expires."""
    user = await uow.users.get(user_id)
    if user is None or not user.active:
        raise AuthenticationError("the token's user is not active", code="invalid_token")
    return principal_for_user(user)


def _is_active_admin(user: User) -> bool:
    return user.active and user.role is Role.ADMIN


USER_SUBJECT = "user:"


def principal_for_user(user: User) -> Principal:
    return Principal(subject=f"{USER_SUBJECT}{user.id}", role=user.role, account_id=user.account_id)


def user_id_of(principal: Principal) -> uuid.UUID:
    """The user a principal is; API keys are no user (they have no password to change)."""
    if not principal.subject.startswith(USER_SUBJECT):
        raise PermissionDeniedError("only a user has a password", code="permission_denied")
    return uuid.UUID(principal.subject.removeprefix(USER_SUBJECT))


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
    return Principal(subject=api_key_subject(key.id), role=Role.INTEGRATION, scopes=key.scopes)


def api_key_subject(key_id: uuid.UUID) -> str:
    """The principal's subject of an API key (what the access log and audit records name)."""
    return f"api_key:{key_id}"


async def revoke_api_key(uow: UnitOfWork, clock: Clock, key_id: uuid.UUID) -> ApiKey:
    key = await uow.api_keys.get(key_id)
    if key is None:
        raise NotFoundError(f"API key {key_id} not found", code="api_key_not_found")
    if key.revoked_at is None:
        key = dataclasses.replace(key, revoked_at=clock.now())
        await uow.api_keys.update(key)
    return key


async def list_api_keys(uow: UnitOfWork, *, limit: int = 100, offset: int = 0) -> Page[ApiKey]:
    limit, offset = page_bounds(limit, offset)
    return await uow.api_keys.list(limit=limit, offset=offset)
