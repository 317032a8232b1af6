"""The operator's bank details (issue 13): they go on every invoice and into its EPC QR code,
so a typo is refused when the settings are read, and the accepted ones are kept compact."""

from __future__ import annotations

import pytest

from chargeledger.config import Settings
from chargeledger.errors import ConfigurationError

BASE = {"CHARGELEDGER_DATA_DIR": "/tmp/chargeledger-settings-test"}


def test_iban_and_bic_are_kept_compact() -> None:
    settings = Settings.from_env(
        BASE
        | {
            "CHARGELEDGER_OPERATOR_IBAN": "de89 3704 0044 0532 0130 00",
            "CHARGELEDGER_OPERATOR_BIC": "cobadeff xxx",
        }
    )
    assert (settings.operator["iban"], settings.operator["bic"]) == (
        "DE89370400440532013000",
        "COBADEFFXXX",
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IBAN", "DE89370400440532013001"),  # a wrong check digit
        ("IBAN", "XX00"),
        ("BIC", "COBA"),
        ("BIC", "1OBADEFFXXX"),
    ],
)
def test_a_mistyped_iban_or_bic_is_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env(BASE | {f"CHARGELEDGER_OPERATOR_{name}": value})
    assert refused.value.code == "invalid_setting"
    assert f"CHARGELEDGER_OPERATOR_{name}" in str(refused.value)
