"""The SQL unit of work: every repository on one lazily opened connection and transaction.

A unit of work is a write transaction unless its caller asks for ``read_only=True`` (issue 17):
then on SQLite it reads through connections of its own that cannot write and read each
statement's committed state (``engine.create_read_engine``), takes no turn on the process's
write lock (``transaction.py``) and so neither waits for a writer nor makes one wait; on
PostgreSQL it is ``BEGIN READ ONLY``. It cannot commit: reads that lead to a write belong in
a write unit of work, which still begins IMMEDIATE (a reader that upgrades to a writer is what
SQLite answers with "database is locked"). A read-only unit of work's one-statement reads
(the sessions list, API keys) go through ``statement_reads.py`` while it has no connection
open: one trip to the driver, no transaction around a single statement.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncEngine

from chargeledger.adapters.db.engine import create_read_engine
from chargeledger.adapters.db.repositories.audit import SqlAuditRepository
from chargeledger.adapters.db.repositories.bank import SqlBankRepository
from chargeledger.adapters.db.repositories.billing import SqlBillingRepository
from chargeledger.adapters.db.repositories.catalog import (
    SqlEvseRepository,
    SqlSiteRepository,
    SqlStationRepository,
)
from chargeledger.adapters.db.repositories.charging import SqlSessionRepository
from chargeledger.adapters.db.repositories.contracts import SqlContractRepository
from chargeledger.adapters.db.repositories.customers import (
    SqlAccountRepository,
    SqlTokenRepository,
)
from chargeledger.adapters.db.repositories.disputes import SqlDisputeRepository
from chargeledger.adapters.db.repositories.dunning import SqlDunningRepository
from chargeledger.adapters.db.repositories.identity import SqlApiKeyRepository, SqlUserRepository
from chargeledger.adapters.db.repositories.ledger import SqlLedgerRepository
from chargeledger.adapters.db.repositories.locations import SqlLocationRepository
from chargeledger.adapters.db.repositories.meter_keys import SqlMeterKeyRepository
from chargeledger.adapters.db.repositories.outbox import SqlOutboxRepository
from chargeledger.adapters.db.repositories.overview import SqlOverviewRepository
from chargeledger.adapters.db.repositories.payments import SqlPaymentRepository
from chargeledger.adapters.db.repositories.payouts import SqlPayoutRepository
from chargeledger.adapters.db.repositories.reports import SqlReportRepository
from chargeledger.adapters.db.repositories.repricings import SqlRepricingRepository
from chargeledger.adapters.db.repositories.reservations import SqlReservationRepository
from chargeledger.adapters.db.repositories.roaming import SqlRoamingPartnerRepository
from chargeledger.adapters.db.repositories.station_links import SqlStationLinkRepository
from chargeledger.adapters.db.repositories.tariffs import SqlTariffRepository
from chargeledger.adapters.db.statement_reads import StatementReads
from chargeledger.adapters.db.transaction import LazyConnection


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
    locations: SqlLocationRepository
    tariffs: SqlTariffRepository
    billing: SqlBillingRepository
    bank: SqlBankRepository
    ledger: SqlLedgerRepository
    payments: SqlPaymentRepository
    payouts: SqlPayoutRepository
    reports: SqlReportRepository
    overview: SqlOverviewRepository
    outbox: SqlOutboxRepository
    dunning: SqlDunningRepository
    contracts: SqlContractRepository
    disputes: SqlDisputeRepository
    meter_keys: SqlMeterKeyRepository
    reservations: SqlReservationRepository
    repricings: SqlRepricingRepository
    audit: SqlAuditRepository
    roaming: SqlRoamingPartnerRepository

    def __init__(
        self,
        engine: AsyncEngine,
        write_lock: asyncio.Lock | None = None,
        *,
        read_only: bool = False,
        reads: StatementReads | None = None,
    ) -> None:
        self.read_only = read_only
        self._connection = LazyConnection(engine, write_lock, reads)
        connection: Any = self._connection  # repositories see an AsyncConnection's surface
        self.sites = SqlSiteRepository(connection)
        self.stations = SqlStationRepository(connection)
        self.evses = SqlEvseRepository(connection)
        self.accounts = SqlAccountRepository(connection)
        self.tokens = SqlTokenRepository(connection)
        self.users = SqlUserRepository(connection)
        self.api_keys = SqlApiKeyRepository(connection)
        self.sessions = SqlSessionRepository(connection)
        self.station_links = SqlStationLinkRepository(connection)
        self.locations = SqlLocationRepository(connection)
        self.tariffs = SqlTariffRepository(connection)
        self.billing = SqlBillingRepository(connection)
        self.bank = SqlBankRepository(connection)
        self.ledger = SqlLedgerRepository(connection)
        self.payments = SqlPaymentRepository(connection)
        self.payouts = SqlPayoutRepository(connection)
        self.reports = SqlReportRepository(connection)
        self.overview = SqlOverviewRepository(connection)
        self.outbox = SqlOutboxRepository(connection)
        self.dunning = SqlDunningRepository(connection)
        self.contracts = SqlContractRepository(connection)
        self.disputes = SqlDisputeRepository(connection)
        self.meter_keys = SqlMeterKeyRepository(connection)
        self.reservations = SqlReservationRepository(connection)
        self.repricings = SqlRepricingRepository(connection)
        self.audit = SqlAuditRepository(connection)
        self.roaming = SqlRoamingPartnerRepository(connection)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.sessions.drop_queued()
        await self._connection.rollback()

    async def commit(self) -> None:
        """Keep what was done (with the meter data queued for one batch); the next use starts
        a new transaction."""
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit; open a write one")
        await self.sessions.flush_queued()
        await self._connection.commit()

    async def rollback(self) -> None:
        """Forget what was done since the last commit, and end the transaction."""
        self.sessions.drop_queued()
        await self._connection.rollback()

    def savepoint(self) -> AbstractAsyncContextManager[object]:
        """A SAVEPOINT in this transaction (opening it if need be). Queued meter data is
        written before it opens and before it is released, so a rollback to it drops exactly
        what was queued inside it."""
        return self._savepoint()

    @contextlib.asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[object]:
        await self.sessions.flush_queued()
        try:
            async with self._connection.begin_nested() as savepoint:
                yield savepoint
                await self.sessions.flush_queued()
        except BaseException:
            self.sessions.drop_queued()
            raise


class SqlUnitOfWorkFactory:
    """On SQLite, the transactions of this process take turns (see ``transaction.py``), so
    code holding an open transaction must not wait on a second unit of work."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._read_engine = create_read_engine(engine)
        self._statement_reads = StatementReads.for_engine(engine)

    def __call__(self, *, read_only: bool = False) -> SqlUnitOfWork:
        """A write unit of work, or with ``read_only`` one that only reads (module docstring):
        it runs next to the writers instead of taking its turn among them."""
        if read_only:
            return SqlUnitOfWork(self._read_engine, read_only=True, reads=self._statement_reads)
        return SqlUnitOfWork(self.engine, self._write_lock)

    async def aclose(self) -> None:
        """Close both engines' connections (the read engine may be the same one)."""
        if self._statement_reads is not None:
            await self._statement_reads.aclose()
        if self._read_engine.sync_engine.pool is not self.engine.sync_engine.pool:
            await self._read_engine.dispose()
        await self.engine.dispose()

    def connection(self) -> LazyConnection:
        """A bare transaction taking turns with the units of work (the sandbox PSP's store)."""
        return LazyConnection(self.engine, self._write_lock)
