"""The driver app's charging routes (issue 16, OpenAPI tag "driver app"): start a charge at an
EVSE with one of the caller's own tokens, stop the caller's running session, and follow its
live cost as server-sent events.

Start is exactly once per ``Idempotency-Key`` (``api.idempotency``, as the money routes): the
app sends one key per tap, so a double tap sends one RemoteStartTransaction and the second
request gets the first answer again. Accepted is 202 (the station will start; the session
exists once its StartTransaction comes), Rejected 409 ``start_rejected``.

The live cost is ``text/event-stream`` (HTML Living Standard §9.2 server-sent events), read by
the app with ``fetch()`` and the ``Authorization`` header rather than ``EventSource``, which
cannot send one: no bearer token or ticket ever appears in a URL (and so in access logs or
history), and the route is authorised like every other API call. Each change of the figures
(energy, duration, cost, status) is one ``cost`` event whose data is the JSON of
:class:`LiveCostOut`, computed by the session cost endpoint's ``price_session``; a comment
line (``: keep-alive``) goes out after ``HEARTBEAT_S`` without an event so that proxies keep
the connection; the stream ends after the event that shows the session ended (``final`` or
``under_review``). The server looks at the stored session every ``LOOK_S`` (the meter values
may be captured by another process, DESIGN §4, so there is no in-process signal to wait on):
one row's status and last write (``live_mark``), priced again when they moved (and every
``REPRICE_LOOKS`` looks in any case), so a viewer of a quiet session costs one small read per
look, not a pricing of every sample.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

from fastapi import APIRouter, Request, status
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from chargeledger.api.deps import RuntimeDep
from chargeledger.api.idempotency import idempotent
from chargeledger.api.routers.access import DriveCharges, ReadSessions
from chargeledger.api.schemas.common import ERROR_RESPONSES, EvseNumber, Input
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Principal
from chargeledger.services.charging import driver_charging
from chargeledger.services.transactions import reading

router = APIRouter(prefix="/api/v1", tags=["driver app"], responses=ERROR_RESPONSES)

LOOK_S = 0.5
# A state change (charging/idle) reported late, for a time before the last reading, moves the
# price without writing the session row: every this many looks it is priced anyway.
REPRICE_LOOKS = 10
HEARTBEAT_S = 15.0


class StartIn(Input):
    token_id: uuid.UUID


class ChargeCommandOut(BaseModel):
    """The station's answer: ``Accepted`` (202); anything else is an error (409)."""

    status: str
    detail: str | None = None


class LiveCostOut(BaseModel):
    session_id: uuid.UUID
    status: str  # live, final, under_review
    ended: bool
    energy_kwh: Decimal
    duration_s: int
    currency: str | None
    cost_excl_vat: Decimal | None
    cost_incl_vat: Decimal | None

    @classmethod
    def of(cls, cost: driver_charging.LiveCost) -> LiveCostOut:
        return cls(
            session_id=cost.session_id,
            status=cost.status,
            ended=cost.ended,
            energy_kwh=cost.energy_kwh,
            duration_s=cost.duration_s,
            currency=cost.currency,
            cost_excl_vat=cost.cost_excl_vat,
            cost_incl_vat=cost.cost_incl_vat,
        )


def _scope(principal: Principal) -> str:
    return f"charge:{principal.subject}"[:80]


@router.post(
    "/stations/{station_id}/evses/{evse_id}/start",
    summary="Start charging at an EVSE with one of my own active tokens (remote start)",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ChargeCommandOut,
)
async def start_charge(
    station_id: uuid.UUID,
    evse_id: EvseNumber,
    body: StartIn,
    principal: DriveCharges,
    rt: RuntimeDep,
    request: Request,
) -> Response:
    async def work() -> tuple[int, object]:
        result = await driver_charging.start_charge(
            rt.uow, rt.bus, rt.clock, principal, station_id, evse_id, body.token_id
        )
        return 202, ChargeCommandOut(status=result.status, detail=result.detail)

    return await idempotent(rt, request, _scope(principal), body, work)


@router.post(
    "/sessions/{session_id}/stop",
    summary="Stop my running session (remote stop)",
    status_code=status.HTTP_202_ACCEPTED,
)
async def stop_charge(
    session_id: uuid.UUID, principal: DriveCharges, rt: RuntimeDep
) -> ChargeCommandOut:
    result = await driver_charging.stop_charge(rt.uow, rt.bus, principal, session_id)
    return ChargeCommandOut(status=result.status, detail=result.detail)


def _event(cost: driver_charging.LiveCost) -> str:
    data = LiveCostOut.of(cost).model_dump(mode="json")
    return f"event: cost\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _events(
    rt: Runtime, principal: Principal, first: driver_charging.LiveCost, mark: object
) -> AsyncIterator[str]:
    last, quiet, looks = first, 0.0, 0
    yield _event(first)
    while not last.ended:
        await asyncio.sleep(LOOK_S)
        looks += 1
        moved = await reading(rt.uow, driver_charging.live_mark, principal, first.session_id)
        if moved != mark or looks % REPRICE_LOOKS == 0:
            mark = moved
            now = await reading(
                rt.uow,
                driver_charging.live_cost,
                rt.clock,
                principal,
                first.session_id,
                rt.settings.vat_rates,
            )
            if now != last:
                last, quiet = now, 0.0
                yield _event(now)
                continue
        quiet += LOOK_S
        if quiet >= HEARTBEAT_S:
            quiet = 0.0
            yield ": keep-alive\n\n"


@router.get(
    "/sessions/{session_id}/live",
    summary="My session's live cost as server-sent events, until it ends",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def live_cost(
    session_id: uuid.UUID, principal: ReadSessions, rt: RuntimeDep
) -> StreamingResponse:
    # Read once before streaming: another's session or a bad id is a JSON error, not a stream.
    # The mark is read first, so a change between the two readings is priced on the next look.
    mark = await reading(rt.uow, driver_charging.live_mark, principal, session_id)
    first = await reading(
        rt.uow, driver_charging.live_cost, rt.clock, principal, session_id, rt.settings.vat_rates
    )
    return StreamingResponse(
        _events(rt, principal, first, mark),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
