"""The ports the services need from the outside world, as Protocols.

Adapters implement them (``adapters/db`` for storage, ``adapters/security`` for hashing); tests
of pure services may pass fakes. Nothing here knows SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

from chargeledger.domain.accounts import Account, AccountKind, Token, TokenStatus
from chargeledger.domain.catalog import Evse, Site, Station
from chargeledger.domain.charging import Measurand, MeterSample, Session, StateChange
from chargeledger.domain.identity import ApiKey, User
from chargeledger.domain.station_link import (
    CommandResult,
    ConnectorState,
    SessionFilter,
    SignedMeterValue,
    StationCommand,
    StationState,
    StoredReply,
    TransactionEvent,
)
from chargeledger.domain.tariffs.assignment import StoredTariff, TariffScope

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


class SessionRepository(Repository[Session], Protocol):
    async def get_by_ref(self, station_id: uuid.UUID, transaction_ref: str) -> Session | None: ...

    async def find_started(
        self,
        station_id: uuid.UUID,
        evse_id: int,
        started_at: datetime,
        id_tag: str | None,
        meter_start_wh: Decimal,
    ) -> Session | None: ...

    async def open_on_evse(self, station_id: uuid.UUID, evse_id: int) -> Session | None: ...

    async def next_transaction_number(self, station_id: uuid.UUID, at: datetime) -> int: ...

    async def search(
        self, criteria: SessionFilter, *, limit: int, offset: int
    ) -> Page[Session]: ...

    async def stale(self, idle_since: datetime, limit: int) -> list[Session]: ...

    async def add_samples(self, session_id: uuid.UUID, samples: Sequence[MeterSample]) -> int: ...

    async def samples(
        self, session_id: uuid.UUID, measurands: Sequence[Measurand] | None = None
    ) -> list[MeterSample]: ...

    async def add_state_change(self, session_id: uuid.UUID, change: StateChange) -> None: ...

    async def state_changes(self, session_id: uuid.UUID) -> list[StateChange]: ...

    async def add_transaction_event(
        self, session_id: uuid.UUID, event: TransactionEvent
    ) -> bool: ...

    async def transaction_events(self, session_id: uuid.UUID) -> list[TransactionEvent]: ...

    async def add_signed_value(self, session_id: uuid.UUID, value: SignedMeterValue) -> None: ...

    async def signed_values(self, session_id: uuid.UUID) -> list[SignedMeterValue]: ...


class StationLinkRepository(Protocol):
    async def save_state(self, state: StationState) -> None: ...

    async def state(self, station_id: uuid.UUID) -> StationState | None: ...

    async def save_connector(self, state: ConnectorState) -> None: ...

    async def connectors(self, station_id: uuid.UUID) -> list[ConnectorState]: ...

    async def stored_reply(self, charge_point_id: str, message_id: str) -> StoredReply | None: ...

    async def store_reply(
        self, charge_point_id: str, message_id: str, reply: StoredReply, at: datetime
    ) -> None: ...

    async def reject_frame(
        self, charge_point_id: str, frame: str, error_code: str, description: str, at: datetime
    ) -> None: ...

    async def mark_disconnected(self, station_id: uuid.UUID, at: datetime) -> None: ...


class CommandBus(Protocol):
    """Carries operator commands to whichever process holds the station's connection."""

    def register(
        self, charge_point_id: str, handler: Callable[[StationCommand], Awaitable[CommandResult]]
    ) -> None: ...

    def unregister(
        self, charge_point_id: str, handler: Callable[[StationCommand], Awaitable[CommandResult]]
    ) -> None: ...

    def is_connected(self, charge_point_id: str) -> bool: ...

    async def send(
        self, charge_point_id: str, command: StationCommand, wait_seconds: float = 30.0
    ) -> CommandResult: ...


class TariffRepository(Repository[StoredTariff], Protocol):
    async def list(self, *, limit: int, offset: int) -> Page[StoredTariff]: ...

    async def assign(
        self, scope: TariffScope, scope_id: str, tariff_id: uuid.UUID, at: datetime
    ) -> None: ...

    async def assigned(self, scope: TariffScope, scope_id: str) -> uuid.UUID | None: ...


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

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def station_links(self) -> StationLinkRepository: ...

    @property
    def tariffs(self) -> TariffRepository: ...

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
