"""Who we are in OCPI (``CHARGELEDGER_OCPI_*``): our party and the public URL of our OCPI API.

| variable                      | default                                                 |
|-------------------------------|---------------------------------------------------------|
| CHARGELEDGER_OCPI_COUNTRY_CODE | none: OCPI is off until our party is set               |
| CHARGELEDGER_OCPI_PARTY_ID    | none (3 letters or digits, ISO 15118)                    |
| CHARGELEDGER_OCPI_URL         | none: the URL a partner's request came to, ``…/ocpi``    |
| CHARGELEDGER_OCPI_TIMEOUT_SECONDS | 10: how long a call to a partner may take            |

The business name in our credentials is the operator's (``CHARGELEDGER_OPERATOR_NAME``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chargeledger.config.values import PREFIX, whole_number
from chargeledger.domain.ocpi_cdrs import OcpiParty
from chargeledger.domain.roaming import country_code, ocpi_url, party_id
from chargeledger.errors import ConfigurationError, InvalidInputError


@dataclass(frozen=True, slots=True)
class RoamingSettings:
    country_code: str | None = None
    party_id: str | None = None
    url: str | None = None
    timeout_seconds: int = 10
    session_update_seconds: int = 60  # how often running partner sessions' readings go out
    token_pull_seconds: int = 3600  # how often partners' token lists are pulled in full

    @property
    def party(self) -> OcpiParty | None:
        """Our OCPI party, if set."""
        if self.country_code is None or self.party_id is None:
            return None
        return OcpiParty(self.country_code, self.party_id)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RoamingSettings:
        country = env.get(PREFIX + "OCPI_COUNTRY_CODE") or None
        party = env.get(PREFIX + "OCPI_PARTY_ID") or None
        url = env.get(PREFIX + "OCPI_URL") or None
        if (country is None) != (party is None):
            raise ConfigurationError(
                f"set both {PREFIX}OCPI_COUNTRY_CODE and {PREFIX}OCPI_PARTY_ID, or neither",
                code="invalid_setting",
            )
        try:
            return cls(
                country_code=None if country is None else country_code(country),
                party_id=None if party is None else party_id(party),
                url=None if url is None else ocpi_url(url.rstrip("/"), "url"),
                timeout_seconds=whole_number(env, "OCPI_TIMEOUT_SECONDS", 10),
                session_update_seconds=whole_number(env, "OCPI_SESSION_UPDATE_SECONDS", 60),
                token_pull_seconds=whole_number(env, "OCPI_TOKEN_PULL_SECONDS", 3600),
            )
        except InvalidInputError as exc:
            raise ConfigurationError(
                f"{PREFIX}OCPI_*: {exc.message}", code="invalid_setting"
            ) from exc
