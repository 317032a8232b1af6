"""The composition root: builds the runtime (engine, units of work, clock, hasher) from
settings. Entry points (API, CLI, OCPP edge, simulator) get everything from here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from chargeledger.adapters.audit import audit_chain
from chargeledger.adapters.bank.camt053_writer import Camt053Writer
from chargeledger.adapters.bank.reader import BankStatementReader
from chargeledger.adapters.clock import SystemClock
from chargeledger.adapters.db.cluster_bus import command_bus
from chargeledger.adapters.db.engine import create_engine
from chargeledger.adapters.db.health import database_answers
from chargeledger.adapters.db.job_leases import job_leases
from chargeledger.adapters.db.locks import PostgresLocks, SqliteLocks, named_locks
from chargeledger.adapters.db.migrate import upgrade_to_head
from chargeledger.adapters.db.repositories.sandbox import SqlSandboxStore
from chargeledger.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from chargeledger.adapters.documents.evidence_pack import EvidencePackFiles
from chargeledger.adapters.documents.reminder_pdf import ReminderPdf
from chargeledger.adapters.documents.renderer import FacturXDocuments
from chargeledger.adapters.exports.files import FileExports
from chargeledger.adapters.exports.registry import ExportSetup
from chargeledger.adapters.files import private_directory, stored_secret
from chargeledger.adapters.gateways.sandbox import SandboxGateway
from chargeledger.adapters.logs import send_logs_to_stderr
from chargeledger.adapters.meter_signatures import OcmfSignatureVerifier
from chargeledger.adapters.notify.smtp import SmtpMailer
from chargeledger.adapters.notify.webhooks import HttpWebhookSender
from chargeledger.adapters.reports import TableFiles
from chargeledger.adapters.roaming import roaming_handshake
from chargeledger.adapters.security import Argon2PasswordHasher, HmacStationSecrets
from chargeledger.adapters.vat_ids import StdnumVatIds
from chargeledger.config import Settings
from chargeledger.domain.invoicing import Party
from chargeledger.domain.outbox import Attachment
from chargeledger.errors import ConfigurationError
from chargeledger.services.audit.auditor import Auditor, keep_chain
from chargeledger.services.billing.dunning import DunningReport, DunningTerms, run_dunning
from chargeledger.services.billing.dunning_ports import ReminderDocuments
from chargeledger.services.billing.invoice_runs import Invoicer
from chargeledger.services.billing.notice_documents import render_attachment
from chargeledger.services.billing.report_ports import ReportFiles
from chargeledger.services.billing.statements import StatementReader, StatementWriter
from chargeledger.services.charging.reservations import expire_reservations
from chargeledger.services.charging.session_review import sweep_stale_sessions
from chargeledger.services.charging.station_link_ports import CommandBus
from chargeledger.services.charging.station_status import forget_stored_replies
from chargeledger.services.contracts.milestones import ReminderRun, send_reminders_on
from chargeledger.services.disputes.ports import EvidenceDocuments
from chargeledger.services.disputes.reminders import remind_disputes
from chargeledger.services.idempotency_keys import forget_old_keys
from chargeledger.services.notifications.delivery import (
    Deliveries,
    DeliveryReport,
    deliver_outbox,
)
from chargeledger.services.notifications.ports import MailFile
from chargeledger.services.payments.context import HoldPolicy, PaymentContext
from chargeledger.services.payments.gateway import PaymentGateway, WebhookRejectedError
from chargeledger.services.payments.janitor import JanitorReport, run_janitor
from chargeledger.services.payments.webhooks import receive_webhook, reconcile_payouts
from chargeledger.services.ports import (
    Clock,
    Exports,
    InvoiceDocuments,
    JobLeases,
    Locks,
    MeterSignatureVerifier,
    PasswordHasher,
    StationSecrets,
    UnitOfWork,
    UnitOfWorkFactory,
    VatIdChecker,
)
from chargeledger.services.roaming.handshake import Handshake
from chargeledger.services.roaming.pushes import RoamingPushes
from chargeledger.services.roaming.sessions import announce_session_updates
from chargeledger.services.roaming.tokens import pull_due_tokens
from chargeledger.services.throttling import CredentialGuard
from chargeledger.services.transactions import in_transaction

if TYPE_CHECKING:
    from chargeledger.adapters.gateways.stripe_gateway import StripeGateway

log = logging.getLogger("chargeledger")
PAYOUT_LOOKBACK_DAYS = 35  # a month of payouts, and the days around it


@dataclass
class Runtime:
    """Everything a running process shares. Close it with ``aclose()``."""

    settings: Settings
    uow: UnitOfWorkFactory
    clock: Clock
    hasher: PasswordHasher
    station_secrets: StationSecrets  # station passwords: keyed fast hash, not argon2
    jwt_secret: str
    bus: CommandBus
    _factory: SqlUnitOfWorkFactory
    payments: PaymentContext
    locks: Locks  # named locks shared with every process on the database (payments, runs)
    _locks: PostgresLocks | SqliteLocks  # the same, for aclose()
    jobs: JobLeases  # which node runs each periodic job (issue 18)
    # Throttles of password checks (per process: each node of a cluster counts on its own).
    logins: CredentialGuard
    station_logins: CredentialGuard
    documents: InvoiceDocuments  # PDF and e-invoice of issued documents
    exports: Exports  # accounting formats and the invoice register
    vat_ids: VatIdChecker  # VAT identification numbers of business accounts
    statements: StatementReader  # bank statement files: camt.053 and CSV
    statement_writer: StatementWriter  # camt.053 files (the demo's bank statement)
    reports: ReportFiles  # reports as CSV, XLSX and JSON files
    reminders: ReminderDocuments  # dunning notices as PDFs
    evidence: EvidenceDocuments  # dispute evidence packs: PDF and ZIP of JSON (issue 15)
    auditor: Auditor  # the tamper-evident chain: sealing, checkpoints, verification
    roaming: Handshake  # OCPI partners: storage, the client to reach them, token sealing
    # Signed meter data (OCMF) checks; no state, so every runtime has its own.
    meter_signatures: MeterSignatureVerifier = field(default_factory=OcmfSignatureVerifier)
    _gateway: SandboxGateway | StripeGateway | None = None
    _background: set[asyncio.Task[object]] = field(default_factory=set)
    # Background payment work takes few connections at a time, so the stations' CALLs
    # (which hold the answer until their commit) always find one in the pool.
    _background_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(3))

    def spawn(self, work: Awaitable[object], *, slot: bool = True) -> asyncio.Task[object]:
        """Run ``work`` in the background, failures logged; in one of the few background slots
        unless ``slot`` is False (work that waits on a station, holding no connection)."""

        async def guarded() -> object:
            try:
                if not slot:
                    return await work
                async with self._background_slots:
                    return await work
            except Exception:
                log.exception("background work failed")
                return None

        task = asyncio.ensure_future(guarded())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def quiesce(self) -> None:
        """Wait for background work and the sandbox's webhooks (demos and tests)."""
        while self._background or (self.sandbox is not None and self.sandbox.busy):
            if self._background:
                await asyncio.gather(*list(self._background), return_exceptions=True)
            if self.sandbox is not None:
                await self.sandbox.settle()

    @property
    def database_backend(self) -> str:
        return self._factory.engine.dialect.name

    async def migrate(self) -> tuple[str | None, str | None]:
        """Upgrade the database to the newest migration; (revision before, after)."""
        return await upgrade_to_head(self._factory.engine)

    async def ping(self) -> bool:
        """True when the database answers (for /healthz)."""
        return await database_answers(self._factory.engine)

    async def sweep_stale_sessions(self) -> int:
        """Close sessions whose stop never came (DESIGN §4 periodic job)."""
        stale_after = timedelta(hours=self.settings.stale_session_hours)
        closed = await in_transaction(self.uow, sweep_stale_sessions, self.clock, stale_after)
        if closed:
            log.info("closed stale sessions", extra={"count": len(closed)})
        return len(closed)

    async def expire_reservations(self) -> int:
        """Write down the reservations that ran out (periodic job, issue 16)."""
        return await in_transaction(self.uow, expire_reservations, self.clock)

    async def keep_partners_current(self) -> int:
        """Partners' running sessions' readings (OCPI §9.2.2), their tokens when due (§12.2.1)."""
        every = timedelta(seconds=self.settings.roaming.token_pull_seconds)
        await pull_due_tokens(self.roaming, every)
        return await in_transaction(self.uow, announce_session_updates, self.clock)

    async def forget_stored_replies(self) -> int:
        """Stored OCPP answers older than CHARGELEDGER_OCPP_REPLY_RETENTION_HOURS go."""
        kept_for = timedelta(hours=self.settings.ocpp.reply_retention_hours)
        forgotten = await in_transaction(self.uow, forget_stored_replies, self.clock, kept_for)
        if forgotten:
            log.info("forgot stored OCPP answers", extra={"count": forgotten})
        return forgotten

    @property
    def sandbox(self) -> SandboxGateway | None:
        """The built-in PSP simulator, when it is the configured gateway (demos, tests)."""
        return self._gateway if isinstance(self._gateway, SandboxGateway) else None

    def invoicer(self) -> Invoicer:
        """Invoice runs on this runtime (``operator_not_configured`` without the seller)."""
        settings = self.settings
        return Invoicer(
            uow=self.uow,
            locks=self.locks,
            clock=self.clock,
            rates=settings.vat_rates,
            seller=settings.seller(),
            time_zone=settings.operator_time_zone,
            wait_seconds=settings.invoice_run_wait_seconds,
        )

    async def payment_janitor(self) -> JanitorReport:
        """Settle payments in doubt, end holds, forget REST idempotency keys past their 7
        days (DESIGN §4); the sandbox PSP's webhooks not yet accepted go again (as a PSP's)."""
        await in_transaction(self.uow, forget_old_keys, self.clock)
        if self.sandbox is not None:
            await self.sandbox.resend_pending_webhooks()
        return await run_janitor(self.payments)

    async def reconcile_payouts(self) -> int:
        """Book the PSP's payouts of 35 days a missed webhook left out (once per payout id)."""
        if self._gateway is None:
            return 0
        since = self.clock.now() - timedelta(days=PAYOUT_LOOKBACK_DAYS)
        booked = await reconcile_payouts(self.payments, self.payments.default_gateway, since)
        if booked:
            log.info("booked PSP payouts", extra={"count": booked})
        return booked

    def deliveries(self) -> Deliveries:
        """The outbox's delivery worker as the settings configure it (issue 13)."""
        config = self.settings.notifications
        documents, reminders = self.documents, self.reminders

        async def attachment(uow: UnitOfWork, item: Attachment) -> MailFile:
            return await render_attachment(uow, documents, reminders, item)

        return Deliveries(
            uows=self.uow,
            clock=self.clock,
            attachments=attachment,
            policy=config.retry,
            mail=None if config.smtp is None else SmtpMailer(config.smtp),
            webhooks=config.webhooks,
            webhook_sender=HttpWebhookSender() if config.webhooks else None,
            ocpi=RoamingPushes(self.roaming, self.settings.vat_rates, self.settings.roaming.party),
        )

    async def deliver_outbox(self) -> DeliveryReport:
        return await deliver_outbox(self.deliveries())  # DESIGN §4 periodic job

    def dunning_terms(self) -> DunningTerms:
        config = self.settings.dunning
        return DunningTerms(
            time_zone=self.settings.operator_time_zone,
            policies=config.policies,
            late_payment=config.late_payment,
        )

    async def run_dunning(self) -> DunningReport:
        """Today's dunning notices (DESIGN §4 periodic job; each level is sent once)."""
        return await in_transaction(self.uow, run_dunning, self.clock, self.dunning_terms())

    async def send_contract_reminders(self, day: date | None = None) -> ReminderRun:
        """The contract milestone reminders of ``day`` (default: today), each announced once,
        to the operator's e-mail when configured, else to the webhooks only."""
        to = self.settings.operator.get("email") or None
        zone = self.settings.operator_time_zone
        return await in_transaction(self.uow, send_reminders_on, self.clock, zone, day, to)

    async def remind_disputes(self) -> int:
        """SLA reminders of open dispute cases (issue 15), each announced once."""
        to = self.settings.operator.get("email") or None
        return await in_transaction(self.uow, remind_disputes, self.clock, to)

    async def keep_audit_chain(self) -> None:
        """Chain the queued records; close the days that have ended (periodic job, issue 15)."""
        await keep_chain(self.auditor)

    def start_jobs(self) -> list[asyncio.Task[None]]:
        """Periodic jobs of this process (cancel the tasks to stop them); each sends once."""
        settings = self.settings
        jobs: list[tuple[int, Callable[[], Awaitable[object]]]] = [
            (settings.dunning.interval_seconds, self.run_dunning),
            (settings.dunning.interval_seconds, self.send_contract_reminders),
            (settings.dunning.interval_seconds, self.remind_disputes),
            (settings.notifications.interval_seconds, self.deliver_outbox),
            (settings.sweep_interval_seconds, self.sweep_stale_sessions),
            (settings.sweep_interval_seconds, self.forget_stored_replies),
            (settings.sweep_interval_seconds, self.expire_reservations),
            (settings.payments.janitor_interval_seconds, self.payment_janitor),
            (settings.sweep_interval_seconds, self.reconcile_payouts),
            (settings.audit.seal_interval_seconds, self.keep_audit_chain),
            (settings.roaming.session_update_seconds, self.keep_partners_current),
        ]
        return [asyncio.create_task(self._every(seconds, job)) for seconds, job in jobs]

    async def _every(self, seconds: int, job: Callable[[], Awaitable[object]]) -> None:
        """``job`` every ``seconds``, in the rounds this process holds its lease."""
        while True:
            try:
                async with self.jobs.lease(job.__name__) as mine:
                    if mine:
                        await job()
            except Exception:
                log.exception("periodic job failed", extra={"job": job.__name__})
            await asyncio.sleep(seconds)

    async def aclose(self) -> None:
        await self.bus.aclose()
        await self.jobs.aclose()
        await self._locks.aclose()
        self.hasher.close()
        if self._gateway is not None:
            await self._gateway.aclose()
        await self._factory.aclose()


