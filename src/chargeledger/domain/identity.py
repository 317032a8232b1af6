"""Who may do what: roles, users, API keys and the principal a request acts as (DESIGN §6)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from chargeledger.domain.accounts import email_address
from chargeledger.domain.ids import new_id
from chargeledger.domain.text import optional_text, required_text
from chargeledger.errors import InvalidInputError


class Role(StrEnum):
    ADMIN = "admin"
    FINANCE = "finance"
    OPERATOR = "operator"
    FLEET_MANAGER = "fleet_manager"
    DRIVER = "driver"
    INTEGRATION = "integration"


# Roles whose data is limited to one customer account (DESIGN §6: deny by default; a driver
# never sees another account's data, a fleet manager only their own business's).
ACCOUNT_BOUND_ROLES = frozenset({Role.DRIVER, Role.FLEET_MANAGER})
# Roles a person logs in as; ``integration`` is for API keys only.
USER_ROLES = frozenset(Role) - {Role.INTEGRATION}


class Scope(StrEnum):
    """What an API key may do; routes name the scope they need next to their roles."""

    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    SESSIONS_READ = "sessions:read"
    STATIONS_COMMAND = "stations:command"
    BILLING_READ = "billing:read"
    BILLING_WRITE = "billing:write"


MIN_PASSWORD_LENGTH = 12


def user_password(value: str) -> str:
    if not isinstance(value, str) or len(value) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters",
            code="weak_password",
            field="password",
        )
    return value


@dataclass(frozen=True, slots=True)
class User:
    """A person who logs in. Drivers and fleet managers are bound to one customer account."""

    email: str
    password_hash: str
    role: Role
    account_id: uuid.UUID | None = None
    active: bool = True
    name: str | None = None
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", email_address(self.email))
        object.__setattr__(self, "name", optional_text(self.name, "name", 100))
        role = Role(self.role)
        if role not in USER_ROLES:
            raise InvalidInputError(
                "the integration role is for API keys, not users",
                code="invalid_role",
                field="role",
            )
        object.__setattr__(self, "role", role)
        if role in ACCOUNT_BOUND_ROLES and self.account_id is None:
            raise InvalidInputError(
                f"a {role.value} user must belong to a customer account",
                code="missing_account",
                field="account_id",
            )
        if role not in ACCOUNT_BOUND_ROLES and self.account_id is not None:
            raise InvalidInputError(
                f"a {role.value} user is not bound to a customer account",
                code="unexpected_account",
                field="account_id",
            )


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A machine credential with the ``integration`` role, limited to its scopes.

    Only a hash of the secret is stored; the full key is shown once at creation.
    """

    name: str
    prefix: str
    secret_hash: str
    scopes: frozenset[Scope]
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", required_text(self.name, "name", 100))
        scopes = frozenset(Scope(s) for s in self.scopes)
        if not scopes:
            raise InvalidInputError(
                "an API key needs at least one scope", code="missing_scopes", field="scopes"
            )
        object.__setattr__(self, "scopes", scopes)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class Principal:
    """Whoever a request acts for: a user or an API key, with what it may see."""

    subject: str
    role: Role
    account_id: uuid.UUID | None = None
    scopes: frozenset[Scope] = frozenset()

    @property
    def is_account_bound(self) -> bool:
        return self.role in ACCOUNT_BOUND_ROLES

    def may_see_account(self, account_id: uuid.UUID) -> bool:
        """Deny by default: account-bound principals see only their own account."""
        if self.is_account_bound:
            return self.account_id == account_id
        return True
