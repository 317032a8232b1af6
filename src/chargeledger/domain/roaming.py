"""Roaming partners and the OCPI 2.2.1 credentials they exchange with us (OCPI 2.2.1 §7).

A roaming partner is another platform (an eMSP whose drivers charge at our stations, or a hub
between us and many) that we talk OCPI with. Before two platforms talk, the credentials
handshake (§7.2.1, "Registration") swaps tokens:

- the operator gives the partner **token A** out of band (``invite``); it opens only the
  versions and credentials endpoints, once;
- whoever registers sends its own token (**B** when the partner registers with us) in a
  ``POST credentials``; the other side fetches the registrant's versions with it and answers
  with its own **token C**. From then on each side calls the other with the token the other
  handed out.

We keep the token a partner calls us with only as a SHA-256 digest (the tokens are random,
256 bits, so a fast hash suffices), and the token we call the partner with sealed under a key
outside the database (``TokenBox`` port).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from chargeledger.domain.ids import new_id
from chargeledger.domain.text import required_text
from chargeledger.errors import InvalidInputError

OCPI_VERSION = "2.2.1"


class PartyRole(StrEnum):
    """OCPI 2.2.1 §16.5 Role."""

    CPO = "CPO"
    EMSP = "EMSP"
    HUB = "HUB"
    NAP = "NAP"
    NSP = "NSP"
    OTHER = "OTHER"
    SCSP = "SCSP"


class InterfaceRole(StrEnum):
    """OCPI 2.2.1 §6.2.3 InterfaceRole: who sends the module's objects and who receives them."""

    SENDER = "SENDER"
    RECEIVER = "RECEIVER"


class ModuleId(StrEnum):
    """OCPI 2.2.1 §6.2.2 ModuleID."""

    CDRS = "cdrs"
    CHARGING_PROFILES = "chargingprofiles"
    COMMANDS = "commands"
    CREDENTIALS = "credentials"
    HUB_CLIENT_INFO = "hubclientinfo"
    LOCATIONS = "locations"
    SESSIONS = "sessions"
    TARIFFS = "tariffs"
    TOKENS = "tokens"


class PartnerStatus(StrEnum):
    """Where a partner stands in the handshake.

    ``invited``: token A handed out, nothing exchanged yet. ``registering``: we are
    registering with the partner (our token B is out, its token C not yet in).
    ``registered``: both tokens in place. ``unregistered``: either side ended it (§7.2.4); a
    new invitation starts again."""

    INVITED = "invited"
    REGISTERING = "registering"
    REGISTERED = "registered"
    UNREGISTERED = "unregistered"


# OCPI 2.2.1 §16.1 CiString(2) country code (ISO 3166-1 alpha-2) and CiString(3) party id
# (ISO 15118: alphanumeric). Case-insensitive, so kept upper case.
_COUNTRY = re.compile(r"[A-Z]{2}")
_PARTY = re.compile(r"[A-Z0-9]{3}")
MAX_URL_LENGTH = 255  # OCPI 2.2.1 §16.6 URL
MAX_TOKEN_LENGTH = 64  # OCPI 2.2.1 §7.3.1 credentials.token: string(64)
_TOKEN = re.compile(r"[\x21-\x7e]{1,64}")


def _fail(
    field_name: str, message: str, code: str = "invalid_ocpi_credentials"
) -> InvalidInputError:
    return InvalidInputError(f"{field_name}: {message}", code=code, field=field_name)


def country_code(value: Any, field_name: str = "country_code") -> str:
    text = value.strip().upper() if isinstance(value, str) else ""
    if not _COUNTRY.fullmatch(text):
        raise _fail(field_name, "must be an ISO 3166-1 alpha-2 country code", "invalid_party")
    return text


def party_id(value: Any, field_name: str = "party_id") -> str:
    text = value.strip().upper() if isinstance(value, str) else ""
    if not _PARTY.fullmatch(text):
        raise _fail(field_name, "must be 3 letters or digits (ISO 15118)", "invalid_party")
    return text


def ocpi_url(value: Any, field_name: str = "url") -> str:
    """An absolute http(s) URL of at most 255 characters (OCPI 2.2.1 §16.6)."""
    text = value.strip() if isinstance(value, str) else ""
    if not text.startswith(("https://", "http://")) or len(text) > MAX_URL_LENGTH or " " in text:
        raise _fail(field_name, "must be an absolute http(s) URL of at most 255 characters")
    return text


def credentials_token(value: Any, field_name: str = "token") -> str:
    """OCPI 2.2.1 §7.3.1: up to 64 printable ASCII characters (no spaces: it goes in a
    header)."""
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise _fail(field_name, "must be 1-64 printable ASCII characters without spaces")
    return value


@dataclass(frozen=True, slots=True)
class Endpoint:
    """OCPI 2.2.1 §6.2.1.1: one module of a version, in one interface role, at one URL."""

    identifier: ModuleId | str
    role: InterfaceRole
    url: str


@dataclass(frozen=True, slots=True)
class CredentialsRole:
    """OCPI 2.2.1 §7.4.1: one role a platform plays, with its party and business name."""

    role: PartyRole
    country_code: str
    party_id: str
    name: str
    website: str | None = None