def meter_signature_verifier() -> MeterSignatureVerifier:
    """The OCMF signature checker, for entry points that need no runtime (``ocmf verify``
    checks a record offline, without a database)."""
    return OcmfSignatureVerifier()


def build_runtime(
    settings: Settings,
    *,
    schema: str | None = None,
    hasher: PasswordHasher | None = None,
    clock: Clock | None = None,
) -> Runtime:
    """Wire the adapters; ``schema`` isolates a PostgreSQL test run in its own schema."""
    if settings.uses_sqlite:
        private_directory(settings.data_dir)
    factory = SqlUnitOfWorkFactory(create_engine(settings.database_url, schema=schema))
    clock = clock or SystemClock()
    bus = command_bus(settings.database_url, schema)
    locks = named_locks(settings.database_url, factory.engine, schema)
    gateway = _gateway(settings, factory, clock)
    payments = _payment_context(settings, factory, clock, bus, locks, gateway)
    # Station passwords' key, shared by a cluster's nodes; it also seals partners' OCPI tokens.
    station_key = settings.auth.station_secret_key
    key = (station_key or stored_secret(settings.data_dir / "station-secret-key")).encode()
    return Runtime(
        settings=settings,
        uow=factory,
        clock=clock,
        hasher=hasher
        or Argon2PasswordHasher(
            workers=settings.auth.hash_workers, backlog=settings.auth.hash_backlog
        ),
        station_secrets=HmacStationSecrets(key),
        roaming=roaming_handshake(factory, clock, settings.roaming.timeout_seconds, key),
        jwt_secret=settings.jwt_secret or stored_secret(settings.data_dir / "jwt-secret"),
        bus=bus,
        _factory=factory,
        payments=payments,
        locks=locks,
        _locks=locks,
        jobs=job_leases(settings.database_url, locks),
        logins=CredentialGuard(clock, settings.auth.logins, what="logins"),
        station_logins=CredentialGuard(clock, settings.auth.stations, what="station logins"),
        documents=FacturXDocuments(),
        exports=FileExports(ExportSetup(clock.now, settings.operator_time_zone, settings.datev)),
        vat_ids=StdnumVatIds(),
        statements=BankStatementReader(),
        statement_writer=Camt053Writer(),
        reports=TableFiles(),
        reminders=ReminderPdf(),
        evidence=EvidencePackFiles(),
        auditor=audit_chain(factory, clock, *settings.audit.paths(settings.data_dir)),
        _gateway=gateway,
    )


