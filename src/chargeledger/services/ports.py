"""The ports the services need from the outside world, as Protocols.

Adapters implement them (``adapters/db`` for storage, ``adapters/security`` for hashing); tests
of pure services may pass fakes. Nothing here knows SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, TypeVar

from chargeledger.domain.accounts import Account, AccountKind, Token, TokenStatus
from chargeledger.domain.audit import RecordSeal
from chargeledger.domain.catalog import Evse, Site, Station
from chargeledger.domain.evidence import SignedBySession
from chargeledger.domain.identity import ApiKey, User
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.ocmf import OcmfRecord, SignatureCheck
from chargeledger.domain.tariffs.assignment import StoredTariff, TariffAssignment, TariffScope
from chargeledger.errors import ConflictError
from chargeledger.services.audit.ports import AuditRepository
from chargeledger.services.billing.bank_ports import BankRepository
from chargeledger.services.billing.dunning_ports import DunningRepository
from chargeledger.services.billing.exporting import AccountingExporter
from chargeledger.services.billing.invoice_ports import BillingRepository
from chargeledger.services.billing.ledger_ports import LedgerRepository
from chargeledger.services.billing.report_ports import ReportRepository
from chargeledger.services.billing.repricing_ports import RepricingRepository
from chargeledger.services.catalog_reads import EvseIdReads, StationBatchReads
from chargeledger.services.charging.meter_key_ports import MeterKeyRepository
from chargeledger.services.charging.reservation_ports import ReservationRepository
from chargeledger.services.charging.session_ports import SessionRepository
from chargeledger.services.charging.station_link_ports import StationLinkRepository
from chargeledger.services.contracts.ports import ContractRepository
from chargeledger.services.disputes.case_ports import DisputeRepository
from chargeledger.services.location_ports import LocationRepository
from chargeledger.services.notifications.ports import OutboxRepository
from chargeledger.services.overview_ports import OverviewRepository
from chargeledger.services.paging import Page
from chargeledger.services.payments.payout_ports import PayoutRepository
from chargeledger.services.payments.ports import PaymentRepository
from chargeledger.services.roaming.ports import RoamingPartnerRepository

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC (DESIGN §2)."""
        ...


class LockBusyError(ConflictError):
    """The lock was not had within the wait: nothing was done under it."""

    default_code = "lock_busy"


class Locks(Protocol):
    """Mutual exclusion by name among every task and process on one database (DESIGN §4:
    N nodes on one PostgreSQL, or ``serve`` and the CLI on one SQLite file). Money operations
    hold ``payment:<id>`` across their PSP call without keeping a transaction open over it."""

    def hold(self, name: str, wait_seconds: float) -> AbstractAsyncContextManager[None]:
        """Held until the block ends (or the process dies); ``LockBusyError`` when it cannot
        be had within ``wait_seconds`` (0: one try). Not reentrant."""
        ...


class JobLeases(Protocol):
    """Which process runs a periodic job: at most one at a time among every node on the
    database (issue 18); the lease of a process that dies ends with it."""

    def lease(self, job: str) -> AbstractAsyncContextManager[bool]:
        """True inside the block when this process holds ``job``'s lease, False when another
        process does (then this round is skipped)."""
        ...

    async def aclose(self) -> None: ...


class PasswordHasher(Protocol):
    """Slow, salted password hashing (argon2id, DESIGN §6), always off the event loop.

    ``verify(None, password)`` is the answer for a credential that does not exist (unknown
    user, inactive user, unknown station): it costs the same work as a wrong password and is
    always False, so the time of an answer does not tell which users exist (OWASP ASVS
    2.2.1 / CWE-204). Both may raise ``ServiceBusyError`` when the hashing capacity is used up.
    """

    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str | None, password: str) -> bool: ...

    def close(self) -> None:
        """Release the worker threads (the runtime's ``aclose``)."""
        ...


