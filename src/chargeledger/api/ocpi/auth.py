"""Who is calling the OCPI routes: the partner whose token the ``Authorization`` header holds.

OCPI 2.2.1 §4.1.3 sends ``Authorization: Token <base64(token)>``; 2.1.1 platforms sent the
token as it is, and some 2.2.1 ones still do. A header whose value decodes as Base64 to
printable text (and encodes back to itself) is read decoded, else as it is: our tokens are
base64url text, so both spellings name the same partner (§4.1.3 advises accepting both).

Which tokens open what (§7.2.1): an invited partner's token A opens only the registration
(versions, version details, ``POST credentials``); a registering or registered partner's
token opens the version information; only a registered partner's token opens the modules.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request

from chargeledger.api.deps import RuntimeDep
from chargeledger.domain.roaming import PartnerStatus, RoamingPartner
from chargeledger.errors import AuthenticationError, ConfigurationError
from chargeledger.services.roaming.handshake import OurParty, partner_of_token

_PREFIX = "token "


def presented_token(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    if not header[: len(_PREFIX)].lower() == _PREFIX or not header[len(_PREFIX) :].strip():
        raise AuthenticationError("an OCPI token is needed (Authorization: Token ...)")
    given = header[len(_PREFIX) :].strip()
    try:
        decoded = base64.b64decode(given, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return given
    printable = decoded.isprintable() and " " not in decoded and decoded != ""
    return decoded if printable and base64.b64encode(decoded.encode()).decode() == given else given


async def _caller(
    request: Request, rt: RuntimeDep, allowed: frozenset[PartnerStatus]
) -> RoamingPartner:
    token = presented_token(request)
    partner = await partner_of_token(rt.uow, token)
    if partner is None or partner.status not in allowed:
        raise AuthenticationError("unknown OCPI token", code="unknown_ocpi_token")
    request.state.ocpi_token = token
    return partner


async def version_caller(request: Request, rt: RuntimeDep) -> RoamingPartner:
    allowed = frozenset(
        (PartnerStatus.INVITED, PartnerStatus.REGISTERING, PartnerStatus.REGISTERED)
    )
    return await _caller(request, rt, allowed)


async def module_caller(request: Request, rt: RuntimeDep) -> RoamingPartner:
    return await _caller(request, rt, frozenset((PartnerStatus.REGISTERED,)))


VersionCaller = Annotated[RoamingPartner, Depends(version_caller)]
ModuleCaller = Annotated[RoamingPartner, Depends(module_caller)]


def base_url(request: Request, rt: RuntimeDep) -> str:
    """Where our OCPI API is: ``CHARGELEDGER_OCPI_URL``, else where the request came."""
    configured = rt.settings.roaming.url
    return configured or str(request.base_url).rstrip("/") + "/ocpi"


def our_party(request: Request, rt: RuntimeDep) -> OurParty:
    config = rt.settings.roaming
    if config.country_code is None or config.party_id is None:
        raise ConfigurationError(
            "OCPI is off: set CHARGELEDGER_OCPI_COUNTRY_CODE and CHARGELEDGER_OCPI_PARTY_ID",
            code="ocpi_not_configured",
        )
    name = rt.settings.operator.get("name") or "chargeledger"
    return OurParty(config.country_code, config.party_id, name, base_url(request, rt) + "/versions")


Ours = Annotated[OurParty, Depends(our_party)]
