"""The finance team's settings (issue 13): the DATEV export, notifications (SMTP, outgoing
webhooks, the outbox's retries) and dunning (schedules, B2B late-payment terms). Read by
``Settings.from_env``; the variables are listed in ``chargeledger.config``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from chargeledger.adapters.exports.datev_charts import DatevChart, load_chart, month_day
from chargeledger.adapters.notify.smtp import SmtpSettings
from chargeledger.config.values import MIN_SECRET_LENGTH, PREFIX, whole_number
from chargeledger.domain.contract_performance import EnergyPrice
from chargeledger.domain.dunning import DEFAULT_POLICIES, DunningLevel, DunningPolicy
from chargeledger.domain.late_payment import LatePaymentTerms
from chargeledger.domain.outbox import RetryPolicy
from chargeledger.errors import ConfigurationError, InvalidInputError
from chargeledger.money import Currency
from chargeledger.services.notifications.ports import WebhookEndpoint


@dataclass(frozen=True, slots=True)
class DatevSettings:
    """Whose books a DATEV Buchungsstapel is for (issue 13): CONSULTANT (Berater, 1001-9999999)
    and CLIENT (Mandant, 1-99999) have no default (else ``datev_not_configured``); CHART SKR03
    or SKR04, ACCOUNT_LENGTH 4-8, FISCAL_YEAR_START MM-DD, ACCOUNTS_FILE (``load_chart``)."""

    chart: DatevChart = field(default_factory=load_chart)
    consultant: int | None = None
    client: int | None = None
    fiscal_year_start: tuple[int, int] = (1, 1)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DatevSettings:
        def number(name: str, low: int, high: int) -> int | None:
            raw = env.get(f"{PREFIX}DATEV_{name}", "").strip()
            if not raw:
                return None
            if not raw.isdigit() or not low <= int(raw) <= high:
                raise ConfigurationError(
                    f"{PREFIX}DATEV_{name} must be a number from {low} to {high}",
                    code="invalid_setting",
                )
            return int(raw)

        overrides = env.get(PREFIX + "DATEV_ACCOUNTS_FILE", "").strip()
        return cls(
            chart=load_chart(
                env.get(PREFIX + "DATEV_CHART", "SKR03"),
                number("ACCOUNT_LENGTH", 4, 8) or 4,
                Path(overrides) if overrides else None,
            ),
            consultant=number("CONSULTANT", 1001, 9_999_999),
            client=number("CLIENT", 1, 99_999),
            fiscal_year_start=month_day(env.get(PREFIX + "DATEV_FISCAL_YEAR_START", "01-01")),
        )


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    """Where the outbox delivers (issue 13): an SMTP relay for e-mail (none: no e-mail is
    made), signed webhook endpoints with a secret each, and the retry policy."""

    smtp: SmtpSettings | None = None
    webhooks: tuple[WebhookEndpoint, ...] = ()
    interval_seconds: int = 30
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotificationSettings:
        host = env.get(PREFIX + "SMTP_HOST", "").strip()
        smtp = None
        if host:
            starttls = env.get(PREFIX + "SMTP_STARTTLS", "true").strip().lower()
            if starttls not in ("true", "false", "1", "0", "yes", "no"):
                raise ConfigurationError(
                    f"{PREFIX}SMTP_STARTTLS must be true or false", code="invalid_setting"
                )
            smtp = SmtpSettings(
                host=host,
                port=whole_number(env, "SMTP_PORT", 587),
                sender=env.get(PREFIX + "SMTP_FROM", "").strip()
                or env.get(PREFIX + "OPERATOR_EMAIL", "").strip()
                or "chargeledger@localhost",
                user=env.get(PREFIX + "SMTP_USER", "").strip() or None,
                password=env.get(PREFIX + "SMTP_PASSWORD") or None,
                starttls=starttls in ("true", "1", "yes"),
            )
        retry = RetryPolicy(
            max_attempts=whole_number(env, "OUTBOX_MAX_ATTEMPTS", 8),
            first_delay=timedelta(seconds=whole_number(env, "OUTBOX_FIRST_RETRY_SECONDS", 60)),
        )
        return cls(
            smtp=smtp,
            webhooks=_webhooks(env.get(PREFIX + "WEBHOOKS_FILE")),
            interval_seconds=whole_number(env, "OUTBOX_INTERVAL_SECONDS", 30),
            retry=retry,
        )


def _webhooks(path: str | None) -> tuple[WebhookEndpoint, ...]:
    """Endpoints from a JSON file: each a unique name, an http(s) URL, a secret of at least
    16 characters (DESIGN §6: no secret has a usable default) and optionally its topics."""
    if not path:
        return ()
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
        endpoints = tuple(
            WebhookEndpoint(
                name=str(row["name"]),
                url=str(row["url"]),
                secret=str(row["secret"]),
                topics=frozenset(str(t) for t in row.get("topics", ())),
            )
            for row in rows
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(
            f"{PREFIX}WEBHOOKS_FILE {path}: {exc}", code="invalid_setting"
        ) from exc
    names = [e.name for e in endpoints]
    for endpoint in endpoints:
        if not endpoint.url.startswith(("https://", "http://")) or not endpoint.name:
            raise ConfigurationError(
                f"{PREFIX}WEBHOOKS_FILE: {endpoint.name!r} needs a name and an http(s) url",
                code="invalid_setting",
            )
        if len(endpoint.secret) < MIN_SECRET_LENGTH or names.count(endpoint.name) > 1:
            raise ConfigurationError(
                f"{PREFIX}WEBHOOKS_FILE: {endpoint.name!r} needs a unique name and a secret "
                f"of at least {MIN_SECRET_LENGTH} characters",
                code="invalid_setting",
            )
    return endpoints


@dataclass(frozen=True, slots=True)
class DunningSettings:
    """Dunning (issue 13): a schedule per account group (the account's kind), the B2B
    late-payment terms, and how often ``serve`` runs it (a run sends each level once, so
    running it often only makes notices timely).

    The policy file is JSON: ``{"business": {"levels": [{"days": 7, "title": "Payment
    reminder", "fee": "0"}, ...], "block_at": 3}, "individual": {...}}``; a group it names
    replaces the built-in one."""

    policies: Mapping[str, DunningPolicy] = field(default_factory=lambda: DEFAULT_POLICIES)
    late_payment: LatePaymentTerms = field(default_factory=LatePaymentTerms)
    interval_seconds: int = 3600

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DunningSettings:
        return cls(
            policies=_dunning_policies(env.get(PREFIX + "DUNNING_POLICY_FILE")),
            late_payment=LatePaymentTerms(
                reference_rate=_decimal(env, "DUNNING_REFERENCE_RATE", "2.15"),
                margin=_decimal(env, "DUNNING_INTEREST_MARGIN", "8"),
                compensation=_decimal(env, "DUNNING_B2B_COMPENSATION", "40.00"),
            ),
            interval_seconds=whole_number(env, "DUNNING_INTERVAL_SECONDS", 3600),
        )


def _decimal(env: Mapping[str, str], name: str, default: str) -> Decimal:
    raw = env.get(PREFIX + name, default).strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not Decimal(-100) <= value <= Decimal(1000):
        raise ConfigurationError(f"{PREFIX}{name} must be a number", code="invalid_setting")
    return value


def _dunning_policies(path: str | None) -> Mapping[str, DunningPolicy]:
    if not path:
        return DEFAULT_POLICIES
    try:
        groups = json.loads(Path(path).read_text(encoding="utf-8"))
        read = {
            str(group): DunningPolicy(
                levels=tuple(
                    DunningLevel(
                        n, int(level["days"]), str(level["title"]), Decimal(str(level["fee"]))
                    )
                    for n, level in enumerate(policy["levels"], 1)
                ),
                block_at=None if policy.get("block_at") is None else int(policy["block_at"]),
            )
            for group, policy in groups.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError, InvalidOperation) as exc:
        raise ConfigurationError(
            f"{PREFIX}DUNNING_POLICY_FILE {path}: {exc}", code="invalid_setting"
        ) from exc
    except InvalidInputError as exc:
        raise ConfigurationError(
            f"{PREFIX}DUNNING_POLICY_FILE {path}: {exc.message}", code="invalid_setting"
        ) from exc
    return {**DEFAULT_POLICIES, **read}


def energy_price(env: Mapping[str, str]) -> EnergyPrice | None:
    """``CHARGELEDGER_ENERGY_COST_PER_KWH``: what a kWh costs the operator, net, for the
    margin of contract performance (issue 14): ``0.12`` (the operator's currency, that of its
    contracts) or ``0.12 EUR`` (then contracts in another currency show no margin). Unset: no
    margin is shown. At most 4 decimals, like a tariff's price (OCPI 2.2.1 §16.4)."""
    raw = env.get(PREFIX + "ENERGY_COST_PER_KWH", "").strip()
    if not raw:
        return None
    amount, _, code = raw.partition(" ")
    try:
        currency = Currency.of(code.strip()) if code.strip() else None
        return EnergyPrice(Decimal(amount), currency)
    except (InvalidOperation, InvalidInputError) as exc:
        raise ConfigurationError(
            f"{PREFIX}ENERGY_COST_PER_KWH must be a net price per kWh such as 0.12 or "
            f"0.12 EUR, not {raw!r}",
            code="invalid_setting",
        ) from exc
