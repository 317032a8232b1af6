"""What every settings module shares: the variables' prefix, and how a number is read."""

from __future__ import annotations

from collections.abc import Mapping

from chargeledger.errors import ConfigurationError

PREFIX = "CHARGELEDGER_"
MIN_SECRET_LENGTH = 16  # characters of a shared secret (webhooks, the sandbox PSP)


def whole_number(env: Mapping[str, str], name: str, default: int) -> int:
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
