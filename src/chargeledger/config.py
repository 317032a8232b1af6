"""Settings, read once from the environment (DESIGN §3: nothing runs at import).

| variable                            | default                                   |
|-------------------------------------|-------------------------------------------|
| CHARGELEDGER_DATA_DIR               | ./.chargeledger                           |
| CHARGELEDGER_DATABASE_URL           | SQLite file ``chargeledger.sqlite3`` in the data dir |
| CHARGELEDGER_JWT_SECRET             | generated once into ``<data dir>/jwt-secret`` |
| CHARGELEDGER_ACCESS_TOKEN_MINUTES   | 60                                        |
| CHARGELEDGER_LOG_LEVEL              | INFO                                      |
| CHARGELEDGER_LOG_FORMAT             | json (or ``console``)                     |
| CHARGELEDGER_STALE_SESSION_HOURS    | 24: a session silent this long is closed  |
| CHARGELEDGER_SWEEP_INTERVAL_SECONDS | 300: how often the stale-session sweep runs |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from chargeledger.errors import ConfigurationError

PREFIX = "CHARGELEDGER_"


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    database_url: str
    jwt_secret: str | None = None
    access_token_minutes: int = 60
    log_level: str = "INFO"
    log_format: str = "json"
    stale_session_hours: int = 24
    sweep_interval_seconds: int = 300

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get(PREFIX + "DATA_DIR", ".chargeledger")).expanduser()
        url = env.get(PREFIX + "DATABASE_URL") or sqlite_url(data_dir / "chargeledger.sqlite3")
        try:
            minutes = int(env.get(PREFIX + "ACCESS_TOKEN_MINUTES", "60"))
        except ValueError as exc:
            raise ConfigurationError(
                "CHARGELEDGER_ACCESS_TOKEN_MINUTES must be a whole number",
                code="invalid_setting",
            ) from exc
        stale_hours = _whole_number(env, "STALE_SESSION_HOURS", 24)
        sweep_seconds = _whole_number(env, "SWEEP_INTERVAL_SECONDS", 300)
        log_format = env.get(PREFIX + "LOG_FORMAT", "json").lower()
        if log_format not in ("json", "console"):
            raise ConfigurationError(
                "CHARGELEDGER_LOG_FORMAT must be json or console", code="invalid_setting"
            )
        return cls(
            data_dir=data_dir,
            database_url=url,
            jwt_secret=env.get(PREFIX + "JWT_SECRET") or None,
            access_token_minutes=minutes,
            log_level=env.get(PREFIX + "LOG_LEVEL", "INFO").upper(),
            log_format=log_format,
            stale_session_hours=stale_hours,
            sweep_interval_seconds=sweep_seconds,
        )

    def with_database(self, url: str) -> Settings:
        return replace(self, database_url=url)

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _whole_number(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(PREFIX + name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value <= 0:
        raise ConfigurationError(
            f"{PREFIX}{name} must be a positive whole number", code="invalid_setting"
        )
    return value


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path.resolve()}"
