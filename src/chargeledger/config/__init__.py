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
| CHARGELEDGER_PAYMENT_LOCK_WAIT_SECONDS | 30: wait for a payment's lock, else ``payment_busy`` |
| CHARGELEDGER_INVOICE_RUN_WAIT_SECONDS | 600: wait for a run under way, else ``invoice_run_busy`` |
| CHARGELEDGER_PASSWORD_HASH_WORKERS  | half the CPU cores, 1-4: argon2 threads   |
| CHARGELEDGER_PASSWORD_HASH_BACKLOG  | 64: argon2 calls waiting or running       |
| CHARGELEDGER_LOGIN_FAILURES_PER_USER / _PER_ADDRESS | 5 / 20 free failed logins |
| CHARGELEDGER_LOGIN_CONCURRENCY_PER_ADDRESS | 4 password checks at once   |
| CHARGELEDGER_STATION_FAILURES_PER_STATION / _PER_ADDRESS | 5 / 50 (handshakes) |
| CHARGELEDGER_STATION_CONCURRENCY_PER_ADDRESS | 16 handshake checks at once |
| CHARGELEDGER_STATION_SECRET_KEY     | generated once into ``<data dir>/station-secret-key`` |
| CHARGELEDGER_LOGIN_MAX_BACKOFF_SECONDS | 900: longest wait after failures  |
| CHARGELEDGER_LOGIN_TRACKED_KEYS     | 10000 users/stations/addresses remembered |
| CHARGELEDGER_PAYMENT_GATEWAY        | sandbox (or ``stripe``), see PaymentSettings |
| CHARGELEDGER_SANDBOX_WEBHOOK_SECRET | generated once into ``<data dir>/sandbox-webhook-secret`` |
| CHARGELEDGER_STRIPE_PUBLISHABLE_KEY | none; required with ``stripe`` (``pk_...``) |
| CHARGELEDGER_WALLET_FLOOR           | 5.00: the operator's minimum wallet balance |
| CHARGELEDGER_OCPP_MAX_FRAME_BYTES   | 65536: the largest OCPP frame processed   |
| CHARGELEDGER_OCPP_REPLY_RETENTION_HOURS | 24: how long answers are kept for replays |
| CHARGELEDGER_OCPP_FUTURE_TOLERANCE_MINUTES | 15: how far station time may run ahead |
| CHARGELEDGER_MAX_BODY_BYTES         | 1048576: largest HTTP request body (413 above) |
| CHARGELEDGER_DATEV_*                | DATEV export: chart, numbers, see DatevSettings |
| CHARGELEDGER_SMTP_HOST / _PORT / _USER / _PASSWORD / _FROM / _STARTTLS | none: no e-mail |
| CHARGELEDGER_WEBHOOKS_FILE          | none: JSON list of ``{"name", "url", "secret", "topics"}`` |
| CHARGELEDGER_OUTBOX_INTERVAL_SECONDS | 30: how often the outbox is delivered     |
| CHARGELEDGER_OUTBOX_MAX_ATTEMPTS    | 8: attempts before a message is dead      |
| CHARGELEDGER_OUTBOX_FIRST_RETRY_SECONDS | 60: the first backoff, doubled per attempt |
| CHARGELEDGER_DUNNING_POLICY_FILE    | built-in schedules per account kind, see DunningSettings |
| CHARGELEDGER_DUNNING_REFERENCE_RATE | 2.15: the ECB reference rate, percent (B2B interest) |
| CHARGELEDGER_DUNNING_INTEREST_MARGIN | 8: points above it (Directive 2011/7/EU art. 2(6)) |
| CHARGELEDGER_DUNNING_B2B_COMPENSATION | 40.00 (EUR, art. 6); 0: not claimed     |
| CHARGELEDGER_DUNNING_INTERVAL_SECONDS | 3600: how often ``serve`` runs dunning  |
| CHARGELEDGER_ENERGY_COST_PER_KWH    | none: net kWh cost (0.12 [EUR]), margins |
| CHARGELEDGER_AUDIT_*                | the audit chain: key, checkpoint files, see AuditSettings |
| CHARGELEDGER_OCPI_*                 | our OCPI party and URL (roaming), see RoamingSettings |