@dataclass(frozen=True, slots=True)
class Credentials:
    """OCPI 2.2.1 §7.3.1: the token to call the sender with, its versions URL, its roles."""

    token: str
    url: str
    roles: tuple[CredentialsRole, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "url": self.url,
            "roles": [
                {
                    "role": r.role.value,
                    "business_details": {
                        "name": r.name,
                        **({"website": r.website} if r.website else {}),
                    },
                    "party_id": r.party_id,
                    "country_code": r.country_code,
                }
                for r in self.roles
            ],
        }


def parse_credentials(raw: Any) -> Credentials:
    """A credentials object as a partner sent it, every field checked (§7.3.1, §7.4.1)."""
    if not isinstance(raw, Mapping):
        raise _fail("credentials", "must be an object")
    roles_raw = raw.get("roles")
    if not isinstance(roles_raw, list) or not roles_raw:
        raise _fail("roles", "must list at least one role")
    roles = []
    for index, item in enumerate(roles_raw):
        path = f"roles[{index}]"
        if not isinstance(item, Mapping):
            raise _fail(path, "must be an object")
        try:
            role = PartyRole(str(item.get("role")))
        except ValueError:
            raise _fail(f"{path}.role", f"{item.get('role')!r} is not an OCPI role") from None
        details = item.get("business_details")
        if not isinstance(details, Mapping):
            raise _fail(f"{path}.business_details", "must be an object")
        name = details.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise _fail(f"{path}.business_details.name", "must be 1-100 characters")
        website = details.get("website")
        roles.append(
            CredentialsRole(
                role=role,
                country_code=country_code(item.get("country_code"), f"{path}.country_code"),
                party_id=party_id(item.get("party_id"), f"{path}.party_id"),
                name=name.strip(),
                website=None if website is None else ocpi_url(website, f"{path}.website"),
            )
        )
    return Credentials(
        token=credentials_token(raw.get("token")),
        url=ocpi_url(raw.get("url")),
        roles=tuple(roles),
    )


@dataclass(frozen=True, slots=True)
class RoamingPartner:
    """A platform we roam with, identified by its country code and party id (§16.1).

    ``incoming_digest`` is the SHA-256 (hex) of the token the partner must present to us
    (A while invited, ours from the handshake after); ``outgoing_token`` is the sealed token
    we present to the partner. ``endpoints`` are the modules of its OCPI 2.2.1 version."""

    name: str
    country_code: str
    party_id: str
    role: PartyRole
    status: PartnerStatus = PartnerStatus.INVITED
    incoming_digest: str | None = None
    outgoing_token: str | None = None
    versions_url: str | None = None
    version: str | None = None
    endpoints: tuple[Endpoint, ...] = ()
    account_id: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", required_text(self.name, "name", 100))
        object.__setattr__(self, "country_code", country_code(self.country_code))
        object.__setattr__(self, "party_id", party_id(self.party_id))
        object.__setattr__(self, "role", PartyRole(self.role))
        object.__setattr__(self, "status", PartnerStatus(self.status))

    @property
    def party(self) -> str:
        """``DE*ABC``: how OCPI and eMobility ids write a party."""
        return f"{self.country_code}*{self.party_id}"

    def endpoint(self, module: ModuleId, role: InterfaceRole) -> str | None:
        """The partner's URL of ``module`` in ``role``, if it offers it."""
        for endpoint in self.endpoints:
            if endpoint.identifier == module.value and endpoint.role is role:
                return endpoint.url
        return None

    def registered(
        self,
        *,
        incoming_digest: str,
        outgoing_token: str,
        versions_url: str,
        endpoints: tuple[Endpoint, ...],
        now: datetime,
    ) -> RoamingPartner:
        return replace(
            self,
            status=PartnerStatus.REGISTERED,
            incoming_digest=incoming_digest,
            outgoing_token=outgoing_token,
            versions_url=versions_url,
            version=OCPI_VERSION,
            endpoints=endpoints,
            updated_at=now,
        )

    def unregistered(self, now: datetime) -> RoamingPartner:
        """§7.2.4: both tokens are void; the partner keeps its history (CDRs, invoices)."""
        return replace(
            self,
            status=PartnerStatus.UNREGISTERED,
            incoming_digest=None,
            outgoing_token=None,
            updated_at=now,
        )


def endpoints_from_json(raw: Any) -> tuple[Endpoint, ...]:
    """A version details object's ``endpoints`` (§6.2.1), checked; unknown modules are kept
    (a partner may speak modules we do not)."""
    if not isinstance(raw, Mapping) or raw.get("version") != OCPI_VERSION:
        raise _fail("version", f"the partner's version details are not OCPI {OCPI_VERSION}")
    items = raw.get("endpoints")
    if not isinstance(items, list):
        raise _fail("endpoints", "must be a list")
    endpoints = []
    for index, item in enumerate(items):
        path = f"endpoints[{index}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("identifier"), str):
            raise _fail(path, "must be an object with an identifier")
        try:
            role = InterfaceRole(str(item.get("role")))
        except ValueError:
            raise _fail(f"{path}.role", "must be SENDER or RECEIVER") from None
        endpoints.append(Endpoint(item["identifier"], role, ocpi_url(item.get("url"), path)))
    return tuple(endpoints)


def version_url_from_json(raw: Any) -> str:
    """The URL of OCPI 2.2.1 in a versions list (§6.1.1), or a clear error if it is absent."""
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, Mapping) and item.get("version") == OCPI_VERSION:
                return ocpi_url(item.get("url"), "versions.url")
    raise InvalidInputError(
        f"the partner does not offer OCPI {OCPI_VERSION}",
        code="unsupported_ocpi_version",
        field="versions",
    )
