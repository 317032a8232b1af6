"""``/api/v1/sessions/{id}/reprice`` and ``/repricings`` (issue 15): finance re-prices a
charged session under a corrected tariff version and/or readings, with a reason; the difference
is issued at once (a correction on the next invoice, a credit note, a refund). Moves money:
``Idempotency-Key`` like the other money routes, and the key also reaches the use case, so a
retry after a lost answer re-prices once. The route opens its own short transactions through
the use case: a refund's PSP call never runs inside one."""

from __future__ import annotations

import hashlib
import uuid

from fastapi import APIRouter, Request, Response, status

from chargeledger.api.deps import RuntimeDep, UowDep
from chargeledger.api.idempotency import HEADER, idempotent
from chargeledger.api.routers.access import ReadRepricings, RepriceSessions
from chargeledger.api.schemas.common import ERROR_RESPONSES
from chargeledger.api.schemas.repricings import RepriceIn, RepricingOut
from chargeledger.domain.identity import Principal
from chargeledger.services.billing.repricing import RepriceRequest
from chargeledger.services.payments.repricing import reprice_session
from chargeledger.services.payments.repricing_views import list_repricings

router = APIRouter(prefix="/api/v1", tags=["sessions"], responses=ERROR_RESPONSES)


def _scope(principal: Principal) -> str:
    return principal.subject[:80]


def request_key(principal: Principal, key: str | None) -> str | None:
    """The caller's key as the use case keeps it: per caller, of bounded length."""
    if key is None:
        return None
    digest = hashlib.sha256(f"{_scope(principal)}\n{key}".encode()).hexdigest()
    return f"api:{digest}"


@router.post(
    "/sessions/{session_id}/reprice",
    summary="Re-price a charged session (corrected tariff version and/or readings); the "
    "difference is issued as a correction on the next invoice, a credit note or a refund",
    status_code=status.HTTP_201_CREATED,
)
async def reprice(
    session_id: uuid.UUID,
    body: RepriceIn,
    principal: RepriceSessions,
    rt: RuntimeDep,
    request: Request,
) -> Response:
    asked = RepriceRequest(
        reason=body.reason,
        tariff_id=body.tariff_id,
        meter_start_wh=body.corrected_meter_start_wh,
        meter_stop_wh=body.corrected_meter_stop_wh,
        request_key=request_key(principal, request.headers.get(HEADER)),
    )

    async def work() -> tuple[int, object]:
        view = await reprice_session(rt.payments, principal, session_id, asked)
        return 201, RepricingOut.of(view)

    return await idempotent(rt, request, _scope(principal), body, work)


@router.get(
    "/sessions/{session_id}/repricings",
    summary="A session's re-pricings, first to last, with what each issued",
)
async def repricings(
    session_id: uuid.UUID, principal: ReadRepricings, uow: UowDep
) -> list[RepricingOut]:
    return [RepricingOut.of(v) for v in await list_repricings(uow, principal, session_id)]