Operator fields: NAME, STREET, POSTAL_CODE, CITY, COUNTRY (required to invoice), VAT_ID, EMAIL,
IBAN, BIC (both checked), REGISTRATION. The VAT rates file is a JSON list of ``{"country",
"percent", "valid_from"}``; it replaces the built-in rates of the countries it names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stdnum import bic, iban
from stdnum.exceptions import ValidationError

from chargeledger.adapters.security import DEFAULT_BACKLOG, default_workers
from chargeledger.config.audit import AuditSettings
from chargeledger.config.finance import (
    DatevSettings,
    DunningSettings,
    NotificationSettings,
    energy_price,
)
from chargeledger.config.ocpp import OcppSettings
from chargeledger.config.roaming import RoamingSettings
from chargeledger.config.values import MIN_SECRET_LENGTH, PREFIX, whole_number
from chargeledger.domain.billing import DEFAULT_VAT_RATES, VatRate, VatRates
from chargeledger.domain.contract_performance import EnergyPrice
from chargeledger.domain.invoicing import Party
from chargeledger.domain.wallets import DEFAULT_WALLET_FLOOR, WALLET_LIMIT
from chargeledger.errors import ConfigurationError, InvalidInputError
from chargeledger.services.throttling import ThrottlePolicy

# Once the simulator's built-in secret, published with the code: refused if set (issue 11).
PUBLIC_SANDBOX_SECRET = "whsec_sandbox_local"
# DESIGN §6: request bodies have size limits. 1 MiB holds any JSON this API takes; a route
# that needs more (an upload) declares its own larger limit.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class PaymentSettings:
    """Which PSP takes card payments, and how large a session's hold is (issue 6).

    Only the configured PSP is built: its webhook route is the only one that exists, and
    no webhook secret has a usable default (DESIGN §6). The sandbox's secret, unless set, is
    generated once into the data directory (``bootstrap``); Stripe needs its own.
    """

    gateway: str = "sandbox"  # or "stripe"
    sandbox_seed: int = 7
    sandbox_webhook_secret: str | None = None  # None: generated into the data directory
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None  # a local emulator's address in tests
    stripe_webhook_secret: str | None = None
    stripe_publishable_key: str | None = None  # Stripe.js on the checkout page (pk_...)
    hold_kwh: Decimal = Decimal(40)  # the quoted "maximum session" behind the first hold
    hold_minutes: int = 90
    hold_step: Decimal = Decimal(20)  # how much each raise adds
    hold_ceiling: Decimal = Decimal(300)  # no hold grows above this
    janitor_interval_seconds: int = 60
    lock_wait_seconds: int = 30  # longer than one PSP call (Stripe's gateway gives up at 20)
    # The operator's floor of every prepaid wallet whose account has none of its own.
    wallet_floor: Decimal = DEFAULT_WALLET_FLOOR

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PaymentSettings:
        gateway = env.get(PREFIX + "PAYMENT_GATEWAY", "sandbox").strip().lower()
        if gateway not in ("sandbox", "stripe"):
            raise ConfigurationError(
                f"{PREFIX}PAYMENT_GATEWAY must be sandbox or stripe", code="invalid_setting"
            )
        stripe = {
            name: env.get(PREFIX + "STRIPE_" + name.upper(), "").strip() or None
            for name in ("api_key", "api_base", "webhook_secret", "publishable_key")
        }
        if gateway == "stripe":
            _check_stripe(stripe)
        return cls(
            gateway=gateway,
            sandbox_seed=whole_number(env, "SANDBOX_SEED", 7),
            sandbox_webhook_secret=_secret(env, "SANDBOX_WEBHOOK_SECRET"),
            stripe_api_key=stripe["api_key"],
            stripe_api_base=stripe["api_base"],
            stripe_webhook_secret=stripe["webhook_secret"],
            stripe_publishable_key=stripe["publishable_key"],
            hold_kwh=Decimal(whole_number(env, "HOLD_KWH", 40)),
            hold_minutes=whole_number(env, "HOLD_MINUTES", 90),
            janitor_interval_seconds=whole_number(env, "PAYMENT_JANITOR_SECONDS", 60),
            lock_wait_seconds=whole_number(env, "PAYMENT_LOCK_WAIT_SECONDS", 30),
            wallet_floor=_wallet_floor(env.get(PREFIX + "WALLET_FLOOR")),
        )


