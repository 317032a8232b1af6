"""``/ocpi/versions``, ``/ocpi/2.2.1`` and ``/ocpi/2.2.1/credentials`` (OCPI 2.2.1 §6, §7).

The modules we offer as a CPO are listed in the version details; the credentials module
answers a partner's registration (POST), renewal (PUT), ending (DELETE) and reading (GET).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response

from chargeledger.api.deps import RuntimeDep
from chargeledger.api.ocpi.auth import Ours, VersionCaller, base_url, presented_token
from chargeledger.api.ocpi.wire import OcpiRoute, envelope
from chargeledger.domain.roaming import OCPI_VERSION, InterfaceRole, ModuleId, PartnerStatus
from chargeledger.errors import AuthenticationError
from chargeledger.services.roaming.handshake import (
    AlreadyRegisteredError,
    accept_registration,
    unregister,
    update_credentials,
)

router = APIRouter(prefix="/ocpi", route_class=OcpiRoute, include_in_schema=False)

# What we offer, in which interface role (§6.2.1): the CPO side of each module.
OFFERED = (
    (ModuleId.CREDENTIALS, InterfaceRole.SENDER),
    (ModuleId.LOCATIONS, InterfaceRole.SENDER),
    (ModuleId.TARIFFS, InterfaceRole.SENDER),
    (ModuleId.SESSIONS, InterfaceRole.SENDER),
    (ModuleId.CDRS, InterfaceRole.SENDER),
    (ModuleId.COMMANDS, InterfaceRole.RECEIVER),
)
Base = Annotated[str, Depends(base_url)]
AnyJson = Annotated[Any, Body()]


@router.get("/versions")
async def versions(request: Request, _: VersionCaller, base: Base) -> Response:
    return envelope(request, [{"version": OCPI_VERSION, "url": f"{base}/{OCPI_VERSION}"}])


@router.get(f"/{OCPI_VERSION}")
async def version_details(request: Request, _: VersionCaller, base: Base) -> Response:
    endpoints = [
        {
            "identifier": module.value,
            "role": role.value,
            "url": f"{base}/{OCPI_VERSION}/{module.value}",
        }
        for module, role in OFFERED
    ]
    return envelope(request, {"version": OCPI_VERSION, "endpoints": endpoints})


@router.get(f"/{OCPI_VERSION}/credentials")
async def get_credentials(request: Request, partner: VersionCaller, ours: Ours) -> Response:
    """§7.2: our credentials, with the token the partner calls us with."""
    if partner.status is PartnerStatus.INVITED:
        raise AuthenticationError("register first: POST credentials", code="unknown_ocpi_token")
    return envelope(request, ours.credentials(presented_token(request)).as_json())


@router.post(f"/{OCPI_VERSION}/credentials")
async def post_credentials(
    request: Request, partner: VersionCaller, ours: Ours, rt: RuntimeDep, body: AnyJson
) -> Response:
    """§7.2.1: the partner registers with its token A."""
    if partner.status is not PartnerStatus.INVITED:
        raise AlreadyRegisteredError(f"{partner.party} is already registered; use PUT")
    answer = await accept_registration(rt.roaming, ours, presented_token(request), body)
    return envelope(request, answer.as_json())


@router.put(f"/{OCPI_VERSION}/credentials")
async def put_credentials(
    request: Request, _: VersionCaller, ours: Ours, rt: RuntimeDep, body: AnyJson
) -> Response:
    """§7.2.2: new credentials of a registered partner; both tokens are renewed."""
    answer = await update_credentials(rt.roaming, ours, presented_token(request), body)
    return envelope(request, answer.as_json())


@router.delete(f"/{OCPI_VERSION}/credentials")
async def delete_credentials(request: Request, _: VersionCaller, rt: RuntimeDep) -> Response:
    """§7.2.4: the partner ends the roaming; its token stops working now."""
    await unregister(rt.roaming, presented_token(request))
    return envelope(request, [])
