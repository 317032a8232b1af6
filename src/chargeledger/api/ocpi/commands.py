"""``POST /ocpi/2.2.1/commands/{command}``: the CPO's commands receiver (OCPI 2.2.1 §13.2.2).

The CommandResponse is the answer to the request; the station is asked afterwards, in the
background, and its result goes to the partner's ``response_url`` (``services.roaming.commands``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from chargeledger.api.deps import RuntimeDep
from chargeledger.api.ocpi.auth import ModuleCaller
from chargeledger.api.ocpi.wire import OcpiRoute, envelope
from chargeledger.domain.roaming import OCPI_VERSION
from chargeledger.services.roaming.commands import RESULT_TIMEOUT_S, carry_out, plan_command

router = APIRouter(prefix=f"/ocpi/{OCPI_VERSION}", route_class=OcpiRoute, include_in_schema=False)


@router.post("/commands/{command}")
async def receive_command(
    request: Request,
    partner: ModuleCaller,
    rt: RuntimeDep,
    command: str,
    body: Annotated[Any, Body()],
) -> Response:
    plan = await plan_command(rt.roaming, rt.settings.vat_rates, partner, command, body)
    if plan.accepted:
        rt.spawn(carry_out(rt.roaming, rt.bus, rt.locks, partner, plan), slot=False)
    answer = {
        "result": plan.response,
        "timeout": RESULT_TIMEOUT_S,
        "message": [{"language": "en", "text": plan.message}],
    }
    return envelope(request, answer)