LOGIN_POLICY = ThrottlePolicy()
# Many stations may share one address (a mobile operator's NAT): more room per address, and
# a reconnect storm after a restart needs more checks at once.
STATION_POLICY = ThrottlePolicy(address_free_failures=50, concurrent_per_address=16)


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Password hashing capacity and the throttles of logins and station handshakes (issue 11
    item 2; DESIGN §6). The throttles count per process (each node of a cluster on its own)."""

    hash_workers: int = field(default_factory=default_workers)
    hash_backlog: int = DEFAULT_BACKLOG
    logins: ThrottlePolicy = LOGIN_POLICY
    stations: ThrottlePolicy = STATION_POLICY
    # The key of station password hashes (``adapters.security.HmacStationSecrets``); None:
    # generated into the data directory. Every node of a cluster needs the same one, and
    # losing it makes every station password unusable (set them again).
    station_secret_key: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AuthSettings:
        max_delay = timedelta(seconds=whole_number(env, "LOGIN_MAX_BACKOFF_SECONDS", 900))
        tracked = whole_number(env, "LOGIN_TRACKED_KEYS", 10_000)

        def policy(kind: str, subject: str, defaults: ThrottlePolicy) -> ThrottlePolicy:
            return ThrottlePolicy(
                subject_free_failures=whole_number(
                    env, f"{kind}_FAILURES_PER_{subject}", defaults.subject_free_failures
                ),
                address_free_failures=whole_number(
                    env, f"{kind}_FAILURES_PER_ADDRESS", defaults.address_free_failures
                ),
                concurrent_per_address=whole_number(
                    env, f"{kind}_CONCURRENCY_PER_ADDRESS", defaults.concurrent_per_address
                ),
                max_delay=max_delay,
                max_tracked=tracked,
            )

        return cls(
            hash_workers=whole_number(env, "PASSWORD_HASH_WORKERS", default_workers()),
            hash_backlog=whole_number(env, "PASSWORD_HASH_BACKLOG", DEFAULT_BACKLOG),
            logins=policy("LOGIN", "USER", LOGIN_POLICY),
            stations=policy("STATION", "STATION", STATION_POLICY),
            station_secret_key=_station_secret_key(env),
        )


MIN_STATION_KEY_LENGTH = 32  # characters: at least the 256 bits of the HMAC-SHA256 digest


def _station_secret_key(env: Mapping[str, str]) -> str | None:
    value = env.get(PREFIX + "STATION_SECRET_KEY", "").strip()
    if value and len(value) < MIN_STATION_KEY_LENGTH:
        raise ConfigurationError(
            f"{PREFIX}STATION_SECRET_KEY must be a private random value of at least "
            f"{MIN_STATION_KEY_LENGTH} characters (leave it unset to have one generated)",
            code="invalid_setting",
        )
    return value or None


def _check_stripe(stripe: Mapping[str, str | None]) -> None:
    """Stripe needs its API key, its webhook secret and, for the checkout page's card field
    (Stripe.js Elements), the publishable key - never a secret key, which the page would show
    to every visitor."""
    missing = [
        name for name in ("api_key", "webhook_secret", "publishable_key") if not stripe[name]
    ]
    if missing:
        raise ConfigurationError(
            "the stripe gateway needs "
            + ", ".join(f"{PREFIX}STRIPE_{name.upper()}" for name in missing),
            code="invalid_setting",
        )
    if not str(stripe["publishable_key"]).startswith("pk_"):
        raise ConfigurationError(
            f"{PREFIX}STRIPE_PUBLISHABLE_KEY must be a publishable key (pk_test_... or "
            "pk_live_...): it is sent to every browser that opens the checkout page",
            code="invalid_setting",
        )


def _secret(env: Mapping[str, str], name: str) -> str | None:
    """A secret set in the environment: long enough, and not one published with the code."""
    value = env.get(PREFIX + name, "").strip()
    if not value:
        return None
    if len(value) < MIN_SECRET_LENGTH or value == PUBLIC_SANDBOX_SECRET:
        raise ConfigurationError(
            f"{PREFIX}{name} must be a private random value of at least {MIN_SECRET_LENGTH} "
            "characters (leave it unset to have one generated)",
            code="invalid_setting",
        )
    return value


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
    invoice_run_wait_seconds: int = 600  # a second run waits for the first, then skips its work
    auth: AuthSettings = field(default_factory=AuthSettings)
    ocpp: OcppSettings = field(default_factory=OcppSettings)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    datev: DatevSettings = field(default_factory=DatevSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    dunning: DunningSettings = field(default_factory=DunningSettings)
    energy_price: EnergyPrice | None = None  # contract performance margins (issue 14)
    audit: AuditSettings = field(default_factory=AuditSettings)  # the audit chain (issue 15)
    roaming: RoamingSettings = field(default_factory=RoamingSettings)  # OCPI (issue 18)

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
        stale_hours = whole_number(env, "STALE_SESSION_HOURS", 24)
        sweep_seconds = whole_number(env, "SWEEP_INTERVAL_SECONDS", 300)
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
            operator=_operator(env),
            operator_time_zone=_time_zone(env.get(PREFIX + "OPERATOR_TIME_ZONE", "UTC")),
            vat_rates=_vat_rates(env.get(PREFIX + "VAT_RATES_FILE")),
            payments=PaymentSettings.from_env(env),
            invoice_run_wait_seconds=whole_number(env, "INVOICE_RUN_WAIT_SECONDS", 600),
            auth=AuthSettings.from_env(env),
            ocpp=OcppSettings.from_env(env),
            max_body_bytes=whole_number(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            datev=DatevSettings.from_env(env),
            notifications=NotificationSettings.from_env(env),
            dunning=DunningSettings.from_env(env),
            energy_price=energy_price(env),
            audit=AuditSettings.from_env(env),
            roaming=RoamingSettings.from_env(env),
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
    "bic",
    "registration",
)


def _operator(env: Mapping[str, str]) -> dict[str, str]:
    """The operator's details; its IBAN and BIC are checked (ISO 13616 check digits, ISO 9362
    form, with python-stdnum) and kept compact: they go on every invoice and into its EPC QR
    code, where a typo would send customers' transfers astray."""
    operator = {
        key: env[PREFIX + "OPERATOR_" + key.upper()].strip()
        for key in OPERATOR_FIELDS
        if env.get(PREFIX + "OPERATOR_" + key.upper(), "").strip()
    }
    for key, check in (("iban", iban), ("bic", bic)):
        if key in operator:
            try:
                operator[key] = str(check.validate(operator[key]))
            except ValidationError as exc:
                raise ConfigurationError(
                    f"{PREFIX}OPERATOR_{key.upper()}: {operator[key]!r} is not a valid "
                    f"{key.upper()} ({exc})",
                    code="invalid_setting",
                ) from exc
    return operator


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


def _wallet_floor(raw: str | None) -> Decimal:
    """An amount in the accounts' currency, 0 to the wallet limit, at most in cents."""
    if raw is None or not raw.strip():
        return DEFAULT_WALLET_FLOOR
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or not 0 <= value <= WALLET_LIMIT or value != round(value, 2):
        raise ConfigurationError(
            f"{PREFIX}WALLET_FLOOR must be an amount from 0 to {WALLET_LIMIT} (e.g. 5.00)",
            code="invalid_setting",
        )
    return value


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path.resolve()}"
