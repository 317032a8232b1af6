"""The composition root: builds the runtime (engine, units of work, clock, hasher) from
settings. Entry points (API, CLI, OCPP edge, simulator) get everything from here."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chargeledger.adapters.bus import InProcessCommandBus
from chargeledger.adapters.clock import SystemClock
from chargeledger.adapters.db.engine import create_engine
from chargeledger.adapters.db.health import database_answers
from chargeledger.adapters.db.migrate import upgrade_to_head
from chargeledger.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from chargeledger.adapters.gateways.sandbox import SandboxGateway
from chargeledger.adapters.security import Argon2PasswordHasher
from chargeledger.config import Settings
from chargeledger.domain.invoicing import Party
from chargeledger.errors import ConfigurationError
from chargeledger.services.payment_gateway import PaymentGateway, WebhookRejectedError
from chargeledger.services.payment_janitor import JanitorReport, run_janitor
from chargeledger.services.payment_operations import HoldPolicy, PaymentContext
from chargeledger.services.payment_webhooks import receive_webhook
from chargeledger.services.ports import Clock, CommandBus, PasswordHasher, UnitOfWorkFactory
from chargeledger.services.session_review import sweep_stale_sessions
from chargeledger.services.station_status import forget_stored_replies

log = logging.getLogger("chargeledger")
IDEMPOTENCY_KEPT = timedelta(days=8)  # DESIGN §2: at least 7 days


@dataclass
class Runtime:
    """Everything a running process shares. Close it with ``aclose()``."""

    settings: Settings
    uow: UnitOfWorkFactory
    clock: Clock
    hasher: PasswordHasher
    jwt_secret: str
    bus: CommandBus
    _factory: SqlUnitOfWorkFactory
    payments: PaymentContext
    _background: set[asyncio.Task[object]] = field(default_factory=set)
    # Background payment work takes few connections at a time, so the stations' CALLs
    # (which hold the answer until their commit) always find one in the pool.
    _background_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(3))

    def spawn(self, work: Awaitable[object]) -> None:
        """Run ``work`` in the background; failures are logged, never lost silently."""

        async def guarded() -> object:
            try:
                async with self._background_slots:
                    return await work
            except Exception:
                log.exception("background work failed")
                return None

        task = asyncio.ensure_future(guarded())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

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
        async with self.uow() as uow:
            closed = await sweep_stale_sessions(uow, self.clock, stale_after)
        if closed:
            log.info("closed stale sessions", extra={"count": len(closed)})
        return len(closed)

    async def forget_stored_replies(self) -> int:
        """Stored OCPP answers older than CHARGELEDGER_OCPP_REPLY_RETENTION_HOURS go
        (DESIGN §4 periodic job, run with the stale-session sweep)."""
        kept_for = timedelta(hours=self.settings.ocpp.reply_retention_hours)
        async with self.uow() as uow:
            forgotten = await forget_stored_replies(uow, self.clock, kept_for)
        if forgotten:
            log.info("forgot stored OCPP answers", extra={"count": forgotten})
        return forgotten

    @property
    def sandbox(self) -> SandboxGateway | None:
        """The built-in PSP simulator, when it is configured (demos, tests)."""
        gateway = self.payments.gateways.get("sandbox")
        return gateway if isinstance(gateway, SandboxGateway) else None

    async def payment_janitor(self) -> JanitorReport:
        """Settle payments in doubt and end holds (DESIGN §4 periodic job); forget REST
        idempotency keys once they are older than the 7 days they are promised for."""
        async with self.uow() as uow:
            await uow.payments.expire_keys(self.clock.now() - IDEMPOTENCY_KEPT)
            await uow.commit()
        return await run_janitor(self.payments)

    def start_jobs(self) -> list[asyncio.Task[None]]:
        """Periodic jobs of this process; cancel the tasks to stop them."""
        return [
            asyncio.create_task(
                self._every(self.settings.sweep_interval_seconds, self.sweep_stale_sessions)
            ),
            asyncio.create_task(
                self._every(self.settings.sweep_interval_seconds, self.forget_stored_replies)
            ),
            asyncio.create_task(
                self._every(self.settings.payments.janitor_interval_seconds, self.payment_janitor)
            ),
        ]

    async def _every(self, seconds: int, job: Callable[[], Awaitable[object]]) -> None:
        while True:
            try:
                await job()
            except Exception:
                log.exception("periodic job failed", extra={"job": job.__name__})
            await asyncio.sleep(seconds)

    async def aclose(self) -> None:
        await self._factory.engine.dispose()


def build_runtime(
    settings: Settings,
    *,
    schema: str | None = None,
    hasher: PasswordHasher | None = None,
    clock: Clock | None = None,
) -> Runtime:
    """Wire the adapters; ``schema`` isolates a PostgreSQL test run in its own schema."""
    if settings.uses_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    factory = SqlUnitOfWorkFactory(create_engine(settings.database_url, schema=schema))
    clock = clock or SystemClock()
    bus = InProcessCommandBus()
    payments = _payment_context(settings, factory, clock, bus)
    return Runtime(
        settings=settings,
        uow=factory,
        clock=clock,
        hasher=hasher or Argon2PasswordHasher(),
        jwt_secret=settings.jwt_secret or _stored_secret(settings.data_dir / "jwt-secret"),
        bus=bus,
        _factory=factory,
        payments=payments,
    )


def _payment_context(
    settings: Settings, factory: UnitOfWorkFactory, clock: Clock, bus: CommandBus
) -> PaymentContext:
    """The PSPs: the sandbox simulator always (demos, tests), Stripe when it is configured."""
    config = settings.payments
    sandbox = SandboxGateway(clock, config.sandbox_webhook_secret, seed=config.sandbox_seed)
    gateways: dict[str, PaymentGateway] = {"sandbox": sandbox}
    if config.stripe_api_key and config.stripe_webhook_secret:
        from chargeledger.adapters.gateways.stripe_gateway import StripeGateway

        gateways["stripe"] = StripeGateway(
            config.stripe_api_key, config.stripe_webhook_secret, api_base=config.stripe_api_base
        )
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
        seller=seller,
        hold=HoldPolicy(
            config.hold_kwh, config.hold_minutes, config.hold_step, config.hold_ceiling
        ),
        bus=bus,
    )

    async def deliver(payload: bytes, headers: Mapping[str, str]) -> int:
        try:
            await receive_webhook(context, "sandbox", payload, headers)
        except WebhookRejectedError:
            return 400
        return 200

    sandbox.deliver_webhooks_to(deliver)
    return context


def _stored_secret(path: Path) -> str:
    """A signing key made once per data directory, so restarts keep issued tokens valid.

    Nodes of a cluster must share one secret: set CHARGELEDGER_JWT_SECRET there.
    """
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message and any ``extra`` fields."""

    _STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            {key: value for key, value in vars(record).items() if key not in self._STANDARD}
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
