"""The SQL unit of work: one connection, one transaction, every repository on it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chargeledger.adapters.db.repositories.catalog import (
    SqlEvseRepository,
    SqlSiteRepository,
    SqlStationRepository,
)
from chargeledger.adapters.db.repositories.charging import (
    SqlSessionRepository,
    SqlStationLinkRepository,
)
from chargeledger.adapters.db.repositories.customers import (
    SqlAccountRepository,
    SqlTokenRepository,
)
from chargeledger.adapters.db.repositories.identity import SqlApiKeyRepository, SqlUserRepository


class SqlUnitOfWork:
    """Open with ``async with``; nothing is kept unless ``commit()`` is awaited inside it."""

    sites: SqlSiteRepository
    stations: SqlStationRepository
    evses: SqlEvseRepository
    accounts: SqlAccountRepository
    tokens: SqlTokenRepository
    users: SqlUserRepository
    api_keys: SqlApiKeyRepository
    sessions: SqlSessionRepository
    station_links: SqlStationLinkRepository

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        connection = await self._engine.connect()
        self._connection = connection
        self.sites = SqlSiteRepository(connection)
        self.stations = SqlStationRepository(connection)
        self.evses = SqlEvseRepository(connection)
        self.accounts = SqlAccountRepository(connection)
        self.tokens = SqlTokenRepository(connection)
        self.users = SqlUserRepository(connection)
        self.api_keys = SqlApiKeyRepository(connection)
        self.sessions = SqlSessionRepository(connection)
        self.station_links = SqlStationLinkRepository(connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if connection.in_transaction():
                await connection.rollback()
        finally:
            await connection.close()

    async def commit(self) -> None:
        if self._connection is not None and self._connection.in_transaction():
            await self._connection.commit()

    async def rollback(self) -> None:
        if self._connection is not None and self._connection.in_transaction():
            await self._connection.rollback()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)
