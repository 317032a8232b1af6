"""The composition root: builds the runtime (engine, units of work, clock, hasher) from
settings. Entry points (API, CLI, OCPP edge, simulator) get everything from here."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chargeledger.adapters.bus import InProcessCommandBus
from chargeledger.adapters.clock import SystemClock
from chargeledger.adapters.db.engine import create_engine
from chargeledger.adapters.db.health import database_answers
from chargeledger.adapters.db.migrate import upgrade_to_head
from chargeledger.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from chargeledger.adapters.security import Argon2PasswordHasher
from chargeledger.config import Settings
from chargeledger.services.ports import Clock, CommandBus, PasswordHasher, UnitOfWorkFactory
from chargeledger.services.session_review import sweep_stale_sessions

log = logging.getLogger("chargeledger")


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

    def start_jobs(self) -> list[asyncio.Task[None]]:
        """Periodic jobs of this process; cancel the tasks to stop them."""
        return [
            asyncio.create_task(
                self._every(self.settings.sweep_interval_seconds, self.sweep_stale_sessions)
            )
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
    return Runtime(
        settings=settings,
        uow=factory,
        clock=clock or SystemClock(),
        hasher=hasher or Argon2PasswordHasher(),
        jwt_secret=settings.jwt_secret or _stored_secret(settings.data_dir / "jwt-secret"),
        bus=InProcessCommandBus(),
        _factory=factory,
    )


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
