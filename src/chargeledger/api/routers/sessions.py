"""``/api/v1/sessions``: captured charging sessions, their meter data, and the release of
quarantined ones; ``/api/v1/stations/{id}/status`` and ``/commands`` for the operator."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from chargeledger.api.deps import ReadUowDep, RuntimeDep, UowDep
from chargeledger.api.routers.access import (
    CommandStations,
    ReadNetwork,
    ReadSessions,
    ReadStationStatus,
    ReleaseSessions,
)
from chargeledger.api.schemas.common import (
    ERROR_RESPONSES,
    Limit,
    Offset,
    PageOut,
    QuoteKwh,
    QuoteMinutes,
)
from chargeledger.api.schemas.session_pages import (
    Cursor,
    SessionPageOut,
    decode_cursor,
    page_json,
)
from chargeledger.api.schemas.sessions import (
    CommandIn,
    CommandResultOut,
    QuoteOut,
    ReleaseIn,
    SessionCostOut,
    SessionDetailOut,
    SessionOut,
    SessionUnderReviewOut,
    StationStatusOut,
)
from chargeledger.domain.billing import cdr_totals
from chargeledger.domain.catalog import MAX_EVSE_ID
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.station_link import SessionFilter
from chargeledger.domain.tariffs.ocpi_json import cdr_to_json
from chargeledger.errors import ConflictError, InvalidInputError
from chargeledger.services import quotes
from chargeledger.services.charging import (
    session_pricing,
    session_release,
    session_review,
    station_commands,
    station_status,
)

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


@router.get(
    "/sessions",
    tags=["sessions"],
    summary="List and filter sessions, newest first (page by next_cursor)",
    response_model=SessionPageOut,
)
async def list_sessions(
    principal: ReadSessions,
    uow: ReadUowDep,
    station_id: uuid.UUID | None = None,
    account_id: uuid.UUID | None = None,
    session_status: SessionStatus | None = Query(None, alias="status"),
    started_from: datetime | None = Query(None, alias="from"),
    started_before: datetime | None = Query(None, alias="to"),
    limit: Limit = 100,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> Response:
    """One statement along an index in the list's order (issue 17). The page is serialised
    once, here, from the sessions' fields (``page_json``): returned as a model, FastAPI would
    dump it to Python objects, validate those again and only then write the JSON."""
    criteria = SessionFilter(station_id, account_id, session_status, started_from, started_before)
    if cursor is not None and offset:
        raise InvalidInputError(
            "page by cursor or by offset, not both", code="cursor_with_offset", field="offset"
        )
    after = None if cursor is None else decode_cursor(cursor)
    page = await session_review.list_sessions(
        uow, principal, criteria, limit=limit, offset=offset, after=after
    )
    return Response(page_json(page, by_cursor=after is not None), media_type="application/json")


@router.get("/sessions/live", tags=["sessions"], summary="Sessions charging right now")
async def live_sessions(
    principal: ReadSessions,
    uow: ReadUowDep,
    station_id: uuid.UUID | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[SessionOut]:
    criteria = SessionFilter(station_id=station_id, status=SessionStatus.ACTIVE)
    page = await session_review.list_sessions(uow, principal, criteria, limit=limit, offset=offset)
    return PageOut(items=[SessionOut.of(s) for s in page.items], next_offset=page.next_offset)


@router.get(
    "/sessions/{session_id}",
    tags=["sessions"],
    summary="A session with its samples, state changes, events and signed data",
)
async def get_session(
    session_id: uuid.UUID, principal: ReadSessions, uow: UowDep, rt: RuntimeDep
) -> SessionDetailOut:
    detail = await session_review.session_detail(uow, principal, session_id, rt.meter_signatures)
    return SessionDetailOut.of_detail(detail)


@router.post(
    "/sessions/{session_id}/release",
    tags=["sessions"],
    summary="Release a quarantined session, as reported or with corrected readings",
)
async def release_session(
    session_id: uuid.UUID,
    body: ReleaseIn,
    principal: ReleaseSessions,
    uow: UowDep,
    rt: RuntimeDep,
) -> SessionOut:
    session = await session_release.resolve_session(
        uow,
        rt.clock,
        principal,
        session_id,
        rt.settings.vat_rates,
        note=body.note,
        corrected_meter_start_wh=body.corrected_meter_start_wh,
        corrected_meter_stop_wh=body.corrected_meter_stop_wh,
    )
    await uow.commit()
    return SessionOut.of(session)


@router.get(
    "/stations/{station_id}/status",
    tags=["stations"],
    summary="Connection, last heartbeat and connector status of a station",
)
async def get_station_status(
    station_id: uuid.UUID, _: ReadStationStatus, uow: UowDep, rt: RuntimeDep
) -> StationStatusOut:
    status = await station_status.station_status_now(uow, station_id, rt.bus.is_connected)
    return StationStatusOut.of(status)


@router.post(
    "/stations/{station_id}/commands",
    tags=["stations"],
    summary="Send a command (remote start/stop, reservation, availability, trigger, reset)",
)
async def send_command(
    station_id: uuid.UUID, body: CommandIn, _: CommandStations, rt: RuntimeDep
) -> CommandResultOut:
    result = await station_commands.send_command(rt.uow, rt.bus, station_id, body.to_domain())
    return CommandResultOut(status=result.status, detail=result.detail)


@router.get(
    "/stations/{station_id}/quote",
    tags=["stations"],
    summary="What a session would cost here, before it starts (EU AFIR)",
)
async def quote(
    station_id: uuid.UUID,
    principal: ReadNetwork,
    uow: UowDep,
    rt: RuntimeDep,
    kwh: Annotated[QuoteKwh, Query()],
    minutes: Annotated[QuoteMinutes, Query()],
    idle_minutes: Annotated[QuoteMinutes, Query()] = 0,
    evse_id: Annotated[int, Query(ge=1, le=MAX_EVSE_ID)] = 1,
    start: datetime | None = None,
) -> QuoteOut:
    result = await quotes.quote_station(
        uow,
        rt.clock,
        principal,
        station_id,
        rt.settings.vat_rates,
        kwh=kwh,
        charging=timedelta(minutes=minutes),
        idle=timedelta(minutes=idle_minutes),
        evse_id=evse_id,
        starts_at=start,
    )
    return QuoteOut(
        tariff_id=result.tariff.id,
        ocpi_tariff_id=result.tariff.tariff.id,
        time_zone=result.time_zone,
        starts_at=result.starts_at,
        price_display=result.display,
        **QuoteOut.priced(result.result, result.billed),
    )


@router.get(
    "/sessions/{session_id}/cost",
    tags=["sessions"],
    summary="The session's price from its tariff snapshot (live while it runs); a "
    "quarantined session is under review and shows no amount",
)
async def session_cost(
    session_id: uuid.UUID, principal: ReadSessions, uow: UowDep, rt: RuntimeDep
) -> SessionCostOut | SessionUnderReviewOut:
    try:
        priced = await session_pricing.price_session(
            uow, rt.clock, principal, session_id, rt.settings.vat_rates
        )
    except session_pricing.SessionUnderReviewError as exc:
        return SessionUnderReviewOut(session_id=session_id, message=exc.message)
    return SessionCostOut(
        session_id=priced.session.id,
        status="live" if priced.live else "final",
        live=priced.live,
        tariff_id=priced.session.tariff_id,
        total_energy_kwh=priced.result.total_energy,
        **SessionCostOut.priced(priced.result, priced.billed),
    )


@router.get(
    "/sessions/{session_id}/cdr",
    tags=["sessions"],
    summary="The session as an OCPI 2.2.1 CDR with its charging periods and totals",
)
async def session_cdr(
    session_id: uuid.UUID, principal: ReadSessions, uow: UowDep, rt: RuntimeDep
) -> JSONResponse:
    priced = await session_pricing.price_session(
        uow, rt.clock, principal, session_id, rt.settings.vat_rates
    )
    if priced.live:
        raise ConflictError("a running session has no CDR yet", code="session_open")
    document = cdr_to_json(priced.cdr, cdr_totals(priced.result, priced.billed), priced.country)
    return JSONResponse(json.loads(json.dumps(document, default=float)))