def _gateway(
    settings: Settings, factory: SqlUnitOfWorkFactory, clock: Clock
) -> SandboxGateway | StripeGateway:
    """The configured PSP, and only it (issue 11): with Stripe there is no sandbox at all -
    no sandbox webhook route, no simulated card field, no way to touch sandbox payments."""
    config = settings.payments
    if config.gateway == "stripe":
        from chargeledger.adapters.gateways.stripe_gateway import StripeGateway

        if not (config.stripe_api_key and config.stripe_webhook_secret):
            raise ConfigurationError(
                "the stripe gateway needs its API key and webhook secret", code="invalid_setting"
            )
        return StripeGateway(
            config.stripe_api_key, config.stripe_webhook_secret, api_base=config.stripe_api_base
        )
    secret = config.sandbox_webhook_secret or stored_secret(
        settings.data_dir / "sandbox-webhook-secret"
    )
    store = SqlSandboxStore(factory.connection, clock)
    return SandboxGateway(clock, secret, seed=config.sandbox_seed, store=store)


def _payment_context(
    settings: Settings,
    factory: UnitOfWorkFactory,
    clock: Clock,
    bus: CommandBus,
    locks: Locks,
    gateway: SandboxGateway | StripeGateway,
) -> PaymentContext:
    """Payments through the one configured PSP."""
    config = settings.payments
    gateways: dict[str, PaymentGateway] = {gateway.name: gateway}
    try:
        seller: Party | None = settings.seller()
    except ConfigurationError:
        seller = None  # receipts wait for the operator's details (invoice run reports it)
    context = PaymentContext(
        uow=factory,
        clock=clock,
        gateways=gateways,
        default_gateway=config.gateway,
        time_zone=settings.operator_time_zone,
        rates=settings.vat_rates,
        locks=locks,
        lock_wait=config.lock_wait_seconds,
        seller=seller,
        hold=HoldPolicy(
            config.hold_kwh, config.hold_minutes, config.hold_step, config.hold_ceiling
        ),
        bus=bus,
        wallet_floor=config.wallet_floor,
    )

    if isinstance(gateway, SandboxGateway):
        # The simulator lives in this process: its webhooks go straight to the use case.
        async def deliver(payload: bytes, headers: Mapping[str, str]) -> int:
            try:
                await receive_webhook(context, gateway.name, payload, headers)
            except WebhookRejectedError:
                return 400
            return 200

        gateway.deliver_webhooks_to(deliver)
    return context


def configure_logging(settings: Settings) -> None:
    """The process's log lines: JSON (one object per line) or plain text, at the level set."""
    send_logs_to_stderr(settings.log_level, settings.log_format)
