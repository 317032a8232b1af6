"""``POST /api/v1/webhooks/{gateway}``: PSP webhooks, authenticated by their signature only
(DESIGN §6: signature + timestamp tolerance). Only the configured PSP's route exists (issue
11): any other name, ``sandbox`` on a Stripe installation included, answers 404
``gateway_not_found`` before the body is read. Rejected deliveries answer 400 with the reason
code and are kept, masked, for inspection; duplicates answer 200 and change nothing. A delivery
is at most 256 KiB (larger ones answer 413 ``payload_too_large`` unread): PSP events are a few
KiB."""

from __future__ import annotations

from fastapi import APIRouter, Request

from chargeledger.api.body_limit import body_limit
from chargeledger.api.deps import RuntimeDep
from chargeledger.api.schemas.common import ERROR_RESPONSES
from chargeledger.errors import NotFoundError
from chargeledger.services.payments.webhooks import receive_webhook

router = APIRouter(prefix="/api/v1", tags=["webhooks"], responses=ERROR_RESPONSES)
MAX_WEBHOOK_BYTES = 256 * 1024


@router.post(
    "/webhooks/{gateway}",
    summary="Receive a signed webhook from a PSP",
    openapi_extra=body_limit(MAX_WEBHOOK_BYTES),
)
async def webhook(gateway: str, request: Request, rt: RuntimeDep) -> dict[str, object]:
    if gateway not in rt.payments.gateways:
        raise NotFoundError(f"no gateway {gateway!r}", code="gateway_not_found")
    payload = await request.body()
    outcome = await receive_webhook(rt.payments, gateway, payload, dict(request.headers))
    return {"received": outcome.event_id, "duplicate": outcome.duplicate}