class StationSecrets(Protocol):
    """The keyed fast hash of station passwords, machine secrets (DESIGN §6): cheap enough to
    run inline on the event loop. ``verify(None, password)`` does the same work as a wrong
    password and is False; a hash of another (older) scheme is never ``is_current`` and
    ``verify`` says False for it, so the caller checks it with the ``PasswordHasher``."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str | None, password: str) -> bool: ...

    def is_current(self, password_hash: str) -> bool: ...


class VatIdChecker(Protocol):
    """Checks VAT identification numbers (the ``python-stdnum`` adapter). An invalid VAT id on
    a business account would later produce a wrong reverse-charge invoice (Council Directive
    2006/112/EC art. 196 needs the customer's valid VAT id), so the customer use cases refuse
    it at the door."""

    def normalise(self, vat_id: str, country: str) -> str:
        """The compact VAT id (e.g. ``DE136695976``) of an account billed in ``country``;
        ``InvalidInputError`` with code ``invalid_vat_id`` when it is not valid."""
        ...


class MeterSignatureVerifier(Protocol):
    def check(self, record: OcmfRecord, public_key: str | None) -> SignatureCheck:
        """The verdict on ``record``'s signature under ``public_key`` (any form a station
        or an operator gives; None: ``unknown_key``). Never raises on bad input: an
        unreadable key or signature is the verdict ``malformed``."""
        ...


class Repository(Protocol[T]):
    """Storage of one aggregate by id; ``add``/``update`` raise DuplicateError on unique keys."""

    async def add(self, entity: T) -> None: ...

    async def get(self, entity_id: uuid.UUID) -> T | None: ...

    async def update(self, entity: T) -> None: ...

    async def delete(self, entity_id: uuid.UUID) -> None: ...

    async def count(self) -> int: ...


class SiteRepository(Repository[Site], Protocol):
    async def list(self, *, limit: int, offset: int) -> Page[Site]: ...


class StationRepository(Repository[Station], StationBatchReads, Protocol):
    async def get_by_charge_point_id(self, charge_point_id: str) -> Station | None: ...

    async def list(
        self, *, site_id: uuid.UUID | None, limit: int, offset: int
    ) -> Page[Station]: ...

    async def exists_for_site(self, site_id: uuid.UUID) -> bool: ...

    async def replace_password_hash(self, station_id: uuid.UUID, old: str, new: str) -> bool:
        """Store ``new`` only if the stored hash is still ``old`` (a compare-and-set: of
        concurrent replacements one wins, and a password changed meanwhile is kept)."""
        ...


class EvseRepository(Repository[Evse], EvseIdReads, Protocol):
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

    async def get_many(self, ids: Collection[uuid.UUID]) -> Sequence[Account]:
        """The accounts of ``ids`` that exist, in no particular order."""
        ...


class TokenRepository(Repository[Token], Protocol):
    async def get_by_uid(self, uid: str) -> Token | None: ...

    async def asking_issuer(self) -> list[str]:
        """The uids of the tokens whose eMSP wants asking at each use (``issuer_check``)."""
        ...

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

    async def lock_active_admins(self) -> frozenset[uuid.UUID]:
        """The ids of the active admins, locked until the transaction ends (``FOR UPDATE`` on
        PostgreSQL; SQLite's transactions already take turns), so two transactions that each
        remove an admin see each other's change instead of both seeing two admins."""
        ...


class ApiKeyRepository(Repository[ApiKey], Protocol):
    async def get_by_prefix(self, prefix: str) -> ApiKey | None: ...

    async def list(self, *, limit: int, offset: int) -> Page[ApiKey]: ...


class TariffRepository(Repository[StoredTariff], Protocol):
    async def list(
        self,
        *,
        limit: int,
        offset: int,
        search: str | None = None,
        ocpi_id: str | None = None,
    ) -> Page[StoredTariff]: ...

    async def assignments_of(self, tariff_id: uuid.UUID) -> Sequence[TariffAssignment]: ...

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
    def locations(self) -> LocationRepository: ...

    @property
    def tariffs(self) -> TariffRepository: ...

    @property
    def billing(self) -> BillingRepository: ...

    @property
    def bank(self) -> BankRepository: ...

    @property
    def ledger(self) -> LedgerRepository: ...

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def payouts(self) -> PayoutRepository: ...

    @property
    def reports(self) -> ReportRepository: ...

    @property
    def overview(self) -> OverviewRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def dunning(self) -> DunningRepository: ...

    @property
    def contracts(self) -> ContractRepository: ...

    @property
    def disputes(self) -> DisputeRepository: ...

    @property
    def meter_keys(self) -> MeterKeyRepository: ...

    @property
    def reservations(self) -> ReservationRepository: ...

    @property
    def repricings(self) -> RepricingRepository: ...

    @property
    def audit(self) -> AuditRepository: ...

    @property
    def roaming(self) -> RoamingPartnerRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    def savepoint(self) -> AbstractAsyncContextManager[object]:
        """A nested transaction: an exception leaving it undoes what was done inside it
        alone, and the transaction goes on (one CALL of a group commit refused)."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work; ``read_only`` for one that only reads and never commits (it
        waits for no writer: issue 17)."""
        ...


class InvoiceDocuments(Protocol):
    """Issued documents rendered for people and machines (``adapters/documents``): the PDF
    with the EN 16931 e-invoice embedded (Factur-X) and the e-invoice alone (UN/CEFACT CII
    XML). Pure functions of the invoice (and of the signed meter data and the audit seal
    handed with it): they read nothing and store nothing."""

    def pdf(
        self,
        invoice: Invoice,
        signed: SignedBySession | None = None,
        seal: RecordSeal | None = None,
    ) -> bytes:
        """The PDF; an invoice or receipt whose sessions have signed meter values in
        ``signed`` carries them in an annex, with a QR code per record. ``seal``: where the
        document stands in the audit chain (issue 15): its content hash is printed in the
        footer, and its checkpoint proof once its day is closed (else a line saying when it
        will be available)."""
        ...

    def xml(self, invoice: Invoice) -> bytes: ...

    def check(self, xml: bytes) -> None:
        """Refuse (``invalid_einvoice``) an e-invoice that breaks the EN 16931 rules."""
        ...


class Exports(Protocol):
    """Files for accountants (``adapters/exports``): the journal in a chosen accounting
    format, and the invoice register. Pure functions of what they are given."""

    def accounting(self, format_name: str) -> AccountingExporter:
        """The exporter of ``format_name`` (``unknown_export_format`` when there is none)."""
        ...

    def formats(self) -> tuple[str, ...]:
        """The accounting formats' names, for a form to offer (issue 16)."""
        ...

    def invoice_register(self, invoices: Sequence[Invoice]) -> str: ...
