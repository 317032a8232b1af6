"""The ports the services need from the outside world, as Protocols.

Adapters implement them (``adapters/db`` for storage, ``adapters/security`` for hashing); tests
of pure services may pass fakes. Nothing here knows SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

from chargeledger.domain.accounts import Account, AccountKind, Token, TokenStatus
from chargeledger.domain.catalog import Evse, Site, Station
from chargeledger.domain.identity import ApiKey, User

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; ``next_offset`` is None on the last page."""

    items: Sequence[T]
    next_offset: int | None


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC (DESIGN §2)."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class Repository(Protocol[T]):
    """Storage of one aggregate by id; ``add``/``update`` raise DuplicateError on unique keys."""

    async def add(self, entity: T) -> None: ...

    async def get(self, entity_id: uuid.UUID) -> T | None: ...

    async def update(self, entity: T) -> None: ...

    async def delete(self, entity_id: uuid.UUID) -> None: ...

    async def count(self) -> int: ...


class SiteRepository(Repository[Site], Protocol):
    async def list(self, *, limit: int, offset: int) -> Page[Site]: ...


class StationRepository(Repository[Station], Protocol):
    async def get_by_charge_point_id(self, charge_point_id: str) -> Station | None: ...

    async def list(
        self, *, site_id: uuid.UUID | None, limit: int, offset: int
    ) -> Page[Station]: ...

    async def exists_for_site(self, site_id: uuid.UUID) -> bool: ...


class EvseRepository(Repository[Evse], Protocol):
    async def get_by_station_evse(self, station_id: uuid.UUID, evse_id: int) -> Evse | None: ...

    async def list(
        self, *, station_id: uuid.UUID | None, limit: int, offset: int
    ) -> Page[Evse]: ...

    async def exists_for_station(self, station_id: uuid.UUID) -> bool: ...

    async def count_connectors(self) -> int: ...


class AccountRepository(Repository[Account], Protocol):
    async def list(
        self,
        *,
        kind: AccountKind | None,
        only_id: uuid.UUID | None,
        search: str | None,
        limit: int,
        offset: int,
    ) -> Page[Account]: ...


class TokenRepository(Repository[Token], Protocol):
    async def get_by_uid(self, uid: str) -> Token | None: ...

    async def list(
        self,
        *,
        account_id: uuid.UUID | None,
        status: TokenStatus | None,
        limit: int,
        offset: int,
    ) -> Page[Token]: ...

    async def exists_for_account(self, account_id: uuid.UUID) -> bool: ...


class UserRepository(Repository[User], Protocol):
    async def get_by_email(self, email: str) -> User | None: ...

    async def list(self, *, limit: int, offset: int) -> Page[User]: ...

    async def exists_for_account(self, account_id: uuid.UUID) -> bool: ...


class ApiKeyRepository(Repository[ApiKey], Protocol):
    async def get_by_prefix(self, prefix: str) -> ApiKey | None: ...

    async def list(self, *, limit: int, offset: int) -> Page[ApiKey]: ...


class UnitOfWork(Protocol):
    """One database transaction over all repositories; nothing is kept without ``commit``."""

    @property
    def sites(self) -> SiteRepository: ...

    @property
    def stations(self) -> StationRepository: ...

    @property
    def evses(self) -> EvseRepository: ...

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def tokens(self) -> TokenRepository: ...

    @property
    def users(self) -> UserRepository: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
