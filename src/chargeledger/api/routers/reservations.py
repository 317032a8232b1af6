"""The driver app's reservations (issue 16, OpenAPI tag "driver app"): hold an EVSE for one of
my own tokens (OCPP ReserveNow), list and read my reservations, cancel one
(CancelReservation). The use cases are ``services.charging.reservations``.

Reserving is exactly once per ``Idempotency-Key`` (``api.idempotency``): a double tap sends
one ReserveNow and the second request gets the first answer again. A reservation is 201 once
the station accepted it; the station's refusal is 409 ``reserve_rejected``. Cancelling twice
answers the cancelled reservation again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from chargeledger.api.deps import RuntimeDep
from chargeledger.api.idempotency import idempotent
from chargeledger.api.routers.access import DriveCharges
from chargeledger.api.schemas.common import ERROR_RESPONSES, EvseNumber, Input
from chargeledger.domain.reservations import LONGEST, SHORTEST, Reservation, ReservationStatus
from chargeledger.services.charging import reservations
from chargeledger.services.transactions import reading

router = APIRouter(prefix="/api/v1", tags=["driver app"], responses=ERROR_RESPONSES)


class ReserveIn(Input):
    token_id: uuid.UUID
    minutes: int = Field(
        15,
        ge=SHORTEST.seconds // 60,
        le=LONGEST.seconds // 60,
        description="How long the EVSE is held for the token",
    )


class ReservationOut(BaseModel):
    id: uuid.UUID
    number: int = Field(description="The OCPP reservationId the station holds it under")
    station_id: uuid.UUID
    evse_id: int
    token_id: uuid.UUID
    status: str  # active, used, cancelled, expired
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    session_id: uuid.UUID | None

    @classmethod
    def of(cls, reservation: Reservation, now: datetime) -> ReservationOut:
        shown = reservation.status_at(now)
        ran_out = shown is ReservationStatus.EXPIRED and reservation.ended_at is None
        return cls(
            id=reservation.id,
            number=reservation.number,
            station_id=reservation.station_id,
            evse_id=reservation.evse_id,
            token_id=reservation.token_id,
            status=shown.value,
            created_at=reservation.created_at,
            expires_at=reservation.expires_at,
            ended_at=reservation.expires_at if ran_out else reservation.ended_at,
            session_id=reservation.session_id,
        )


class ReservationList(BaseModel):
    items: list[ReservationOut]


@router.post(
    "/stations/{station_id}/evses/{evse_id}/reservations",
    summary="Reserve an EVSE for one of my own active tokens (ReserveNow)",
    status_code=status.HTTP_201_CREATED,
    response_model=ReservationOut,
)
async def reserve(
    station_id: uuid.UUID,
    evse_id: EvseNumber,
    body: ReserveIn,
    principal: DriveCharges,
    rt: RuntimeDep,
    request: Request,
) -> Response:
    async def work() -> tuple[int, object]:
        made = await reservations.reserve(
            rt.uow,
            rt.bus,
            rt.clock,
            rt.locks,
            principal,
            station_id,
            evse_id,
            body.token_id,
            body.minutes,
        )
        return 201, ReservationOut.of(made, rt.clock.now())

    return await idempotent(rt, request, f"reserve:{principal.subject}"[:80], body, work)


@router.get("/reservations", summary="My reservations, newest first")
async def list_reservations(
    principal: DriveCharges,
    rt: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ReservationList:
    found = await reading(rt.uow, reservations.my_reservations, principal, limit)
    now = rt.clock.now()
    return ReservationList(items=[ReservationOut.of(r, now) for r in found])


@router.get("/reservations/{reservation_id}", summary="One of my reservations")
async def get_reservation(
    reservation_id: uuid.UUID, principal: DriveCharges, rt: RuntimeDep
) -> ReservationOut:
    found = await reading(rt.uow, reservations.get_reservation, principal, reservation_id)
    return ReservationOut.of(found, rt.clock.now())


@router.post(
    "/reservations/{reservation_id}/cancel",
    summary="Cancel my reservation (CancelReservation)",
)
async def cancel_reservation(
    reservation_id: uuid.UUID, principal: DriveCharges, rt: RuntimeDep
) -> ReservationOut:
    ended = await reservations.cancel(rt.uow, rt.bus, rt.clock, principal, reservation_id)
    return ReservationOut.of(ended, rt.clock.now())
