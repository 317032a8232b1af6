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
| CHARGELEDGER_OPERATOR_<FIELD>       | the seller on invoices, see below         |
| CHARGELEDGER_OPERATOR_TIME_ZONE     | UTC: accounting dates and billing periods |
| CHARGELEDGER_VAT_RATES_FILE         | built-in EU standard rates, see below     |
| CHARGELEDGER_MAX_BODY_BYTES         | 1048576: largest HTTP request body (413 above) |

Operator fields: NAME, STREET, POSTAL_CODE, CITY, COUNTRY (required to invoice), VAT_ID, EMAIL,
IBAN, REGISTRATION. The VAT rates file is a JSON list of ``{"country", "percent",
"valid_from"}``; it replaces the built-in rates of the countries it names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chargeledger.domain.billing import DEFAULT_VAT_RATES, VatRate, VatRates
from chargeledger.domain.invoicing import Party
from chargeledger.errors import ConfigurationError, InvalidInputError

PREFIX = "CHARGELEDGER_"


# DESIGN §6: request bodies have size limits. 1 MiB holds any JSON this API takes; a route
# that needs more (an upload) declares its own larger limit.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

SANDBOX_WEBHOOK_SECRET = "whsec_sandbox_local"  # the simulator's; set a real secret in production


@dataclass(frozen=True, slots=True)
class PaymentSettings:
    """Which PSP takes card payments, and how large a session's hold is (issue 6)."""

    gateway: str = "sandbox"  # or "stripe"
    sandbox_seed: int = 7
    sandbox_webhook_secret: str = SANDBOX_WEBHOOK_SECRET
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None  # a local emulator's address in tests
    stripe_webhook_secret: str | None = None
    hold_kwh: Decimal = Decimal(40)  # the quoted "maximum session" behind the first hold
    hold_minutes: int = 90
    hold_step: Decimal = Decimal(20)  # how much each raise adds
    hold_ceiling: Decimal = Decimal(300)  # no hold grows above this
    janitor_interval_seconds: int = 60

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PaymentSettings:
        gateway = env.get(PREFIX + "PAYMENT_GATEWAY", "sandbox").strip().lower()
        if gateway not in ("sandbox", "stripe"):
            raise ConfigurationError(
                f"{PREFIX}PAYMENT_GATEWAY must be sandbox or stripe", code="invalid_setting"
            )
        if gateway == "stripe" and not (
            env.get(PREFIX + "STRIPE_API_KEY") and env.get(PREFIX + "STRIPE_WEBHOOK_SECRET")
        ):
            raise ConfigurationError(
                f"the stripe gateway needs {PREFIX}STRIPE_API_KEY and "
                f"{PREFIX}STRIPE_WEBHOOK_SECRET",
                code="invalid_setting",
            )
        return cls(
            gateway=gateway,
            sandbox_seed=_whole_number(env, "SANDBOX_SEED", 7),
            sandbox_webhook_secret=env.get(PREFIX + "SANDBOX_WEBHOOK_SECRET")
            or SANDBOX_WEBHOOK_SECRET,
            stripe_api_key=env.get(PREFIX + "STRIPE_API_KEY") or None,
            stripe_api_base=env.get(PREFIX + "STRIPE_API_BASE") or None,
            stripe_webhook_secret=env.get(PREFIX + "STRIPE_WEBHOOK_SECRET") or None,
            hold_kwh=Decimal(_whole_number(env, "HOLD_KWH", 40)),
            hold_minutes=_whole_number(env, "HOLD_MINUTES", 90),
            janitor_interval_seconds=_whole_number(env, "PAYMENT_JANITOR_SECONDS", 60),
        )


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
    operator: dict[str, str] = field(default_factory=dict)
    operator_time_zone: str = "UTC"
    vat_rates: VatRates = DEFAULT_VAT_RATES
    payments: PaymentSettings = field(default_factory=PaymentSettings)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def seller(self) -> Party:
        """The operator as the seller of invoices (EN 16931 BG-4: name and address needed)."""
        missing = [
            k
            for k in ("name", "street", "postal_code", "city", "country")
            if not self.operator.get(k)
        ]
        if missing:
            raise ConfigurationError(
                "set the operator's details before invoicing: "
                + ", ".join(f"{PREFIX}OPERATOR_{k.upper()}" for k in missing),
                code="operator_not_configured",
            )
        return Party(**{k: v for k, v in self.operator.items() if v})

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
            operator={
                key: env[PREFIX + "OPERATOR_" + key.upper()].strip()
                for key in OPERATOR_FIELDS
                if env.get(PREFIX + "OPERATOR_" + key.upper(), "").strip()
            },
            operator_time_zone=_time_zone(env.get(PREFIX + "OPERATOR_TIME_ZONE", "UTC")),
            vat_rates=_vat_rates(env.get(PREFIX + "VAT_RATES_FILE")),
            payments=PaymentSettings.from_env(env),
            max_body_bytes=_whole_number(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
        )

    def with_database(self, url: str) -> Settings:
        return replace(self, database_url=url)

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


OPERATOR_FIELDS = (
    "name",
    "street",
    "postal_code",
    "city",
    "country",
    "vat_id",
    "email",
    "iban",
    "registration",
)


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            f"{PREFIX}OPERATOR_TIME_ZONE: {name!r} is not an IANA time zone",
            code="invalid_setting",
        ) from exc
    return name


def _vat_rates(path: str | None) -> VatRates:
    """The built-in table, with the countries of the file replaced by the file's rates."""
    if not path:
        return DEFAULT_VAT_RATES
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
        rates = tuple(
            VatRate(
                str(row["country"]).upper(),
                Decimal(str(row["percent"])),
                date.fromisoformat(row["valid_from"]),
            )
            for row in rows
        )
    except (OSError, ValueError, KeyError, TypeError, InvalidOperation, InvalidInputError) as exc:
        raise ConfigurationError(
            f"{PREFIX}VAT_RATES_FILE {path}: {exc}", code="invalid_setting"
        ) from exc
    replaced = {rate.country for rate in rates}
    kept = tuple(r for r in DEFAULT_VAT_RATES.rates if r.country not in replaced)
    return VatRates(kept + rates)


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
