"""The outbox's and dunning's settings (issue 13): SMTP, webhook endpoints with a secret
each, the dunning schedules per account group and the B2B late-payment terms."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from chargeledger.config import Settings
from chargeledger.domain.dunning import DEFAULT_POLICIES
from chargeledger.errors import ConfigurationError

BASE = {"CHARGELEDGER_DATA_DIR": "/tmp/unused", "CHARGELEDGER_DATABASE_URL": "sqlite://"}


def settings(**env: str) -> Settings:
    return Settings.from_env({**BASE, **{f"CHARGELEDGER_{k}": v for k, v in env.items()}})


def test_without_a_relay_no_mail_is_made_and_the_defaults_hold() -> None:
    read = settings()
    assert read.notifications.smtp is None
    assert read.notifications.webhooks == ()
    assert read.dunning.policies == DEFAULT_POLICIES
    assert read.dunning.late_payment.annual_percent == Decimal("10.15")
    assert read.dunning.late_payment.compensation == Decimal("40.00")


def test_the_relay_and_its_sender() -> None:
    read = settings(
        SMTP_HOST="mail.example.org",
        SMTP_PORT="2525",
        SMTP_STARTTLS="false",
        OPERATOR_EMAIL="billing@example.org",
    )
    smtp = read.notifications.smtp
    assert smtp is not None
    assert (smtp.host, smtp.port, smtp.starttls, smtp.sender) == (
        "mail.example.org",
        2525,
        False,
        "billing@example.org",
    )
    with pytest.raises(ConfigurationError):
        settings(SMTP_HOST="mail.example.org", SMTP_STARTTLS="maybe")


def test_webhook_endpoints_need_a_secret_each(tmp_path: Path) -> None:
    path = tmp_path / "hooks.json"
    path.write_text(
        json.dumps(
            [
                {
                    "name": "erp",
                    "url": "https://erp.example.org/in",
                    "secret": "x" * 16,
                    "topics": ["dunning.notice"],
                }
            ]
        )
    )
    [endpoint] = settings(WEBHOOKS_FILE=str(path)).notifications.webhooks
    assert endpoint.wants("dunning.notice")
    assert not endpoint.wants("invoice.issued")
    path.write_text(
        json.dumps([{"name": "erp", "url": "https://erp.example.org", "secret": "short"}])
    )
    with pytest.raises(ConfigurationError) as refused:
        settings(WEBHOOKS_FILE=str(path))
    assert refused.value.code == "invalid_setting"


def test_a_policy_file_replaces_the_groups_it_names(tmp_path: Path) -> None:
    path = tmp_path / "dunning.json"
    path.write_text(
        json.dumps(
            {
                "business": {
                    "levels": [
                        {"days": 10, "title": "Reminder", "fee": "0"},
                        {"days": 30, "title": "Final notice", "fee": "2.50"},
                    ],
                    "block_at": 2,
                }
            }
        )
    )
    policies = settings(DUNNING_POLICY_FILE=str(path)).dunning.policies
    assert [lv.days_past_due for lv in policies["business"].levels] == [10, 30]
    assert policies["individual"] == DEFAULT_POLICIES["individual"]
    path.write_text(
        json.dumps(
            {"business": {"levels": [{"days": 10, "title": "x", "fee": "0"}], "block_at": 5}}
        )
    )
    with pytest.raises(ConfigurationError):
        settings(DUNNING_POLICY_FILE=str(path))
    with pytest.raises(ConfigurationError):
        settings(DUNNING_REFERENCE_RATE="high")
